"""The ``rag`` command: thin subcommands over the library; heavy imports inside each."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rag.settings import Settings

# How long `rag serve` waits, once told to stop, for open requests (a chat tab's stream, an
# upload) before it ends them.
SHUTDOWN_SECONDS = 5


def _settings(ctx: click.Context) -> Settings:
    from pydantic import ValidationError

    from rag.settings import Settings

    overrides = {k: v for k, v in ctx.find_root().params.items() if v is not None}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise click.UsageError(f"RAG_{where.upper()}: {first['msg']}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder [RAG_DATA_DIR].")
@click.option("--collection", help="Chroma collection [RAG_COLLECTION].")
@click.option("--chroma-host", help="Use a Chroma server at this host [RAG_CHROMA_HOST].")
@click.option("--chroma-port", type=int, help="Chroma server port [RAG_CHROMA_PORT].")
def cli(**_: Any) -> None:
    """Answer questions over your documents, with citations you can check.

    Example: rag ingest docs/ && rag search "How long is the Uzbek-Afghan border?"
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], prune: bool) -> None:
    """Add files or folders (.txt .md .html .pdf) to the store; unchanged ones cost nothing.

    Example: rag ingest notes/ report.pdf --prune
    """
    from rich.progress import Progress

    from ingest.indexer import FileResult, discover
    from rag.settings import DEFAULT_CORPUS
    from ui.app import App

    settings = _settings(ctx)
    targets = list(paths) or [DEFAULT_CORPUS]
    with App.open(settings, write=True) as app:
        total = len(discover(targets)[0])
        with Progress(transient=True, disable=total < 2, console=_stderr()) as progress:
            task = progress.add_task("Ingesting", total=total)

            def show(result: FileResult) -> None:
                progress.advance(task)
                if result.changed:
                    click.echo(
                        f"{result.path}: {result.added} added, {result.updated} moved, "
                        f"{result.removed} removed, {result.unchanged} unchanged"
                    )

            report = app.ingest(targets, prune=prune, on_file=show)
        for result in report.files:
            if result.error:
                click.echo(f"error: {result.path}: {result.error}", err=True)
            elif result.removed and not result.added and not result.unchanged:
                click.echo(f"{result.path}: pruned, {result.removed} passages removed")
        ok = len(report.files) - len(report.failed)
        count = app.store.count()
        if any(f.changed for f in report.files):
            click.echo(
                f"Ingested {ok} file(s): {report.total('added')} passages added, "
                f"{report.total('updated')} moved, {report.total('removed')} removed, "
                f"{report.total('unchanged')} unchanged; {count} passages in "
                f"'{settings.collection}'."
            )
        else:
            click.echo(
                f"Nothing changed: {ok} file(s), {report.total('unchanged')} passages already "
                f"stored; {count} passages in '{settings.collection}'."
            )
        if report.failed:
            click.echo(f"{len(report.failed)} file(s) failed.", err=True)
            sys.exit(1)


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@cli.command(name="list")
@click.option("--chunks", is_flag=True, help="Show every passage with its offsets.")
@click.pass_context
def list_(ctx: click.Context, chunks: bool) -> None:
    """Show the documents in the store (and their passages).

    Example: rag list --chunks
    """
    from ui.app import App

    with App.open(_settings(ctx)) as app:
        documents = app.documents()
        for source, records in documents.items():
            meta = records[0][2]
            click.echo(
                f"{meta.get('title') or meta.get('filename')} ({meta.get('date') or 'no date'}): "
                f"{len(records)} passages, {source}"
            )
            if chunks:
                for id_, text, m in records:
                    preview = " ".join(text.split())
                    click.echo(
                        f"  [{m.get('start')}:{m.get('end')}] {id_}  {preview[:90]}"
                        f"{'...' if len(preview) > 90 else ''}"
                    )
        click.echo(f"{app.store.count()} passages in {len(documents)} document(s).")


@cli.command()
@click.argument("document")
@click.pass_context
def delete(ctx: click.Context, document: str) -> None:
    """Remove a document from the store, by its id (see GET /api/documents) or its file.

    An uploaded file goes too; other files stay on disk. Example: rag delete notes/a.txt
    """
    from ingest.ids import source_key
    from ui.app import App

    with App.open(_settings(ctx), write=True) as app:
        by_path = source_key(str(Path(document).resolve()))  # ids are of the ingested path
        found = next(
            (d for d in app.document_list() if by_path == d.id or document in (d.id, d.source)),
            None,
        )
        removed = app.remove_document(found.id) if found else None
        if removed is None:
            click.echo(f"error: no stored document {document!r} (see 'rag list')", err=True)
            sys.exit(1)
        click.echo(f"Deleted {removed.source}: {removed.passages} passages removed.")


