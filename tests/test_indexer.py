import re
from pathlib import Path

import pytest

from ingest.indexer import Indexer
from rag.retrieval.passages import Passage, quotable_spans
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store
from tests.helpers import CountingEmbedder, make_pdf


def snapshot(store: Store) -> dict[str, tuple[str, dict[str, object]]]:
    return {id_: (text, meta) for id_, text, meta in store.records()}


def paragraphs(n: int, word: str) -> str:
    return "\n\n".join(
        f"Paragraph {i} is about {word} number {i}, with some more words." for i in range(n)
    )


def test_reingesting_unchanged_files_embeds_and_changes_nothing(settings: Settings) -> None:
    with Store.open(settings, write=True) as store:
        counter = CountingEmbedder(store.embedder)
        store.embedder = counter
        first = Indexer(store).ingest([DEFAULT_CORPUS])
        assert first.total("added") == store.count() > 20
        embedded, before, revision = counter.texts, snapshot(store), store.revision()
        second = Indexer(store).ingest([DEFAULT_CORPUS])
        assert counter.texts == embedded
        assert second.total("added") == second.total("removed") == second.total("updated") == 0
        assert second.total("unchanged") == len(before)
        assert snapshot(store) == before
        assert store.revision() == revision


def test_changed_file_has_its_old_chunks_replaced(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(paragraphs(30, "apples"))
    other = tmp_path / "other.txt"
    other.write_text(paragraphs(5, "pears"))
    with Store.open(settings, write=True) as store:
        counter = CountingEmbedder(store.embedder)
        store.embedder = counter
        Indexer(store).ingest([path, other])
        old = snapshot(store)
        revision = store.revision()
        path.write_text(paragraphs(30, "apples").replace("number 29", "number twenty-nine"))
        counter.texts = 0
        report = Indexer(store).ingest([path, other])
        assert report.total("removed") == 1 and report.total("added") == 1
        new = snapshot(store)
        # Only the changed passage is embedded again, with its sentences for the answerer.
        changed = [new[i] for i in set(new) - set(old)]
        assert counter.texts == sum(1 + len(quotable_spans(t, m)) for t, m in changed)
        assert not any("number 29," in text for text, _ in new.values())
        assert any("number twenty-nine" in text for text, _ in new.values())
        assert {i for i in old if "pears" in old[i][0]} <= set(new)
        assert store.revision() != revision


def test_text_moving_inside_a_file_updates_offsets_without_embedding(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(paragraphs(30, "apples"))
    with Store.open(settings, write=True) as store:
        counter = CountingEmbedder(store.embedder)
        store.embedder = counter
        Indexer(store).ingest([path])
        old = snapshot(store)
        path.write_text("A new opening paragraph.\n\n" + paragraphs(30, "apples"))
        counter.texts = 0
        Indexer(store).ingest([path])
        text = path.read_text()
        new = snapshot(store)
        for chunk_text, meta in new.values():
            assert text[int(meta["start"]) : int(meta["end"])] == chunk_text  # type: ignore[call-overload]
        # At most the passage holding the new paragraph is embedded (with its sentences).
        added = [new[i] for i in set(new) - set(old)]
        assert len(added) <= 1
        assert counter.texts == sum(1 + len(quotable_spans(t, m)) for t, m in added)


def test_bad_files_are_reported_and_the_rest_still_ingested(
    settings: Settings, tmp_path: Path
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(paragraphs(3, "borders"))
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([good])
        stored = snapshot(store)
        good.write_bytes(
            b"\xff\xfe\x00\x00" + b"\x00" * 100
        )  # now unreadable: old chunks must stay
        (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 nonsense")
        (tmp_path / "fine.md").write_text("# Fine\n\nA fine document.")
        report = Indexer(store).ingest([tmp_path, tmp_path / "missing.txt"])
        failed = {Path(f.path).name: f.error for f in report.failed}
        assert set(failed) == {"good.txt", "bad.pdf", "missing.txt"}
        assert failed["missing.txt"] == "no such file or folder"
        after = snapshot(store)
        assert set(stored) <= set(after)
        assert any("A fine document." in text for text, _ in after.values())


def test_prune_removes_documents_whose_files_are_gone(settings: Settings, tmp_path: Path) -> None:
    keep, gone = tmp_path / "keep.txt", tmp_path / "gone.txt"
    keep.write_text(paragraphs(2, "kept"))
    gone.write_text(paragraphs(2, "gone"))
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([tmp_path])
        gone.unlink()
        assert Indexer(store).ingest([keep]).total("removed") == 0  # no prune, nothing removed
        report = Indexer(store).ingest([keep], prune=True)
        assert report.total("removed") == 1
        sources = {meta["source"] for _, meta in snapshot(store).values()}
        assert sources == {str(keep.resolve())}


def test_hidden_and_unsupported_files_in_folders_are_skipped(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("hidden")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "doc.txt").write_text("Visible text.")
    with Store.open(settings, write=True) as store:
        report = Indexer(store).ingest([tmp_path])
        assert [Path(f.path).name for f in report.files] == ["doc.txt"]


def test_metadata_carries_title_date_offsets(article_store: Store) -> None:
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")
    from ingest.clean import clean_text

    cleaned = clean_text(text)
    for chunk_text, meta in snapshot(article_store).values():
        assert (
            meta["title"]
            == "America’s Attempts to Halt Eurasian Integration in Central Asia a Red Line for Russia"
        )
        assert meta["date"] == "2016-01-06"
        assert meta["filename"] == "sternik-interview-2016.txt"
        assert cleaned[int(meta["start"]) : int(meta["end"])] == chunk_text  # type: ignore[call-overload]
        assert "Subscribe" not in chunk_text and "Notify of" not in chunk_text


@pytest.mark.parametrize("size", [200, 1000])
def test_chunk_size_setting_is_used(tmp_path: Path, size: int) -> None:
    settings = Settings(data_dir=tmp_path / "d", chunk_size=size, chunk_overlap=50)
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([DEFAULT_CORPUS])
        lengths = [len(t) for t, _ in snapshot(store).values()]
    assert max(lengths) <= 2 * size
    assert (len(lengths) > 40) if size == 200 else (len(lengths) < 25)


def test_added_at_is_kept_while_a_file_is_unchanged_and_renewed_when_it_changes(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(paragraphs(30, "apples"))
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([path])
        first = snapshot(store)
        stamps = {str(meta["added_at"]) for _, meta in first.values()}
        assert len(stamps) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", *stamps)
        # Stamps hold seconds: backdate the stored ones rather than wait for the clock.
        old = "2000-01-01T00:00:00Z"
        records = [(i, t, {**m, "added_at": old}) for i, (t, m) in first.items()]
        store.upsert(records, [store.vectors([i])[i] for i, *_ in records])  # type: ignore[misc]
        assert Indexer(store).ingest([path]).total("updated") == 0  # unchanged: nothing written
        assert {m["added_at"] for _, m in snapshot(store).values()} == {old}
        path.write_text(paragraphs(30, "apples").replace("number 29", "number twenty-nine"))
        Indexer(store).ingest([path])
        changed = {i: m["added_at"] for i, (_, m) in snapshot(store).items()}
        assert max(changed.values()) > old  # type: ignore[operator]
        assert {changed[i] for i in set(changed) & set(first)} == {old}  # untouched passages
        # Only the last passage cut off: none is new or moved, yet the version is a new one.
        records = [(i, t, {**m, "added_at": old}) for i, (t, m) in snapshot(store).items()]
        store.upsert(records, [store.vectors([i])[i] for i, *_ in records])  # type: ignore[misc]
        ends = sorted(int(m["end"]) for *_, m in records)  # type: ignore[call-overload]
        path.write_text(path.read_text()[: ends[-2]])
        report = Indexer(store).ingest([path])
        assert report.total("removed") == 1 and report.total("added") == 0
        assert max(str(m["added_at"]) for _, m in snapshot(store).values()) > old


def test_a_store_from_before_added_at_is_left_as_it_is(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(paragraphs(5, "plums"))
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([path])
        records = [
            (i, t, {k: v for k, v in m.items() if k != "added_at"})
            for i, (t, m) in snapshot(store).items()
        ]
        store.upsert(records, [store.vectors([i])[i] for i, *_ in records])  # type: ignore[misc]
        before = snapshot(store)
        report = Indexer(store).ingest([path])
        assert report.total("updated") == report.total("added") == 0
        assert snapshot(store) == before and not any("added_at" in m for _, m in before.values())


def test_remove_takes_one_document_with_its_sentences_and_nothing_else(
    settings: Settings, tmp_path: Path
) -> None:
    gone, kept = tmp_path / "gone.txt", tmp_path / "kept.txt"
    gone.write_text(paragraphs(12, "quinces"))
    kept.write_text(paragraphs(12, "medlars"))
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([gone, kept])
        before, revision = snapshot(store), store.revision()
        ids = [i for i, (_, m) in before.items() if m["source"] == str(gone.resolve())]
        assert ids and store.sentence_vectors(ids)
        result = Indexer(store).remove(str(gone.resolve()))
        assert result.removed == len(ids) and result.changed
        assert snapshot(store) == {i: v for i, v in before.items() if i not in ids}
        assert store.sentence_vectors(ids) == {}
        kept_ids = list(snapshot(store))
        assert len(store.sentence_vectors(kept_ids)) > 0
        assert store.revision() != revision  # the keyword index is rebuilt without it
        assert gone.exists()  # the file itself is not the indexer's to delete
        assert Indexer(store).remove(str(gone.resolve())).removed == 0


def test_rewriting_a_passage_drops_metadata_keys_it_no_longer_has(settings: Settings) -> None:
    with Store.open(settings, write=True) as store:
        meta = {"source": "/x/a.txt", "path": "a.txt", "context": "Q?", "page": 2}
        vector = store.embedder.embed(["Some text."])
        store.upsert([("a-1", "Some text.", meta)], vector)  # type: ignore[list-item]
        store.upsert([("a-1", "Some text.", {"source": "/x/a.txt", "path": "a.txt"})], vector)
        assert store.get(["a-1"])["a-1"][1] == {"source": "/x/a.txt", "path": "a.txt"}


def test_a_citation_names_the_page_of_the_sentence_it_marks(
    settings: Settings, tmp_path: Path
) -> None:
    # Short pages: one passage holds all three, and used to cite page 1 for all of them.
    pdf = tmp_path / "ferry.pdf"
    make_pdf(
        pdf,
        [
            "Ferry timetable. The first ferry leaves at 06:10.",
            "Fares. An adult ticket costs 4 pounds.",
            "Bicycles. Bicycles travel free of charge.",
        ],
        title="Untitled",
    )
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([pdf])
        [(id_, text, meta)] = list(store.records())
    assert meta["page"] == 1 and meta["page_end"] == 3
    assert meta["title"] == "Ferry timetable. The first ferry leaves at 06:10."  # not "Untitled"
    passage = Passage(1, id_, text, dict(meta), 0.0)
    for sentence, page in (("The first ferry", 1), ("An adult ticket", 2), ("Bicycles travel", 3)):
        start = text.index(sentence)
        assert passage.citation(1, (start, start + len(sentence))).page == page, sentence
    assert passage.citation(1).page == 1  # no sentence marked: where the passage starts
