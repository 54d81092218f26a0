"""Our hybrid retrieval beside LangChain's hybrid search, at 1e4 and 1e5 passages.

Run: .venv/bin/python -m pip install -e '.[bench]'    (the peer's packages)
     .venv/bin/python bench/peer_scale.py [--sizes 10000,100000] [--json out.json]

The peer is hybrid search as LangChain's documentation assembles it: an ``EnsembleRetriever``
(``langchain_classic.retrievers``, weighted reciprocal rank fusion) over a ``BM25Retriever``
(``langchain_community``, rank_bm25's BM25Okapi, default preprocessing ``str.split``) and the
``langchain_chroma.Chroma`` retriever of the same collection with the same bundled embedding
model, weights 0.5/0.5, k=4 each (the ensemble returns their union; its first 4 are scored).
Ours: ``HybridRetriever`` (k=4): Chroma dense + bm25s over the store, fused by RRF.

Like bench/scale.py (whose generator this imports), it starts `chroma run`, ingests the
article for real and grows the collection with SYNTHETIC passages (random-word texts, pooled
real vectors plus noise). Both sides embed every question (the embedder's cache is bypassed).
Per size, in this process: each side's index build, twice, in the order ours, peer, peer,
ours (ours: ``prepare()``, which reads every passage from Chroma and builds the keyword index;
peer: ``Chroma.get()`` of every passage, 5,000 at a time as ours reads them,
``BM25Retriever.from_documents`` and the ensemble); then the 40 questions of
eval/sternik.jsonl after one warm-up each, two passes, the two sides interleaved question by
question (which goes first alternates), p50/p95 ms of ``invoke``; then two more passes with
the questions' vectors computed beforehand (retrieval alone: the model's time is the same for
both and, on a shared machine, the noisiest); recall@1/@4 on the answerable questions.
Memory: each side again in its own process (this script with --side), resident memory after
its build and two passes (VmRSS; VmHWM, the peak; and VmRSS before the build, after loading
the embedder), so neither side's objects count for the other. Ratios are peer / ours.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, chroma_running, peak_rss_mb, record, rss_mb
from scale import grown, summary

from rag.embeddings import Embedder, Vectors
from rag.evaluation.metrics import first_hit, recall_at_k
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import Settings
from rag.store import PAGE, Store

K = 4
SIDES = ("ours", "peer")


def load_questions() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in (ROOT / "eval" / "sternik.jsonl").read_text().splitlines()
        if line.strip()
    ]


class QuestionVectors:
    """The store's model without its cache; after ``remember``, the questions' vectors come
    from memory, so both sides' ``invoke`` times retrieval alone (on a loaded machine the
    model's time is the noisiest part, and the same for both)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.known: dict[str, Vectors] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if texts and all(t in self.known for t in texts):
            return np.vstack([self.known[t] for t in texts])
        return self.inner.embed_queries(texts)

    def remember(self, questions: Sequence[str]) -> None:
        self.known = {q: self.inner.embed_queries([q])[0] for q in questions}

    def forget(self) -> None:
        self.known = {}


def open_store(settings: Settings, write: bool = False) -> tuple[Store, QuestionVectors]:
    """The store, its embedder without the vector cache (both sides embed each question)."""
    store = Store.open(settings, write=write)
    embedder = QuestionVectors(getattr(store.embedder, "inner", store.embedder))
    store.embedder = embedder
    return store, embedder


def build_ours(store: Store) -> tuple[HybridRetriever, dict[str, float]]:
    retriever = HybridRetriever(store=store, k=K)
    started = time.perf_counter()
    retriever.prepare()
    return retriever, {"build_s": time.perf_counter() - started}


def build_peer(store: Store) -> tuple[Any, dict[str, float]]:
    """LangChain's hybrid search over the same collection, as its docs assemble it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # langchain_community announces its sunset on import
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
    from langchain_core.documents import Document

    vectorstore = store.as_langchain()
    started = time.perf_counter()
    documents: list[Any] = []
    while True:  # a page at a time, as the store reads: Chroma refuses one get of 1e5 rows
        found = vectorstore.get(
            limit=PAGE, offset=len(documents), include=["documents", "metadatas"]
        )
        columns = zip(found["ids"], found["documents"], found["metadatas"], strict=True)
        documents += [
            Document(page_content=text or "", metadata=meta or {}, id=id_)
            for id_, text, meta in columns
        ]
        if len(found["ids"]) < PAGE:
            break
    read = time.perf_counter()
    bm25 = BM25Retriever.from_documents(documents, k=K)
    ensemble = EnsembleRetriever(
        retrievers=[bm25, vectorstore.as_retriever(search_kwargs={"k": K})], weights=[0.5, 0.5]
    )
    done = time.perf_counter()
    return ensemble, {"build_s": done - started, "read_s": read - started, "bm25_s": done - read}


BUILDERS = {"ours": build_ours, "peer": build_peer}


def ask(retriever: Any, question: str) -> tuple[float, list[str]]:
    """Milliseconds of ``invoke`` and the first k passages' texts."""
    started = time.perf_counter()
    documents = retriever.invoke(question)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, [d.page_content for d in documents[:K]]


def side_process(side: str, settings: Settings, questions: list[str]) -> dict[str, float]:
    """One side alone: build, the questions twice; its memory (run with --side)."""
    store, _ = open_store(settings)
    store.embedder.embed_queries(["warm up"])  # the model is loaded before the first reading
    before = rss_mb()
    retriever, timings = BUILDERS[side](store)
    for question in ["warm up", *questions, *questions]:
        retriever.invoke(question)
    return {
        "rss_before_build_mb": before,
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "build_s_own_process": round(timings["build_s"], 2),
    }


