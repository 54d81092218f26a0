"""The chat page (Gradio 6).

The question shows at once with an "Answering…" line, then the answer streams in under it
with clickable citations. Stop, regenerate and edit work as in other chat apps, and the
conversation is kept in the browser (``gr.BrowserState``) until "New chat".
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Generator, Iterator
from html import escape, unescape
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer import AnswerChunk
from rag.errors import QuestionError
from rag.retrieval.sources import passage_in_context
from ui.access import Access, presented_key
from ui.app import App, FileGone
from ui.render import answer_html, notice_html, plain

STATIC = Path(__file__).parent / "static"
# Offered on the empty chat when the bundled article is among the documents.
EXAMPLES = [
    "How long is the Uzbek-Afghan border?",
    "How long is Tajikistan's border with Afghanistan?",
    "How many people from Russia and the CIS joined ISIS?",
    "What are Russia's red lines in Central Asia?",
]
BUNDLED = "sternik-interview-2016.txt"
CONCURRENCY = 8
KEPT = 200  # messages a page keeps across reloads
PENDING = '<div class="rag-pending" role="status">Answering…</div>'
SIDE_EMPTY = (
    '<div class="rag-side-empty">Click a citation such as <b>[1]</b> to read its source here, '
    "the supporting sentence highlighted.</div>"
)
# Per assistant message (its index, as a string: the state goes through JSON): the question,
# the answer's text and its id. Earlier entries are the history a follow-up is read against.
Meta = dict[str, dict[str, str]]


def _text(message: dict[str, Any]) -> str:
    """A chat message's text, whichever shape Gradio handed it over in."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


def _unplain(html: str) -> str:
    """The question a user message shows (``plain`` undone exactly)."""
    return unescape(html.replace("<br>", "\n"))


def _entries(meta: Any) -> dict[int, dict[str, str]]:
    """The answers' records as the browser sent them back, anything malformed left out."""
    if not isinstance(meta, dict):
        return {}
    return {
        int(k): m
        for k, m in meta.items()
        if isinstance(k, str)
        and k.isdigit()
        and len(k) < 7
        and isinstance(m, dict)
        and all(isinstance(m.get(f), str) for f in ("q", "a", "id"))
    }


def _history(meta: Any, before: int) -> list[tuple[str, str]]:
    return [(m["q"], m["a"]) for k, m in sorted(_entries(meta).items()) if k < before]


def _cut(meta: Any, before: int) -> Meta:
    return {str(k): m for k, m in _entries(meta).items() if k < before}


def _messages(value: list[Any]) -> list[dict[str, str]]:
    """Chat messages the browser kept, as text messages; anything else is dropped.

    A question's text is escaped again: only an answer's own markup comes back as markup,
    and Gradio sanitises that.
    """
    kept = [m for m in value if isinstance(m, dict)]
    return [
        {"role": "user", "content": plain(_unplain(_text(m)))}
        if m.get("role") == "user"
        else {"role": "assistant", "content": _text(m)}
        for m in kept
        if m.get("role") in ("user", "assistant")
    ]


def _empty_state(rag_app: App) -> str:
    """What the empty chat shows: the documents it knows, and example questions to click."""
    documents = rag_app.document_list()
    titles = [d.title for d in documents]
    known = "".join(f"<li>{escape(t)}</li>" for t in titles[:12])
    more = f"<li>and {len(titles) - 12} more (see Documents)</li>" if len(titles) > 12 else ""
    body = (
        f"<p>I answer from {len(titles)} document{'s' if len(titles) != 1 else ''}:</p>"
        f"<ul>{known}{more}</ul><p>Every answer cites its sources. Try:</p>"
        if titles
        else "<p>No documents yet: add one under Documents.</p>"
    )
    examples = EXAMPLES if any(d.filename == BUNDLED for d in documents) else []
    buttons = "".join(
        f'<button type="button" class="rag-example">{escape(q)}</button>' for q in examples
    )
    return (
        f'<div class="rag-empty"><h2>What I know</h2>{body}'
        f'<div class="rag-examples">{buttons}</div></div>'
    )


