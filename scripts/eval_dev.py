"""Score the shipped answerer on one split of the development set, end to end.

Run: .venv/bin/python scripts/eval_dev.py [--split test] [--docs real|written|all] [--out DIR]

The documents are ingested into a fresh store with ``rag ingest`` and the split's questions
answered and scored with ``rag eval`` (its metrics are printed as they are), then each
answer is counted right or wrong: an answerable question is answered right when the answer
holds the reference or cites a passage holding the gold evidence; an unanswerable one when
it is declined. ``real`` is the documentation pages of ``eval/dev/docs-real`` (Debian's
python3-doc, postgresql-doc, sqlite3-doc and git-doc), ``written`` the six documents written
for the set. ``eval/sternik.jsonl`` is not read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "eval" / "dev"
DOCS = {"real": [DEV / "docs-real"], "written": [DEV / "docs"]}
DOCS["all"] = DOCS["real"] + DOCS["written"]
RAG = str(Path(sys.executable).parent / "rag")


def rows(split: str, docs: list[Path]) -> list[dict[str, Any]]:
    """The split's questions about the given documents."""
    names = {p.name for folder in docs for p in folder.iterdir()}
    found = []
    for path in sorted(DEV.glob("questions-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("split") == split and row.get("doc") in names:
                    found.append(row)
    return found


def right(row: dict[str, Any]) -> bool:
    """Whether an answer handled its question (see the module docstring)."""
    scores = row["scores"]  # the dataset's "answerable" (the row's own is the answer's)
    if scores["answerable"] is False:
        return bool(scores["declined"])
    if scores["declined"]:
        return False
    return bool(scores.get("contains_reference") or scores.get("gold_cited"))


def groups(row: dict[str, Any]) -> list[str]:
    """The groups a question is counted in."""
    names = ["all", "answerable" if row["scores"]["answerable"] else "unanswerable"]
    if row.get("kind") in ("option", "default"):
        names.append("option/default")
    if row.get("history"):
        names.append("with history")
    if row.get("lang", "en") != "en":
        names.append("ru/de")
    return names


def main() -> None:
    """Ingest, answer, score, count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test", choices=["train", "test"])
    parser.add_argument("--docs", default="real", choices=sorted(DOCS))
    parser.add_argument("--out", type=Path, help="keep the store, results and report here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="eval-dev-"))
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RAG_DATA_DIR": str(out / "data")}
    docs = DOCS[args.docs]
    dataset = out / f"dev-{args.split}.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows(args.split, docs)))
    subprocess.run([RAG, "ingest", *map(str, docs)], env=env, check=True, capture_output=True)
    results, metrics = out / "results.jsonl", out / "metrics.json"
    command = [RAG, "eval", str(dataset), "--out", str(results), "--metrics", str(metrics)]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    print(json.dumps(json.loads(metrics.read_text()), indent=1))
    totals, hits = Counter[str](), Counter[str]()
    for line in results.read_text().splitlines():
        row = json.loads(line)
        for group in groups(row):
            totals[group] += 1
            hits[group] += right(row)
    print(f"right answers or declines ({args.split} split, {args.docs} documents):")
    for group, total in totals.items():
        print(f"  {group}: {hits[group]}/{total} ({hits[group] / total:.1%})")
    print(f"results: {results}")


if __name__ == "__main__":
    main()
