"""Keyword search (BM25 with English stemming) over exactly what the store holds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class BM25Index:
    """An in-memory BM25 index; build it from the store's passages, search by ids."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s
        import Stemmer

        self.ids = list(ids)
        self._bm25s = bm25s
        self._stemmer = Stemmer.Stemmer("english")
        self._index = bm25s.BM25()
        if self.ids:
            tokens = bm25s.tokenize(list(texts), stemmer=self._stemmer, show_progress=False)
            self._index.index(tokens, show_progress=False)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a stemmed term; highest for unseen terms."""
        n = len(self.ids)
        token = self._index.vocab_dict.get(term) if self.ids else None
        df = 0
        if token is not None:
            indptr = self._index.scores["indptr"]
            df = int(indptr[token + 1] - indptr[token])
        return float(np.log((n - df + 0.5) / (df + 0.5) + 1.0))

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Up to ``n`` (id, score) pairs, best first; passages sharing no term are left out."""
        if not self.ids:
            return []
        tokens = self._bm25s.tokenize(
            [query], stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        if not tokens[0]:
            return []
        rows, scores = self._index.retrieve(
            tokens, k=min(n, len(self.ids)), show_progress=False, n_threads=1
        )
        return [
            (self.ids[int(row)], float(score))
            for row, score in zip(rows[0], scores[0], strict=True)
            if score > 0 and np.isfinite(score)
        ]