def build_chat(rag_app: App, access: Access) -> gr.Blocks:
    """The chat page; answering runs up to ``CONCURRENCY`` questions at once."""
    stops = Stops()

    def start(question: str, messages: list[dict[str, Any]], request: gr.Request) -> Any:
        """Show the question and the waiting line at once; a blank question does nothing."""
        if not question.strip():
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        stops.arm(request.session_hash)
        shown = [*messages, {"role": "user", "content": plain(question)}, _pending()]
        return shown, "", question, gr.update(visible=False), gr.update(visible=True)

    def answer(
        question: str, messages: list[dict[str, Any]], meta: Meta, request: gr.Request
    ) -> Iterator[tuple[Any, Any, Any]]:
        stop = stops.take(request.session_hash)
        try:
            yield from _answer(question, messages, meta, stop)
        finally:
            stops.done(request.session_hash, stop)

    def _answer(
        question: str, messages: list[dict[str, Any]], meta: Meta, stop: threading.Event
    ) -> Iterator[tuple[Any, Any, Any]]:
        if not messages or _text(messages[-1]) != PENDING:
            yield gr.skip(), gr.skip(), gr.skip()  # nothing was asked (a blank submit)
            return
        base = messages[:-1]
        index = len(base)
        try:
            chunks = rag_app.stream(question, _history(meta, index))
        except QuestionError as exc:
            yield _kept([*base, _notice(str(exc))], meta)
            return
        try:
            done = yield from _replies(question, base, meta, _until(stop, chunks))
        except Exception as exc:
            outage = rag_app.outage(exc)
            if outage is None:
                raise
            yield _kept([*base, _notice(f"{outage[0].upper()}{outage[1:]}.")], meta)
            return
        if not done:  # stopped: the unfinished reply goes (its citations were never checked)
            yield _kept([*base, _notice("Stopped. Regenerate (↻) to ask again.")], meta)

    def stopped(request: gr.Request) -> Any:
        """Stop: the answer being shown ends at its next step (see ``Stops``)."""
        stops.stop(request.session_hash)
        return gr.update(visible=True), gr.update(visible=False)

    def _replies(
        question: str, base: list[dict[str, Any]], meta: Meta, chunks: Iterator[AnswerChunk]
    ) -> Generator[tuple[Any, Any, Any], None, bool]:
        """The reply as it streams; returns whether the finished answer came."""
        text = ""
        for chunk in chunks:
            text = chunk.delta if chunk.restart else text + chunk.delta
            if chunk.answer is None:
                shown = [*base, {"role": "assistant", "content": plain(text) or PENDING}]
                yield shown, meta, gr.skip()
                continue
            done = chunk.answer
            contexts = {
                c.chunk_id: ctx
                for c in (*done.citations, *done.related)
                if (ctx := passage_in_context(rag_app.store, c.chunk_id)) is not None
            }
            html = answer_html(done, contexts, ratable=rag_app.feedback is not None)
            entry = {"q": question, "a": done.answer, "id": done.answer_id}
            yield _kept(
                [*base, {"role": "assistant", "content": html}], {**meta, str(len(base)): entry}
            )
            return True
        return False

    def retried(messages: list[dict[str, Any]], meta: Meta, request: gr.Request) -> Any:
        """Regenerate: answer the last question again, in place of its reply."""
        last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
        if last is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        stops.arm(request.session_hash)
        question = _unplain(_text(messages[last]))
        shown = [*messages[: last + 1], _pending()]
        return shown, _cut(meta, last), question, gr.update(visible=False), gr.update(visible=True)

    def edited(
        messages: list[dict[str, Any]], meta: Meta, edit: gr.EditData, request: gr.Request
    ) -> Any:
        """An edited question replaces it and everything after it, then is answered."""
        index = edit.index[0] if isinstance(edit.index, (list, tuple)) else edit.index
        question = _unplain(str(edit.value))
        if not question.strip():
            return messages, meta, "", gr.update(visible=True), gr.update(visible=False)
        stops.arm(request.session_hash)
        shown = [*messages[:index], {"role": "user", "content": plain(question)}, _pending()]
        return shown, _cut(meta, index), question, gr.update(visible=False), gr.update(visible=True)

    def restore(saved: dict[str, Any] | None) -> Any:
        """The page opens on the conversation the browser kept, and the documents as they are.

        What comes back from the browser is the user's own input: only text messages and
        well-formed records are taken.
        """
        saved = saved if isinstance(saved, dict) else {}
        raw = saved.get("messages")
        raw = raw if isinstance(raw, list) else []
        dropped = max(0, len(raw) - KEPT)  # the last KEPT messages only: a page keeps no more
        messages = _messages(raw[dropped:])
        meta = {str(k - dropped): m for k, m in _entries(saved.get("meta")).items() if k >= dropped}
        # A reply the page was waiting for when it closed will never come.
        if messages and messages[-1]["content"] == PENDING:
            messages = messages[:-1]
        placeholder = _empty_state(rag_app)
        if not messages:  # nothing to restore: a question asked meanwhile stays on screen
            return gr.update(placeholder=placeholder), gr.skip(), *documents()
        shown = gr.update(value=messages, placeholder=placeholder)
        return shown, _cut(meta, len(messages)), *documents()

    def documents() -> tuple[Any, ...]:
        """The documents list (and dropdown) as they are now.

        Not as when the server built the page: documents come and go through the API, the CLI
        and other tabs.
        """
        return _lists(rag_app, with_choices=chosen is not None)

    secret = hashlib.sha256(f"rag-cite chat {rag_app.settings.collection}".encode()).hexdigest()
    with gr.Blocks(title="Ask the documents") as demo:
        # gr.Markdown, not gr.HTML: Gradio 6's HTML component compiles templates with
        # Function(), which the page's CSP (no 'unsafe-eval') refuses.
        gr.Markdown(
            "# Ask the documents\nEvery answer cites its sources: click a **[n]** to read the "
            "passage, the supporting sentence highlighted.",
            elem_id="rag-head",
        )
        # The conversation survives a reload; the page's secret only obfuscates (it is sent to
        # the browser), so what comes back from storage is treated as the user's own input.
        saved = gr.BrowserState({"messages": [], "meta": {}}, storage_key="rag-chat", secret=secret)
        meta = gr.State({})
        asking = gr.State("")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    chatbot = gr.Chatbot(
                        elem_id="rag-chat",
                        height="min(640px, 70vh)",
                        layout="panel",
                        show_label=False,
                        buttons=[],  # the answers carry their own Copy (plain text)
                        # Messages are HTML built by ``answer_html`` with every document
                        # string escaped; Markdown or LaTeX over them would turn a
                        # document's ![](url) into a fetched image and its [text](url) into
                        # a live link.
                        render_markdown=False,
                        latex_delimiters=[],
                        feedback_options=None,  # the answers carry their own thumbs
                        editable="user",
                    )
                    with gr.Row(elem_id="rag-input-row"):
                        box = gr.Textbox(
                            placeholder="Ask a question about the documents…",
                            show_label=False,
                            container=False,
                            scale=8,
                            min_width=120,
                            elem_id="rag-question",
                            max_length=rag_app.settings.max_question_chars,
                        )
                        send = gr.Button(
                            "Ask", variant="primary", scale=0, min_width=60, elem_id="rag-send"
                        )
                        stop = gr.Button(
                            "Stop",
                            variant="stop",
                            scale=0,
                            min_width=60,
                            visible=False,
                            elem_id="rag-stop",
                        )
                        new = gr.Button("New chat", scale=0, min_width=100, elem_id="rag-new")
                with gr.Column(scale=2, min_width=280, elem_id="rag-side-col"):
                    gr.Markdown(SIDE_EMPTY, elem_id="rag-side")
            with gr.Tab("Documents", id="documents") as documents_tab:
                table, chosen = documents_view(rag_app, access)

        buttons = [send, stop]
        shown = [chatbot, box, asking, *buttons]
        for trigger, fn, inputs in (
            (box.submit, start, [box, chatbot]),
            (send.click, start, [box, chatbot]),
            (chatbot.retry, retried, [chatbot, meta]),
            (chatbot.edit, edited, [chatbot, meta]),
        ):
            outputs = [chatbot, meta, asking, *buttons] if fn in (retried, edited) else shown
            # A question sent while the last one is still being shown waits its turn: the
            # default drops it.
            asked = trigger(fn, inputs, outputs, trigger_mode="always_last", **PRIVATE)
            replied = asked.then(
                answer, [asking, chatbot, meta], [chatbot, meta, saved], **ANSWERING
            )
            replied.then(_idle, None, buttons, **PRIVATE)
        # Not Gradio's ``cancels``: a cancelled event often left its red "Error" over the chat.
        stop.click(stopped, None, buttons, **PRIVATE)
        new.click(lambda: (*_kept([], {}), ""), None, [chatbot, meta, saved, box], **PRIVATE)
        chatbot.clear(lambda: _kept([], {})[1:], None, [meta, saved], **PRIVATE)
        lists = [table] if chosen is None else [table, chosen]
        demo.load(restore, saved, [chatbot, meta, *lists], **PRIVATE)
        # One output takes its value bare; two take a tuple.
        documents_tab.select(
            lambda: documents() if chosen is not None else documents()[0], None, lists, **PRIVATE
        )

        def ask_api(question: str) -> dict[str, Any]:
            """Answer a question; returns the answer object (answer, citations, ...)."""
            try:
                return rag_app.ask(question).to_dict()
            except QuestionError as exc:
                raise gr.Error(str(exc)) from None

        gr.api(ask_api, api_name="ask", concurrency_limit=CONCURRENCY)  # type: ignore[attr-defined]
    blocks: gr.Blocks = demo
    return blocks


