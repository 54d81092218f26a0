"""The keyword index kept on disk: the same scores as bm25s's in memory, kept across restarts,
updated by ingest without a rebuild, and never used for another revision of the store."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ingest.indexer import Indexer
from rag.retrieval.bm25 import BM25Index
from rag.retrieval.keywords import KeywordIndex
from rag.settings import Settings
from rag.store import Store

WORDS = [
    "border",
    "river",
    "mountain",
    "guard",
    "patrol",
    "treaty",
    "customs",
    "bridge",
    "valley",
    "harbor",
    "crane",
    "tonnes",
    "station",
    "signal",
    "archive",
    "ledger",
    "mill",
    "rye",
    "orchard",
    "pear",
    "storm",
    "keeper",
    "lighthouse",
    "vault",
]


def corpus(seed: int, n: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return [
        (f"{i:04d}-p", " ".join(rng.choices(WORDS, k=rng.randint(0, 30))), "latin")
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(6))
def test_scores_and_idf_match_bm25s(tmp_path: Path, seed: int) -> None:
    records = corpus(seed, 300)
    on_disk = KeywordIndex.build(tmp_path, records, "r1")
    in_memory = BM25Index([r[0] for r in records], [r[1] for r in records])
    rng = random.Random(seed)
    for _ in range(20):
        query = " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
        ours, theirs = on_disk.search(query, 10), in_memory.search(query, 10)
        # bm25s keeps float32 weights: scores agree to its precision.
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], abs=1e-3), query
        # Equal scores may come in another order; the sets of the clearly better agree.
        assert {i for i, s in ours if s > ours[-1][1] + 1e-3} == {
            i for i, s in theirs if s > theirs[-1][1] + 1e-3
        }
    for term in [*WORDS, "unseen"]:
        stem = term[:-1] if term.endswith("s") else term
        assert on_disk.idf(stem) == pytest.approx(in_memory.idf(stem))


def test_an_update_scores_as_a_fresh_build_of_the_same_passages(tmp_path: Path) -> None:
    records = corpus(7, 200)
    index = KeywordIndex.build(tmp_path / "a", records[:150], "r1")
    replaced = [(records[3][0], "lighthouse keeper storm storm", "latin")]
    updated = index.update([*records[150:], *replaced], [r[0] for r in records[10:20]], "r2")
    assert updated.revision == "r2" and len(updated.segments) == 2
    final = {r[0]: r for r in records if not "0010-p" <= r[0] < "0020-p"}
    final[replaced[0][0]] = replaced[0]
    fresh = KeywordIndex.build(tmp_path / "b", list(final.values()), "r2")
    assert (updated.passages, updated.total_length) == (fresh.passages, fresh.total_length)
    for query in ("lighthouse storm", "border guard", "vault ledger mill", "orchard"):
        assert updated.search(query, 50) == fresh.search(query, 50), query
    assert all(i not in {r[0] for r in records[10:20]} for i, _ in updated.search("river", 500))
    again = KeywordIndex.open(tmp_path / "a")  # what a restart reads
    assert again is not None and again.search("lighthouse storm", 5) == updated.search(
        "lighthouse storm", 5
    )


def test_a_store_keeps_its_index_across_restarts_and_ingest_updates_it(
    tmp_path: Path, article: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([article])
        built = store.keywords()
        assert built.passages == store.count()
    with Store.open(settings) as store:  # a restart: read from disk, not rebuilt
        reopened = store.keywords()
        assert [s.name for s in reopened.segments] == [s.name for s in built.segments]
    note = tmp_path / "pears.txt"
    note.write_text("Orchard notes\n\nThe Kelso orchard grew 41 kinds of pear in 1911.\n")
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([note])
        updated = KeywordIndex.open(settings.keywords_path)
        assert updated is not None and updated.revision == store.revision()
        # The old segment stays as it was; the new passage came in a segment of its own.
        assert [s.name for s in updated.segments][:1] == [s.name for s in built.segments]
        assert len(updated.segments) == 2 and updated.passages == store.count()
        pears = store.passage_ids(where={"filename": "pears.txt"})
        assert store.keywords().search("Kelso orchard pear", 1)[0][0] in pears
        note.unlink()
        Indexer(store).ingest([], prune=True)  # the file is gone: its passages go, index too
        assert store.keywords().search("Kelso orchard pear", 5) == []


def test_an_index_of_another_revision_is_never_used(tmp_path: Path, article: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([article])
        store.keywords()
    manifest = settings.keywords_path / "manifest.json"
    stale = json.loads(manifest.read_text())
    stale["revision"] = "written-by-someone-else"
    stale["passages"] = 1  # would skew every score if it were read
    manifest.write_text(json.dumps(stale))
    with Store.open(settings) as store:
        rebuilt = store.keywords()
        assert rebuilt.revision == store.revision() and rebuilt.passages == store.count()
    assert json.loads(manifest.read_text())["revision"] == rebuilt.revision  # and written


@pytest.fixture
def article() -> Path:
    from rag.settings import DEFAULT_CORPUS

    return Path(DEFAULT_CORPUS)