def measure(store: Store, embedder: QuestionVectors, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Build times, interleaved query latency and recall of both sides in this process."""
    builds: dict[str, list[dict[str, float]]] = {s: [] for s in SIDES}
    retrievers: dict[str, Any] = {}
    for side in ("ours", "peer", "peer", "ours"):
        retrievers.pop(side, None)
        gc.collect()
        retrievers[side], timings = BUILDERS[side](store)
        builds[side].append(timings)
    times: dict[str, dict[str, list[float]]] = {s: {"embedded": [], "cached": []} for s in SIDES}
    ranks: dict[str, list[int | None]] = {s: [] for s in SIDES}
    turn = 0
    for mode in ("embedded", "cached"):
        if mode == "cached":
            embedder.remember([row["question"] for row in rows])
        for retriever in retrievers.values():
            retriever.invoke("warm up")
        for pass_ in range(2):
            for row in rows:
                order = SIDES if turn % 2 == 0 else SIDES[::-1]
                turn += 1
                for side in order:
                    elapsed, texts = ask(retrievers[side], row["question"])
                    times[side][mode].append(elapsed)
                    scored = mode == "embedded" and pass_ == 0
                    if scored and row.get("answerable", True) and row.get("evidence"):
                        ranks[side].append(first_hit(texts, row["evidence"]))
    embedder.forget()
    figures: dict[str, Any] = {}
    for side in SIDES:
        figures[side] = {
            "build_s": round(statistics.median(b["build_s"] for b in builds[side]), 2),
            "builds": [{k: round(v, 2) for k, v in b.items()} for b in builds[side]],
            "latency_ms": summary(times[side]["embedded"]),
            "retrieval_ms": summary(times[side]["cached"]),
            "answerable": len(ranks[side]),
            "recall@1": round(statistics.fmean(recall_at_k(r, 1) for r in ranks[side]), 3),
            "recall@4": round(statistics.fmean(recall_at_k(r, 4) for r in ranks[side]), 3),
        }
    return figures


def run_side(side: str, settings: Settings) -> dict[str, float]:
    """This script in a fresh process for one side; its JSON line back."""
    env = {**os.environ, "RAG_DATA_DIR": str(settings.data_dir)}
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--side",
            side,
            "--port",
            str(settings.chroma_port),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("inf")


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| passages | side | build s | invoke p50 / p95 ms | retrieval alone p50 / p95 ms "
        "| RSS MB (peak) | RSS before build | recall@1 | recall@4 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        for side in SIDES:
            s = r[side]
            lines.append(
                f"| {r['passages']:,} | {side} | {s['build_s']} "
                f"| {s['latency_ms']['p50']} / {s['latency_ms']['p95']} "
                f"| {s['retrieval_ms']['p50']} / {s['retrieval_ms']['p95']} "
                f"| {s['rss_mb']:,} ({s['peak_rss_mb']:,}) | {s['rss_before_build_mb']:,} "
                f"| {s['recall@1']} | {s['recall@4']} |"
            )
        q = r["peer_over_ours"]
        lines.append(
            f"| {r['passages']:,} | **peer / ours** | **{q['build_s']}x** "
            f"| **{q['latency_p50']}x** / {q['latency_p95']}x "
            f"| **{q['retrieval_p50']}x** / {q['retrieval_p95']}x "
            f"| **{q['rss']}x** (index's share: {q['rss_added']}x) | | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = load_questions()
    if args.side:
        settings = Settings(chroma_host="127.0.0.1", chroma_port=args.port)
        print(json.dumps(side_process(args.side, settings, [r["question"] for r in rows])))
        return

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="rag-peer-"))
    results: list[dict[str, Any]] = []
    with chroma_running(root / "db") as port:
        settings = Settings(data_dir=root / "data", chroma_host="127.0.0.1", chroma_port=port)
        store, embedder = open_store(settings, write=True)
        for passages, grow_s in grown(store, sizes, random.Random(1)):
            figures: dict[str, Any] = {
                "passages": passages,
                "write_s": round(grow_s, 1),
                "load_avg_1min": round(os.getloadavg()[0], 2),
            }
            figures |= measure(store, embedder, rows)
            gc.collect()
            for side in SIDES:
                figures[side] |= run_side(side, settings)
            ours, peer = figures["ours"], figures["peer"]
            figures["peer_over_ours"] = {
                "build_s": ratio(peer["build_s"], ours["build_s"]),
                "latency_p50": ratio(peer["latency_ms"]["p50"], ours["latency_ms"]["p50"]),
                "latency_p95": ratio(peer["latency_ms"]["p95"], ours["latency_ms"]["p95"]),
                "retrieval_p50": ratio(peer["retrieval_ms"]["p50"], ours["retrieval_ms"]["p50"]),
                "retrieval_p95": ratio(peer["retrieval_ms"]["p95"], ours["retrieval_ms"]["p95"]),
                "rss": ratio(peer["rss_mb"], ours["rss_mb"]),
                "rss_added": ratio(
                    peer["rss_mb"] - peer["rss_before_build_mb"],
                    ours["rss_mb"] - ours["rss_before_build_mb"],
                ),
            }
            figures["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
            record(results, figures, args.json)
        store.close()
    print(table(results))


if __name__ == "__main__":
    main()