class Stops:
    """Stop requests, one per page session: Stop sets it, the answer being shown reads it.

    Armed when a question is shown (so a Stop pressed before its answer starts counts), and
    kept until that answer ends. Bounded: sessions that never answer cannot grow it.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}

    def arm(self, session: str | None) -> None:
        """A new question in this session: earlier Stops no longer count."""
        with self._lock:
            self._events.pop(session or "", None)
            if len(self._events) >= self.LIMIT:
                self._events.pop(next(iter(self._events)))
            self._events[session or ""] = threading.Event()

    def take(self, session: str | None) -> threading.Event:
        """The event the session's answer watches (armed, or a fresh one)."""
        with self._lock:
            return self._events.setdefault(session or "", threading.Event())

    def done(self, session: str | None, event: threading.Event) -> None:
        """The answer ended: forget its event, unless a newer question armed another."""
        with self._lock:
            if self._events.get(session or "") is event:
                del self._events[session or ""]

    def stop(self, session: str | None) -> None:
        """Stop the session's answer, if one is being shown or about to be."""
        with self._lock:
            event = self._events.get(session or "")
        if event is not None:
            event.set()


def _until(stop: threading.Event, chunks: Iterator[AnswerChunk]) -> Iterator[AnswerChunk]:
    """The chunks, read in a thread, until ``stop`` is set.

    A model may take many seconds per chunk; the reply ends at once on Stop, and the reading
    thread finishes the answer unseen (bounded by the model's timeout).
    """
    found: queue.Queue[tuple[bool, Any]] = queue.Queue()

    def read() -> None:
        try:
            for chunk in chunks:
                found.put((True, chunk))
                if stop.is_set():
                    break
        except Exception as exc:
            found.put((False, exc))
            return
        found.put((False, None))

    threading.Thread(target=read, name="rag-chat-answer", daemon=True).start()
    while not stop.is_set():
        try:
            more, item = found.get(timeout=0.1)
        except queue.Empty:
            continue
        if not more:
            if item is not None:
                raise item
            return
        if stop.is_set():
            return
        yield item


