"""The ``rag`` command in-process (click's CliRunner): fast checks of each command's output.

``tests/test_cli.py`` runs the installed command as a user does; these run the same click
group without a subprocess, so they cost milliseconds once the store exists.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ui.cli import cli


@pytest.fixture
def run(article_data_dir: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--data-dir", str(article_data_dir), *args])
        return result.exit_code, result.output

    return invoke


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "list", "search", "ask", "eval", "serve"):
        assert command in result.output


def test_list_shows_the_article_and_its_passages(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("list", "--chunks")
    assert code == 0
    assert "passages in 1 document(s)." in out and "sternik-interview-2016.txt" in out
    assert out.count("\n  [") > 20  # one line per passage, with offsets


def test_search_as_json_gives_passages_with_offsets(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("search", "How long is the Uzbek-Afghan border?", "-k", "3", "--json")
    assert code == 0
    passages = json.loads(out)
    assert len(passages) == 3 and {"text", "start", "end", "source"} <= set(passages[0])
    assert any("137 km" in p["text"] for p in passages)


def test_ask_as_json_is_the_answer_object(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("ask", "How long is the Uzbek-Afghan border?", "--json")
    assert code == 0
    answer = json.loads(out)
    assert "137 km" in answer["answer"] and answer["citations"][0]["n"] == 1


def test_a_bad_setting_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("--collection", "x", "list")
    assert code == 2 and "RAG_COLLECTION" in out


def test_delete_removes_a_document_by_path_or_id(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Alpha notes\n\nThe Alpha mill grinds rye.")
    (notes / "b.txt").write_text("Beta notes\n\nThe Beta mill grinds oats.")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--data-dir", str(tmp_path / "data"), *args])
        return result.exit_code, result.output

    assert run("ingest", str(notes))[0] == 0
    code, out = run("delete", str(notes / "a.txt"))
    assert code == 0 and out == "Deleted notes/a.txt: 1 passages removed.\n"
    from ingest.ids import source_key

    code, out = run("delete", source_key(str((notes / "b.txt").resolve())))
    assert code == 0 and "notes/b.txt" in out
    code, out = run("delete", "notes/b.txt")
    assert code == 1 and "no stored document 'notes/b.txt'" in out
    assert (notes / "a.txt").exists()  # files outside the uploads folder stay
    assert "0 passages in 0 document(s)." in run("list")[1]
