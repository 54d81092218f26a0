"""BM25 with English stemming, in memory: word rarity over texts that are not a store.

``rag eval --answers`` weighs words by the passages an answers file came with. The store's
own keyword index is kept on disk (``rag.retrieval.keywords``), which scores alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.text import stemmer


class BM25Index:
    """An in-memory BM25 index over texts with ids; search by ids, or ask a term's idf."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s

        self.ids = list(ids)
        self._bm25s = bm25s
        self._stemmer = stemmer()
        self._index = bm25s.BM25()
        # A store whose passages hold no terms at all (only stop words or punctuation) has an
        # average passage length of 0, which bm25s divides by: leave such an index empty.
        self._indexed = False
        if self.ids:
            tokens = bm25s.tokenize(list(texts), stemmer=self._stemmer, show_progress=False)
            if tokens.vocab:
                self._index.index(tokens, show_progress=False)
                self._indexed = True

    @classmethod
    def over(cls, texts: Sequence[str]) -> BM25Index:
        """An index of texts that need no ids: for word rarity (``idf``) without a store."""
        unique = sorted(set(texts))
        return cls([str(i) for i in range(len(unique))], unique)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a stemmed term; highest for unseen terms."""
        n = len(self.ids)
        token = self._index.vocab_dict.get(term) if self._indexed else None
        df = 0
        if token is not None:
            indptr = self._index.scores["indptr"]
            df = int(indptr[token + 1] - indptr[token])
        return float(np.log((n - df + 0.5) / (df + 0.5) + 1.0))

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Up to ``n`` (id, score) pairs, best first; passages sharing no term are left out.

        Scores are summed over the query terms' posting lists only (bm25s keeps each term's
        per-passage BM25 weight), so a query costs the length of its terms' postings, not
        the size of the store: at a million passages that is the difference between
        milliseconds and a pass over a million scores.
        """
        if not self._indexed:
            return []
        tokens = self._bm25s.tokenize(
            [query], stemmer=self._stemmer, return_ids=False, show_progress=False
        )[0]
        vocab = self._index.vocab_dict
        found = [vocab[t] for t in tokens if t in vocab]  # a repeated word counts twice
        if not found:
            return []
        matrix = self._index.scores
        spans = [(int(matrix["indptr"][t]), int(matrix["indptr"][t + 1])) for t in found]
        rows = np.concatenate([matrix["indices"][a:b] for a, b in spans])
        weights = np.concatenate([matrix["data"][a:b] for a, b in spans])
        if rows.size == 0:
            return []
        unique, inverse = np.unique(rows, return_inverse=True)
        totals = np.bincount(inverse, weights=weights)
        k = min(n, totals.size)
        best = np.argpartition(-totals, k - 1)[:k]
        best = best[np.lexsort((unique[best], -totals[best]))]
        return [
            (self.ids[int(unique[i])], float(totals[i]))
            for i in best
            if totals[i] > 0 and np.isfinite(totals[i])
        ]
