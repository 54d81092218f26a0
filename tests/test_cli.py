"""The installed `rag` command, run as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from rag.settings import Settings
from rag.store import Store
from tests.helpers import RAG


def rag(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAG, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_ingest_the_bundled_article_twice() -> None:
    first = rag("ingest")
    assert first.returncode == 0, first.stderr
    assert "sternik-interview-2016.txt: 28 added" in first.stdout
    assert "Ingested 1 file(s): 28 passages added" in first.stdout
    second = rag("ingest")
    assert second.returncode == 0
    assert second.stdout.startswith("Nothing changed: 1 file(s), 28 passages already stored")

    listing = rag("list", "--chunks")
    assert "America’s Attempts to Halt Eurasian Integration" in listing.stdout
    assert "(2016-01-06): 28 passages" in listing.stdout
    assert listing.stdout.count("\n  [") == 28

    found = rag("search", "How long is the Uzbek-Afghan border?", "--json", "-k", "2")
    passages = json.loads(found.stdout)
    assert len(passages) == 2
    assert any("137 km" in p["text"] for p in passages)


def test_bad_file_fails_alone_with_one_line_and_exit_status(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nA good document about borders.")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    result = rag("ingest", str(tmp_path), str(tmp_path / "nope.txt"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("bad.pdf: corrupt or unreadable PDF" in e for e in errors)
    assert any("nope.txt: no such file or folder" in e for e in errors)
    assert "Traceback" not in result.stderr
    assert "good.md: 1 added" in result.stdout


def test_a_second_process_on_an_embedded_store_is_told_to_use_a_server(settings: Settings) -> None:
    with Store.open(settings, write=True):
        result = rag("ingest")
    assert result.returncode == 2
    assert "in use by another process" in result.stderr and "chroma run --path" in result.stderr
    assert "RAG_CHROMA_HOST" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_readers_share_an_embedded_store(settings: Settings) -> None:
    assert rag("ingest").returncode == 0
    with Store.open(settings):
        result = rag("search", "Tajik border")
    assert result.returncode == 0, result.stderr


def test_bad_setting_names_the_variable() -> None:
    result = rag("ingest", env={"RAG_CHUNK_SIZE": "lots"})
    assert result.returncode == 2
    assert "RAG_CHUNK_SIZE" in result.stderr and "Traceback" not in result.stderr


def test_search_before_ingest_says_what_to_do() -> None:
    result = rag("search", "anything")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error: The collection 'documents' does not exist yet: run 'rag ingest' first"
    )


def test_cli_flags_override_environment(tmp_path: Path) -> None:
    result = rag(
        "--data-dir", str(tmp_path / "other"), "ingest", env={"RAG_DATA_DIR": str(tmp_path / "env")}
    )
    assert result.returncode == 0
    assert (tmp_path / "other" / "chroma").is_dir() and not (tmp_path / "env").exists()


def test_help_is_instant_and_lists_commands() -> None:
    result = rag("--help")
    assert result.returncode == 0
    for command in ("ingest", "list", "search", "ask", "eval"):
        assert command in result.stdout
    run_help = "import sys; sys.argv = ['rag', '--help']; from ui.cli import main; main()"
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", run_help], capture_output=True, text=True
    )
    assert "chromadb" not in probe.stderr and "langchain" not in probe.stderr


def test_ask_prints_the_answer_with_numbered_sources() -> None:
    assert rag("ingest").returncode == 0
    result = rag("ask", "How long is the Uzbek-Afghan border?")
    assert result.returncode == 0, result.stderr
    assert "137 km. [1]" in result.stdout
    assert "Sources:\n[1] America’s Attempts" in result.stdout
    assert "(2016-01-06), characters 4779-5245" in result.stdout


def test_ask_json_is_the_answer_object(tmp_path: Path) -> None:
    assert rag("ingest").returncode == 0
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps([["How long is Tajikistan's border with Afghanistan?", "Over 1300 km. [1]"]])
    )
    result = rag("ask", "And Turkmenistan's?", "--history", str(history), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"answer", "citations", "answerable", "answerer", "notice", "timings"} <= set(answer)
    assert set(answer["timings"]) == {"retrieve_ms", "generate_ms", "total_ms"}
    assert "745 kilometers" in answer["answer"] and answer["answerer"] == "extractive"
    first = answer["citations"][0]
    assert {
        "n",
        "source",
        "title",
        "chunk_id",
        "text",
        "start",
        "end",
        "support",
        "page",
        "score",
    } <= set(first)
    assert (
        first["n"] == 1
        and first["text"][first["support"]["start"] : first["support"]["end"]]
        == first["support"]["text"]
    )


def test_ask_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    assert rag("ingest").returncode == 0
    empty = rag("ask", "   ")
    assert empty.returncode == 2 and empty.stderr == "error: the question is empty\n"
    history = tmp_path / "bad.json"
    history.write_text("{not json")
    bad = rag("ask", "Why?", "--history", str(history))
    assert bad.returncode == 2 and "--history" in bad.stderr and "Traceback" not in bad.stderr


def test_eval_answers_every_line_in_order_and_names_bad_lines(tmp_path: Path) -> None:
    assert rag("ingest").returncode == 0
    dataset = tmp_path / "questions.jsonl"
    dataset.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "question": "How long is the Uzbek-Afghan border?",
                        "id": "q1",
                        "gold": "137 km",
                    }
                ),
                "{broken",
                json.dumps(
                    {
                        "question": "And Turkmenistan's?",
                        "history": [["How long is Tajikistan's border?", "1300 km"]],
                    }
                ),
                json.dumps({"question": ""}),
                json.dumps({"question": "What is the capital of France?", "history": "nope"}),
            ]
        )
        + "\n"
    )
    out = tmp_path / "answers.jsonl"
    result = rag("eval", str(dataset), "--out", str(out))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert [e.split(": ")[2] for e in errors] == ["line 2", "line 4", "line 5"]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert rows[0]["id"] == "q1" and rows[0]["gold"] == "137 km" and "137 km" in rows[0]["answer"]
    assert {"answer", "citations", "answerable", "answerer", "notice", "timings"} <= set(rows[0])
    assert rows[1] == {
        "line": 2,
        "error": "not valid JSON (Expecting property name enclosed in double quotes at column 2)",
    }
    assert "745 kilometers" in rows[2]["answer"]
    assert "error" in rows[3] and "error" in rows[4] and "answer" not in rows[4]
    assert "Answered 2 of 5 question(s)" in result.stdout
