"""The posting-list search scores exactly as bm25s's own retrieve does, at any corpus size."""

import bm25s
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.bm25 import BM25Index

WORDS = [f"w{i}" for i in range(60)] + ["border", "uzbek", "kilometers", "long", "the"]
texts = st.lists(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join),
    min_size=1,
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(texts, st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join))
def test_search_matches_bm25s(corpus: list[str], query: str) -> None:
    index = BM25Index([f"d{i}" for i in range(len(corpus))], corpus)
    mine = index.search(query, 10)
    tokens = bm25s.tokenize([query], stemmer=index._stemmer, return_ids=False, show_progress=False)
    if not tokens[0]:
        assert mine == []
        return
    _, scores = index._index.retrieve(
        tokens, k=min(10, len(corpus)), show_progress=False, n_threads=1
    )
    theirs = [float(s) for s in scores[0] if s > 0]
    assert len(mine) == len(theirs)
    assert all(abs(a - b) < 1e-3 for (_, a), b in zip(mine, theirs, strict=True))
    assert all(s > 0 for _, s in mine)
