"""Query latency per stage as the store grows from 1e3 to 1e6 passages (offline answerer).

Run: .venv/bin/python bench/scale.py [--sizes 1000,10000,100000,1000000] [--json out.json]
     [--plot latency.png]

Starts `chroma run` on a free loopback port, ingests the article for real, then grows the
collection with SYNTHETIC passages: texts of random words from a neutral vocabulary, vectors
from a pool of 1,000 such texts embedded for real, plus a little noise (so a million rows
take minutes, not hours of embedding). At each size it asks the 40 evaluation questions
twice (first pass: the passages' sentences are new to the answerer; second pass: cached) and
times each stage separately: query embedding, dense search, BM25, fusion, the answerer, and
the whole ``ask``. Also reports the keyword index's build time and this process's memory.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, chroma_running, record, rss_mb

from ingest.indexer import Indexer
from rag.api import Pipeline
from rag.documents import refresh as refresh_documents
from rag.evaluation.metrics import percentile
from rag.retrieval.hybrid import reciprocal_rank_fusion
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store

VOCABULARY = [
    "harbor",
    "ledger",
    "orchard",
    "turbine",
    "quarry",
    "meadow",
    "signal",
    "archive",
    "lantern",
    "canal",
    "furnace",
    "vineyard",
    "glacier",
    "kiln",
    "pylon",
    "estuary",
    "mill",
    "granary",
    "foundry",
    "tram",
    "aqueduct",
    "loom",
    "dune",
    "parish",
    "sawmill",
    "cistern",
    "jetty",
    "beacon",
    "tannery",
    "brewery",
    "pasture",
    "ferry",
    "smithy",
    "depot",
]


def synthetic_text(rng: random.Random) -> str:
    sentences = [
        " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(8, 14))).capitalize() + "."
        for _ in range(rng.randint(2, 4))
    ]
    return " ".join(sentences) + f" Record {rng.randint(0, 10**9)}."


def grow(store: Store, target: int, pool: tuple[list[str], np.ndarray], rng: random.Random) -> None:
    """Add synthetic passages until the collection holds ``target``."""
    texts, vectors = pool
    noise = np.random.default_rng(rng.randint(0, 2**31))
    have = store.count()
    batch = store.batch_size
    sources: set[str] = set()
    while have < target:
        n = min(batch, target - have)
        picks = [rng.randrange(len(texts)) for _ in range(n)]
        chosen = vectors[picks] + noise.normal(0, 0.02, (n, vectors.shape[1])).astype(np.float32)
        chosen /= np.linalg.norm(chosen, axis=1, keepdims=True)
        documents = [texts[p] + f" Entry {have + i}." for i, p in enumerate(picks)]
        records = [
            (
                f"synthetic-{have + i}",
                documents[i],
                {
                    "source": f"synthetic/{(have + i) // 100}.txt",
                    "title": "Synthetic record",
                    "chunk_index": (have + i) % 100,
                    "start": 0,
                    "end": len(documents[i]),
                },
            )
            for i in range(n)
        ]
        store.upsert(records, chosen)
        sources.update(str(r[2]["source"]) for r in records)
        have += n
    refresh_documents(store, sources)  # as ingest would: the documents list shows them
    store.bump_revision()


def grown(store: Store, sizes: list[int], rng: random.Random) -> Iterator[tuple[int, float]]:
    """The article ingested for real, then the store grown to each size in turn.

    Yields the passages it holds and the seconds the growing took.
    """
    Indexer(store).ingest([DEFAULT_CORPUS])
    texts = [synthetic_text(rng) for _ in range(1000)]
    pool = (texts, np.asarray(store.embedder.embed(texts), dtype=np.float32))
    print("SYNTHETIC passages beyond the article: random-word texts, pooled real vectors")
    for size in sizes:
        started = time.perf_counter()
        grow(store, size, pool, rng)
        yield store.count(), time.perf_counter() - started


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 2), "p95": round(percentile(values, 95), 2)}


NEW_DOCUMENT = (
    "Orchard notes\n\nThe Kelso orchard grew 41 kinds of pear in 1911, most of them for cider.\n"
)


def measure(settings: Settings, questions: list[str], scratch: Path) -> dict[str, Any]:
    """Stage timings (ms) over the questions, and what a server pays around them.

    First a restart (the pipeline opened, the keyword index loaded or built, one answer);
    last one more document added as a server adds an upload, and the first answer after it.
    """
    opened = time.perf_counter()
    with Pipeline.open(settings) as pipeline:
        pipeline.ask(questions[0])
        restart_s = time.perf_counter() - opened
        cached = pipeline.store.embedder
        plain = getattr(cached, "inner", cached)  # query embedding timed without the cache
        if hasattr(cached, "clear"):
            cached.clear()  # the first pass pays for every query and sentence vector
        retriever = pipeline.retriever
        started = time.perf_counter()
        index = retriever._keyword_index()
        build_s = time.perf_counter() - started
        stages: dict[str, list[float]] = {
            k: [] for k in ("embed", "dense", "bm25", "fusion", "answer_first", "answer_warm")
        }
        ask: dict[str, list[float]] = {"first": [], "warm": []}
        n = max(retriever.candidates, 5 * retriever.k)
        for question in questions:
            t0 = time.perf_counter()
            vector = plain.embed_queries([question])
            t1 = time.perf_counter()
            dense = pipeline.store.nearest(vector, n)
            t2 = time.perf_counter()
            keyword = [id_ for id_, _ in index.search(question, n)]
            t3 = time.perf_counter()
            reciprocal_rank_fusion([dense[0], keyword])
            t4 = time.perf_counter()
            stages["embed"].append((t1 - t0) * 1000)
            stages["dense"].append((t2 - t1) * 1000)
            stages["bm25"].append((t3 - t2) * 1000)
            stages["fusion"].append((t4 - t3) * 1000)
        for key in ("first", "warm"):
            for question in questions:
                started = time.perf_counter()
                answer = pipeline.ask(question)
                ask[key].append((time.perf_counter() - started) * 1000)
                stages[f"answer_{key}"].append(answer.timings.generate_ms)
        document = scratch / f"orchard-{pipeline.store.count()}.txt"
        document.write_text(NEW_DOCUMENT)
        started = time.perf_counter()
        Indexer(pipeline.store).ingest([document])
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        after = pipeline.ask("How many kinds of pear did the Kelso orchard grow?")
        after_s = time.perf_counter() - started
        assert "41 kinds" in after.answer, after.answer
    return {
        # Opening the pipeline and answering once: what a restarted server does first.
        "restart_first_answer_s": round(restart_s, 2),
        # The keyword index loaded from disk (or built, the first time) by a fresh pipeline.
        "keyword_index_s": round(build_s, 2),
        "ingest_one_document_s": round(ingest_s, 2),
        "first_answer_after_ingest_s": round(after_s, 3),
        "stages_ms": {k: summary(v) for k, v in stages.items()},
        "ask_ms": {k: summary(v) for k, v in ask.items()},
        "rss_mb": rss_mb(),
    }


def plot(
    results: list[dict[str, Any]], path: Path, before: list[dict[str, Any]] | None = None
) -> None:
    """Latency by stage against store size, log-log; ``before`` adds the old BM25 and ask."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["passages"] for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for stage in ("embed", "dense", "bm25", "fusion", "answer_warm"):
        ax.plot(sizes, [r["stages_ms"][stage]["p50"] for r in results], marker="o", label=stage)
    ax.plot(sizes, [r["ask_ms"]["warm"]["p50"] for r in results], marker="s", lw=2, label="ask")
    if before:
        old = [r["passages"] for r in before]
        ax.plot(old, [r["stages_ms"]["bm25"]["p50"] for r in before], "k:", label="bm25 before")
        ax.plot(old, [r["ask_ms"]["warm"]["p50"] for r in before], "k--", label="ask before")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages in the store")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("Query latency by stage (offline answerer, 2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument(
        "--db", type=Path, help="Keep Chroma's data here (reused if it exists: a grown store)."
    )
    parser.add_argument(
        "--from", dest="sources", type=Path, nargs="+", help="Only plot these earlier --json files."
    )
    parser.add_argument("--before", type=Path, help="With --from: an older run to draw dashed.")
    args = parser.parse_args()
    if args.sources:
        rows = sorted(
            (r for f in args.sources for r in json.loads(f.read_text())),
            key=lambda r: r["passages"],
        )
        before = json.loads(args.before.read_text()) if args.before else None
        plot(rows, args.plot or Path("scale.png"), before)
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]

    root = Path(tempfile.mkdtemp(prefix="rag-scale-"))
    db = args.db or root / "db"
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "eval" / "sternik.jsonl").read_text().splitlines()
        if line.strip()
    ]
    results: list[dict[str, Any]] = []
    with chroma_running(db) as port:
        settings = Settings(data_dir=root / "data", chroma_host="127.0.0.1", chroma_port=port)
        for _ in range(100):
            try:
                store = Store.open(settings, write=True)
                break
            except Exception:
                time.sleep(0.3)
        print(f"Chroma data: {db}")
        for passages, grow_s in grown(store, sizes, random.Random(1)):
            figures = {"passages": passages, "write_s": round(grow_s, 1)}
            figures |= measure(settings, questions, root)
            record(results, figures, args.json)
        store.close()
    print(
        f"{'passages':>10} {'embed':>7} {'dense':>7} {'bm25':>7} {'fusion':>7} "
        f"{'answer':>7} {'ask p50':>8} {'ask p95':>8} {'first p50':>9} {'index s':>8} {'RSS MB':>7}"
        f" {'restart s':>9} {'after ingest s':>14}"
    )
    for r in results:
        s = r["stages_ms"]
        print(
            f"{r['passages']:>10} {s['embed']['p50']:>7} {s['dense']['p50']:>7} "
            f"{s['bm25']['p50']:>7} {s['fusion']['p50']:>7} {s['answer_warm']['p50']:>7} "
            f"{r['ask_ms']['warm']['p50']:>8} {r['ask_ms']['warm']['p95']:>8} "
            f"{r['ask_ms']['first']['p50']:>9} {r['keyword_index_s']:>8} {r['rss_mb']:>7}"
            f" {r['restart_first_answer_s']:>9} {r['first_answer_after_ingest_s']:>14}"
        )
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
