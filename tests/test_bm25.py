"""The posting-list search scores exactly as bm25s's own retrieve does, at any corpus size."""

import warnings

import bm25s
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.retrieval.bm25 import BM25Index

WORDS = [f"w{i}" for i in range(60)] + ["border", "uzbek", "kilometers", "long", "the"]
texts = st.lists(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join),
    min_size=1,
    max_size=120,
)


@settings(max_examples=max(200, settings().max_examples), deadline=None)
@given(texts, st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join))
@example(corpus=["the"], query="w0")  # a store of stop words only: bm25s divided by 0
def test_search_matches_bm25s(corpus: list[str], query: str) -> None:
    index = BM25Index([f"d{i}" for i in range(len(corpus))], corpus)
    mine = index.search(query, 10)
    tokens = bm25s.tokenize([query], stemmer=index._stemmer, return_ids=False, show_progress=False)
    terms = bm25s.tokenize(corpus, stemmer=index._stemmer, show_progress=False).vocab
    if not tokens[0] or not terms:
        assert mine == []
        return
    _, scores = index._index.retrieve(
        tokens, k=min(10, len(corpus)), show_progress=False, n_threads=1
    )
    theirs = [float(s) for s in scores[0] if s > 0]
    assert len(mine) == len(theirs)
    assert all(abs(a - b) < 1e-3 for (_, a), b in zip(mine, theirs, strict=True))
    assert all(s > 0 for _, s in mine)


@pytest.mark.parametrize("query", ["w0", "the", "border kilometers", ""])
def test_a_store_of_stop_words_only_finds_nothing_and_does_not_warn(query: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        index = BM25Index(["d0", "d1"], ["the", "a of, the!"])
        assert index.search(query, 10) == []
        assert index.idf("border") == index.idf("w0") > 0
