"""This pipeline beside the plain one from LangChain's tutorials, on the evaluation set.

Run: .venv/bin/python bench/baseline.py [--json out.json]

The baseline is the tutorials' RAG: a Chroma vector store (``langchain_chroma.Chroma``, the
same collection and the same bundled embedding model), ``similarity_search(question, k=4)``,
and the four passages stuffed into a prompt (no LLM runs here, so its "answer" is the stuffed
prompt). Ours: hybrid retrieval and the extractive answer with citations (``Pipeline.ask``).
Recall@k counts a question when a passage among the first k holds its gold evidence (the
evaluation's definition); the answerable questions of eval/sternik.jsonl are used. Both run
in one process, over the same store, interleaved question by question; latencies are medians.
Targets: ours >= baseline + 0.25 recall@1, at <= 1.5 x its latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from ingest.indexer import Indexer
from rag.api import Pipeline
from rag.evaluation.metrics import first_hit, percentile, recall_at_k
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Answer the question using only this context:\n\n{context}\n\nQuestion: {question}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = [
        json.loads(line)
        for line in (ROOT / "eval" / "sternik.jsonl").read_text().splitlines()
        if line.strip()
    ]
    rows = [
        r for r in rows if r.get("answerable", True) and r.get("evidence") and not r.get("history")
    ]
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="rag-baseline-")) / "data")
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([DEFAULT_CORPUS])
    ranks: dict[str, list[int | None]] = {"baseline": [], "ours": []}
    times: dict[str, list[float]] = {"baseline": [], "ours": []}
    with Pipeline.open(settings) as pipeline:
        vectorstore = pipeline.store.as_langchain()
        pipeline.ask("warm up")
        vectorstore.similarity_search("warm up", k=4)
        for row in rows:
            question, evidence = row["question"], row["evidence"]
            started = time.perf_counter()
            documents = vectorstore.similarity_search(question, k=4)
            PROMPT.format(context="\n\n".join(d.page_content for d in documents), question=question)
            times["baseline"].append((time.perf_counter() - started) * 1000)
            ranks["baseline"].append(first_hit([d.page_content for d in documents], evidence))

            started = time.perf_counter()
            answer = pipeline.ask(question)
            times["ours"].append((time.perf_counter() - started) * 1000)
            found = pipeline.store.get(answer.retrieved)
            ranks["ours"].append(first_hit([found[i][0] for i in answer.retrieved], evidence))
    figures: dict[str, dict[str, float]] = {}
    for name in ("baseline", "ours"):
        figures[name] = {
            "questions": len(rows),
            "recall@1": round(statistics.fmean(recall_at_k(r, 1) for r in ranks[name]), 3),
            "recall@3": round(statistics.fmean(recall_at_k(r, 3) for r in ranks[name]), 3),
            "latency_p50_ms": round(statistics.median(times[name]), 2),
            "latency_p95_ms": round(percentile(times[name], 95), 2),
        }
    figures["ours_minus_baseline_recall@1"] = {
        "value": round(figures["ours"]["recall@1"] - figures["baseline"]["recall@1"], 3)
    }
    figures["latency_ratio_p50"] = {
        "value": round(figures["ours"]["latency_p50_ms"] / figures["baseline"]["latency_p50_ms"], 2)
    }
    print(json.dumps(figures, indent=2))
    print("targets: ours_minus_baseline_recall@1 >= 0.25, latency_ratio_p50 <= 1.5")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