@cli.command()
@click.argument("question")
@click.option("-k", type=click.IntRange(1, 100), help="How many passages [RAG_K].")
@click.option("--json", "as_json", is_flag=True, help="Print the passages as JSON.")
@click.pass_context
def search(ctx: click.Context, question: str, k: int | None, as_json: bool) -> None:
    """Show the passages hybrid retrieval finds for a question.

    Example: rag search "How long is the Uzbek-Afghan border?" -k 3
    """
    from ui.app import App

    settings = _settings(ctx)
    with App.open(settings) as app:
        documents = app.search(question, k or settings.k)
    if as_json:
        click.echo(
            json.dumps(
                [{"text": d.page_content, **d.metadata} for d in documents], ensure_ascii=False
            )
        )
        return
    for n, d in enumerate(documents, 1):
        m = d.metadata
        click.echo(f"[{n}] {m.get('title') or m.get('filename')} [{m['start']}:{m['end']}]")
        click.echo("    " + " ".join(d.page_content.split()))


@cli.command()
@click.argument("question")
@click.option(
    "--history",
    "history_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file: a list of [user, assistant] pairs before this question.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer object as JSON.")
@click.pass_context
def ask(ctx: click.Context, question: str, history_file: Path | None, as_json: bool) -> None:
    """Answer a question with cited passages.

    Example: rag ask "How long is the Uzbek-Afghan border?" --json
    """
    from ui.app import App
    from ui.render import as_text

    history = _read_history(history_file) if history_file else []
    with App.open(_settings(ctx)) as app:
        answer = app.ask(question, history)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        click.echo(as_text(answer))


