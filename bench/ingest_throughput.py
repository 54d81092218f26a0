"""Ingest throughput against the embedding limit, and the cost of re-ingesting unchanged files.

Run: .venv/bin/python bench/ingest_throughput.py [--mb 3] [--json out.json]
     .venv/bin/python bench/ingest_throughput.py --corpus /usr/share/doc/nodejs/api/*.html

Writes a corpus of a few MB (the article's paragraphs, varied: numbers, names and sentence
order change from file to file), or takes the files given (--corpus), then in one run: (1)
parses them (the share of ingest that is loading); (2) embeds every passage the chunker
makes with the bundled model and nothing else, the physical limit of ingest on this CPU;
(3) runs the real ingest into an empty embedded store; (4) runs it again with nothing changed.
Targets: ingest >= 0.9 x embedding throughput; re-ingest <= 2% of the first ingest's time.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from ingest.chunking import Chunker
from ingest.indexer import Indexer
from ingest.loaders import load
from rag.embeddings import get_embedder
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store

NAMES = ["Tashkent", "Dushanbe", "Ashgabat", "Bishkek", "Astana", "Kabul", "Termez", "Osh"]


def write_corpus(folder: Path, megabytes: float, seed: int = 7) -> int:
    """Files of varied article text until ``megabytes`` are written; returns the file count."""
    rng = random.Random(seed)
    paragraphs = [p for p in DEFAULT_CORPUS.read_text().split("\n\n") if len(p) > 80]
    folder.mkdir(parents=True, exist_ok=True)
    written, count = 0, 0
    while written < megabytes * 2**20:
        body = []
        for paragraph in rng.sample(paragraphs, k=min(12, len(paragraphs))):
            sentences = re.split(r"(?<=[.!?])\s+", paragraph)
            rng.shuffle(sentences)
            text = " ".join(sentences)
            text = re.sub(r"\d+", lambda m: str(rng.randint(1, 9999)), text)
            text = re.sub(r"Tajikistan|Turkmenistan|Uzbekistan", lambda m: rng.choice(NAMES), text)
            body.append(text)
        content = f"Field report {count}\n\n" + "\n\n".join(body) + "\n"
        (folder / f"report-{count:04d}.txt").write_text(content)
        written += len(content.encode())
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=3.0, help="corpus size in MB")
    parser.add_argument("--corpus", type=Path, nargs="+", help="real files instead")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="rag-ingest-bench-"))
    corpus = root / "corpus"
    if args.corpus:
        corpus.mkdir()
        for path in args.corpus:
            shutil.copy(path, corpus / path.name)
        files = len(args.corpus)
    else:
        files = write_corpus(corpus, args.mb)
    settings = Settings(data_dir=root / "data")
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    started = time.perf_counter()
    documents = [load(path) for path in sorted(corpus.iterdir())]
    parse_s = time.perf_counter() - started
    texts = [c.text for document in documents for c in chunker.chunk(document)]
    size_mb = sum(p.stat().st_size for p in corpus.iterdir()) / 2**20
    print(f"corpus: {files} files, {size_mb:.2f} MB, {len(texts)} passages")

    embedder = get_embedder(settings.embedding_provider, settings.embedding_model)
    embedder.embed(texts[:32])  # load the model before timing, as the ingest's store does
    started = time.perf_counter()
    for lo in range(0, len(texts), 256):
        embedder.embed(texts[lo : lo + 256])
    embed_s = time.perf_counter() - started

    with Store.open(settings, write=True) as store:
        store.embedder.embed(texts[:32])
        started = time.perf_counter()
        first = Indexer(store).ingest([corpus])
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        again = Indexer(store).ingest([corpus])
        reingest_s = time.perf_counter() - started
        stored = store.count()
    counts = (first.total("added"), len(texts), stored, again.total("added"))
    assert counts[0] == counts[1] == counts[2] and counts[3] == 0, (
        "added, passages chunked, stored, added again",
        counts,
    )

    figures = {
        "files": files,
        "megabytes": round(size_mb, 2),
        "passages": len(texts),
        "embed_only_passages_per_s": round(len(texts) / embed_s, 1),
        "ingest_passages_per_s": round(len(texts) / ingest_s, 1),
        "ingest_to_embedding_ratio": round(embed_s / ingest_s, 3),
        "ingest_s": round(ingest_s, 2),
        "parse_s": round(parse_s, 2),
        "parse_share_of_ingest": round(parse_s / ingest_s, 3),
        "reingest_s": round(reingest_s, 3),
        "reingest_share_of_ingest": round(reingest_s / ingest_s, 4),
    }
    for name, value in figures.items():
        print(f"{name:<28}{value}")
    print("targets: ingest_to_embedding_ratio >= 0.9, reingest_share_of_ingest <= 0.02")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