PRIVATE: dict[str, Any] = {"api_visibility": "private"}
ANSWERING: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": CONCURRENCY}


def _pending() -> dict[str, str]:
    return {"role": "assistant", "content": PENDING}


def _notice(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": notice_html(text)}


def _kept(messages: list[dict[str, Any]], meta: Meta) -> tuple[Any, Any, Any]:
    """The conversation as shown, and the same for the browser to keep.

    Kept in the same update as the reply, so a reload right after an answer still has it.
    """
    return messages, meta, {"messages": messages, "meta": meta}


def _idle() -> tuple[Any, Any]:
    return gr.update(visible=True), gr.update(visible=False)


COLUMNS = ["Title", "Date", "Type", "Passages", "Stored (UTC)", "File"]


def _table(rag_app: App) -> list[list[Any]]:
    return [
        [
            d.title,
            d.date or "",
            d.type,
            d.passages,
            (d.added_at or "")[:16].replace("T", " "),
            d.source,
        ]
        for d in rag_app.document_list()
    ]


def _lists(rag_app: App, with_choices: bool) -> tuple[Any, ...]:
    """Updates for the documents table, and the dropdown's choices when the page has one."""
    table = gr.update(value=_table(rag_app))
    if not with_choices:
        return (table,)
    return table, gr.update(choices=_choices(rag_app), value=None)


def _choices(rag_app: App) -> list[tuple[str, str]]:
    return [(f"{d.title} ({d.source})", d.id) for d in rag_app.document_list()]


def documents_view(rag_app: App, access: Access) -> tuple[gr.Dataframe, gr.Dropdown | None]:
    """What the assistant knows; adding a document in one step; removing and re-reading one.

    Changing documents follows the upload rule (``Access.change_refusal``), checked on each
    event as the REST routes check it.
    """

    def refusal(request: gr.Request, rule: Any) -> str | None:
        key = presented_key(request.headers, request.cookies)
        client = request.client.host if request.client else "unknown"
        refused = rule(key, request.headers, client)
        if not refused:
            return None
        hint = "; sign in at /login with it" if access.admin_token is not None else ""
        return f"⚠ {refused[0].upper()}{refused[1:]}{hint}."

    def listed() -> Any:
        return _lists(rag_app, with_choices=True)

    def upload(
        path: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[str, Any, Any]:
        refused = refusal(request, access.upload_refusal)
        if refused:
            return refused, gr.skip(), gr.skip()
        if not path:
            return "Choose a file first.", gr.skip(), gr.skip()
        progress(0.2, desc="Reading and indexing")
        result = rag_app.add_document(Path(path).name, Path(path).read_bytes())
        if result.error:
            return f"⚠ {Path(result.path).name}: {result.error}", gr.skip(), gr.skip()
        return (
            f"Added {Path(result.path).name}: {result.added} new passage(s), "
            f"{result.unchanged} already stored. Ask about it now.",
            *listed(),
        )

    def change(doc_id: str | None, confirm: str | None, action: str, request: gr.Request) -> Any:
        """Re-read at once; delete on a second press for the same document."""
        refused = refusal(request, access.change_refusal)
        if refused:
            return refused, None, gr.skip(), gr.skip()
        if not doc_id:
            return "Choose a document first.", None, gr.skip(), gr.skip()
        if action == "delete" and confirm != doc_id:
            info = next((d for d in rag_app.document_list() if d.id == doc_id), None)
            if info is None:
                return "That document is no longer stored.", None, *listed()
            return (
                f"Press Delete again to remove “{info.title}” and its {info.passages} "
                "passage(s) for good.",
                doc_id,
                gr.skip(),
                gr.skip(),
            )
        if action == "delete":
            removed = rag_app.remove_document(doc_id)
            if removed is None:
                return "That document is no longer stored.", None, *listed()
            return f"Removed “{removed.title}” ({removed.passages} passage(s)).", None, *listed()
        try:
            done = rag_app.reingest_document(doc_id)
        except FileGone as exc:
            return f"⚠ {exc}", None, gr.skip(), gr.skip()
        if done is None:
            return "That document is no longer stored.", None, *listed()
        info, result = done
        if result.error:
            return f"⚠ {info.source}: {result.error}", None, gr.skip(), gr.skip()
        return (
            f"Re-read “{info.title}”: {result.added} new passage(s), {result.unchanged} unchanged.",
            None,
            *listed(),
        )

    table = gr.Dataframe(
        headers=COLUMNS,
        datatype=["str", "str", "str", "number", "str", "str"],
        interactive=False,
        wrap=True,
        column_widths=["34%", "11%", "7%", "10%", "14%", "24%"],
        label="Documents the assistant answers from",
        elem_id="rag-documents",
    )
    if not access.uploads_possible:
        return table, None
    # One step: the chosen file is read and indexed at once.
    file = gr.UploadButton(
        "Add a document (.txt .md .html .pdf)…",
        file_types=[".txt", ".md", ".html", ".htm", ".pdf"],
        variant="primary",
        elem_id="rag-upload",
    )
    status = gr.Markdown(elem_id="rag-documents-status")
    with gr.Row(equal_height=True):
        chosen = gr.Dropdown(
            choices=_choices(rag_app),
            value=None,
            label="Document to re-read or delete",
            scale=4,
            elem_id="rag-document-choice",
        )
        reread = gr.Button("Re-read its file", scale=1, elem_id="rag-reread")
        delete = gr.Button("Delete", variant="stop", scale=1, elem_id="rag-delete")
    confirm = gr.State(None)
    file.upload(upload, file, [status, table, chosen], **PRIVATE)
    outputs = [status, confirm, table, chosen]

    def reread_it(doc_id: str | None, pending: str | None, request: gr.Request) -> Any:
        return change(doc_id, pending, "reread", request)

    def delete_it(doc_id: str | None, pending: str | None, request: gr.Request) -> Any:
        return change(doc_id, pending, "delete", request)

    reread.click(reread_it, [chosen, confirm], outputs, **PRIVATE)
    delete.click(delete_it, [chosen, confirm], outputs, **PRIVATE)
    chosen.change(lambda: None, None, confirm, **PRIVATE)
    return table, chosen


def page_assets() -> dict[str, str]:
    """CSS and the page's script, for ``mount_gradio_app``."""
    return {
        "css": (STATIC / "chat.css").read_text(),
        "head": f"<script>{(STATIC / 'chat.js').read_text()}</script>",
    }