def _read_history(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(
            f"not a readable JSON file ({exc})", param_hint="--history"
        ) from None


@cli.command(name="eval")
@click.argument(
    "dataset", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--from-feedback",
    is_flag=True,
    help="Use the answers users rated in the chat (DATA_DIR/feedback.sqlite3) as the dataset.",
)
@click.option(
    "--save-dataset",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --from-feedback: also write the rated conversations as dataset lines.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results, one JSON line per input line.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML report [OUT.html or eval-report.html].",
)
@click.option(
    "--metrics",
    "metrics_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the metrics as JSON (for a later --compare).",
)
@click.option(
    "--compare",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Metrics JSON of an earlier run, shown beside these.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--answers",
    "answers_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Score these answers (JSONL: answer objects, or ALCE's output+docs) instead of "
    "answering; matched to the questions by id, else by question.",
)
@click.option(
    "--judge",
    type=click.Choice(["offline", "llm"]),
    default="offline",
    show_default=True,
    help="Who judges whether cited passages support a sentence.",
)
@click.option(
    "--min",
    "minimums",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Fail when METRIC falls below VALUE (repeatable).",
)
@click.option("--min-citation-recall", type=float, help="Shortcut for --min citation_recall=VALUE.")
@click.pass_context
def eval_(
    ctx: click.Context,
    dataset: Path | None,
    from_feedback: bool,
    save_dataset: Path | None,
    out: Path | None,
    report: Path | None,
    metrics_path: Path | None,
    compare: Path | None,
    as_json: bool,
    answers_path: Path | None,
    judge: str,
    minimums: tuple[str, ...],
    min_citation_recall: float | None,
) -> None:
    """Answer and score every question of a JSONL dataset; write results and an HTML report.

    Example: rag eval eval/sternik.jsonl --out results.jsonl --min-citation-recall 0.9

    With --from-feedback, the questions users rated are asked again and the judge's verdicts
    on the rated answers are shown beside the users'. With --answers, another system's answers
    (or an earlier run's) are scored the same way and nothing is asked.
    """
    from rich.progress import Progress

    from rag.evaluation import dataset as ds
    from rag.evaluation import report as reports
    from rag.evaluation.answers import read_answers
    from rag.evaluation.run import evaluate

    floors = _floors(minimums, min_citation_recall)
    settings = _settings(ctx)
    if (dataset is None) == (not from_feedback):
        raise click.UsageError("give a DATASET file or --from-feedback, not both or neither")
    if save_dataset and not from_feedback:
        raise click.UsageError("--save-dataset goes with --from-feedback")
    if answers_path and from_feedback:
        raise click.UsageError("--answers goes with a DATASET file, not --from-feedback")
    answers = read_answers(answers_path) if answers_path else None
    if dataset is not None:
        items = list(ds.read(dataset))
        name = dataset.name
    else:
        lines = _rated_rows(settings)
        if save_dataset:
            text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
            save_dataset.write_text(text)
        items = [ds.Item(number, line) for number, line in enumerate(lines, 1)]
        name = "users' ratings"
    with Progress(transient=True, console=_stderr()) as progress:
        task = progress.add_task("Evaluating", total=len(items))
        rows, metrics = evaluate(settings, items, judge, lambda: progress.advance(task), answers)
    for row in rows:
        if "error" in row:
            where = row.get("file", name)
            click.echo(f"error: {where}: line {row['line']}: {row['error']}", err=True)
    if out:
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    report = report or (out.with_suffix(".html") if out else Path("eval-report.html"))
    report.write_text(reports.html(rows, metrics, f"Evaluation of {name}"))
    if metrics_path:
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    old = json.loads(compare.read_text()) if compare else None
    if as_json:
        click.echo(json.dumps(metrics))
    else:
        click.echo(reports.summary(metrics, old))
    questions = [r for r in rows if "file" not in r]  # not an answers file's bad lines
    answered = sum("error" not in r for r in questions)
    click.echo(
        f"{'Scored' if answers else 'Answered'} {answered} of {len(questions)} question(s); "
        f"report {report}" + (f"; results {out}" if out else "") + ".",
        err=as_json,
    )
    below = [
        f"{name} {_fmt_metric(metrics.get(name))} is below the minimum {floor:g}"
        for name, floor in floors.items()
        if metrics.get(name) is None or float(metrics[name]) < floor
    ]
    for line in below:
        click.echo(f"error: {line}", err=True)
    if below:
        sys.exit(3)
    if answered < len(rows):  # a bad question, or a bad line of the answers file
        sys.exit(1)


def _rated_rows(settings: Settings) -> list[dict[str, Any]]:
    """Dataset lines made from the answers users rated; an error when there are none."""
    from rag.feedback import FeedbackStore

    path = "RAG_FEEDBACK_URL" if settings.feedback_url else settings.feedback_path
    if not settings.feedback_url and not settings.feedback_path.exists():
        raise click.UsageError(f"no ratings yet: {path} does not exist (rag serve keeps them)")
    store = FeedbackStore.open(settings)
    try:
        rows = [rated.to_row() for rated in store.rated()]
    finally:
        store.close()
    if not rows:
        raise click.UsageError(f"no rated answers in {path}")
    return rows


def _floors(minimums: tuple[str, ...], citation_recall: float | None) -> dict[str, float]:
    floors: dict[str, float] = {}
    for item in minimums:
        name, _, value = item.partition("=")
        try:
            floors[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not METRIC=NUMBER", param_hint="--min") from None
    if citation_recall is not None:
        floors["citation_recall"] = citation_recall
    return floors


def _fmt_metric(value: Any) -> str:
    return "missing" if value is None else f"{float(value):.3f}"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes answering offline questions, one per core to use [RAG_WORKERS, 1].",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None) -> None:
    """Serve the chat, the REST API and the embeddable widget (ingests the article if empty).

    Example: rag serve --port 7860, then open http://127.0.0.1:7860/
    """
    import uvicorn

    from ui.server import create_app

    settings = _settings(ctx)
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    if settings.workers > 1 and not settings.offline:
        click.echo("note: --workers has no effect with an LLM answerer", err=True)
    _log_warnings()
    app = create_app(settings, host=host)
    url = f"http://{host}:{port}"
    click.echo(f"Chat: {url}/   API: {url}/docs   Widget demo: {url}/embed-demo", err=False)
    if host in ("0.0.0.0", "::") and not settings.allowed_hosts:
        click.echo(
            "note: only loopback host names are answered; set RAG_ALLOWED_HOSTS to the names "
            "this server is reached by",
            err=True,
        )
    # Forwarded addresses are believed only from the proxies named: otherwise any client
    # could pick its own address and step around the rate limits.
    proxies = settings.trusted_proxies
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=",".join(proxies) or None,
        # An open chat tab holds a stream: without a bound, SIGTERM waited for it forever.
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )


@cli.command()
@click.pass_context
def mcp(ctx: click.Context) -> None:
    """Serve the documents to an MCP client over stdio (tools ask and search).

    Example client entry: {"command": "rag", "args": ["--data-dir", "/path/data", "mcp"]}.
    Reads the store beside a running 'rag serve' only with a Chroma server (RAG_CHROMA_HOST);
    otherwise 'rag serve' offers the same tools at /mcp.
    """
    from ui.app import App
    from ui.mcp_server import build_mcp

    settings = _settings(ctx)
    _log_warnings()
    with App.open(settings) as app:
        build_mcp(app).run("stdio")


def _log_warnings() -> None:
    """Warnings and errors to stderr, one line each, before a library sets up its own.

    The handler's own level matters: some libraries set their loggers to DEBUG, and the MCP
    SDK installs a root handler of its own unless one exists.
    """
    import logging

    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


def _settings_from_environment() -> Settings | None:
    """The settings a failed command most likely ran with, to name the server that was down."""
    from rag.settings import Settings

    try:
        return Settings()
    except Exception:  # invalid settings were reported as such already
        return None


def main() -> None:
    """Entry point: user errors become one line on stderr, never a traceback."""
    from rag.errors import RagError, user_message

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("RAG_DEBUG"):
            raise
        message = user_message(exc, _settings_from_environment())
        if isinstance(exc, RagError) and message:
            click.echo(f"error: {message}", err=True)
            sys.exit(2)
        shown = message or f"{type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)"
        click.echo(f"error: {shown}", err=True)
        sys.exit(1)
