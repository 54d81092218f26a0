"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused, as a LangChain retriever.

Dense search finds paraphrases; BM25 finds the rare exact words (names, numbers) that
small embedding models blur. The keyword index is the store's (``Store.keywords``), kept on
disk and matched to the store's revision, so both halves always search the same passages.

Multilingual embedders still prefer text in the question's own language: over English and
Russian documents, an English question ranks every English passage above the Russian one
that answers it. So when the store holds more than one script, the dense search also runs
within each script, and each script's best passages are added to the fused ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from rag.retrieval.keywords import KeywordIndex
from rag.store import Store

MIN_CANDIDATES = 20


class HybridRetriever(BaseRetriever):
    """Top-``k`` passages by reciprocal rank fusion of dense and BM25 rankings.

    A store of several scripts adds up to k/2 passages per script (see the module docstring).

    Example: ``HybridRetriever(store=Store.open(Settings())).invoke("Who is Sternik?")``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Store
    k: int = 4
    candidates: int = MIN_CANDIDATES

    _keywords: KeywordIndex | None = PrivateAttr(default=None)

    def _keyword_index(self) -> KeywordIndex:
        self._keywords = self.store.keywords()
        return self._keywords

    @property
    def _scripts(self) -> tuple[str, ...]:
        """The store's writing systems, when it holds more than one (see the module doc)."""
        written = set((self._keywords or self._keyword_index()).scripts) - {""}
        return tuple(sorted(written)) if len(written) > 1 else ()

    def prepare(self) -> None:
        """Build the keyword index now rather than on the first question (for servers)."""
        self._keyword_index()

    def idf(self, term: str) -> float:
        """How rare a stemmed term is in the store (BM25's idf); unseen terms are rarest.

        Read from the index the last search used: answering calls this for every question
        word right after retrieval, so it must not ask the store for its revision each time.
        """
        index = self._keywords or self._keyword_index()
        return index.idf(term)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        also: Sequence[str] = (),
    ) -> list[Document]:
        """Fused dense and keyword rankings of ``query`` and of any ``also`` queries.

        A follow-up is searched both with its conversation and alone (``also``), so its own
        new words ("And the Uzbek one?") are not drowned by the earlier turns'.
        """
        k = self.k if k is None else k
        queries = [q for q in (query, *also) if q.strip()]
        if k < 1 or not queries:
            return []
        keyword_index = self._keyword_index()
        n = max(self.candidates, 5 * k)
        vectors = self.store.embedder.embed_queries(queries)
        dense_rankings = self.store.nearest(vectors, n)
        by_script = [
            self.store.nearest(vectors[:1], n, where={"script": script})[0]
            for script in self._scripts
        ]
        keyword_rankings = [[id_ for id_, _ in keyword_index.search(q, n)] for q in queries]
        fused = reciprocal_rank_fusion([*dense_rankings, *keyword_rankings])[:k]
        # Each script's best passages join (at most k/2 more each): the question's own language
        # has the keyword ranking and the dense bias on its side, another has only meaning.
        chosen = {id_ for id_, _ in fused}
        for ranking in by_script:
            extra = [id_ for id_ in ranking[: (k + 1) // 2] if id_ not in chosen]
            fused += [(id_, 0.0) for id_ in extra]
            chosen.update(extra)
        dense_rank = {id_: r for r, id_ in enumerate(dense_rankings[0], 1)}
        keyword_rank = {id_: r for r, id_ in enumerate(keyword_rankings[0], 1)}
        records = self.store.get([id_ for id_, _ in fused])
        documents = []
        for id_, score in fused:
            if id_ not in records:
                continue  # deleted since the index was built; the next query's index knows
            text, metadata = records[id_]
            documents.append(
                Document(
                    id=id_,
                    page_content=text,
                    metadata={
                        **metadata,
                        "id": id_,
                        "score": score,
                        "dense_rank": dense_rank.get(id_),
                        "keyword_rank": keyword_rank.get(id_),
                    },
                )
            )
        return documents


# Reciprocal rank fusion: merges rankings without calibrating their scores.
RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K
) -> list[tuple[str, float]]:
    """Ids by the sum of 1 / (k + rank) over the rankings that hold them, best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, id_ in enumerate(ranking, 1):
            scores[id_] = scores.get(id_, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
