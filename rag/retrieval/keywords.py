"""BM25 keyword search kept on disk beside the store, so a restart does not rebuild it.

The index is a list of segments, each written once: the passages' ids (sorted), their
lengths, and a CSR of term hash -> (passage, count), all memory-mapped. Ingest adds a segment
for the passages it wrote and marks the ones it removed dead (a new "alive" mask for each
segment it touched, so a reader holding the old one is not disturbed). A manifest names the
segments and the store revision they match; a reader whose store has another revision
rebuilds, so it never searches a stale index. Scores are BM25 as bm25s computes them (Lucene's
idf, k1 1.5, b 0.75), from counts at query time, so new passages need no rewrite of old
segments: the statistics they change (passage count, average length) live in the manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from rag.text import stemmer

FORMAT = 1
K1, B = 1.5, 0.75
BATCH = 100_000  # passages per segment when a whole store is indexed (bounds build memory)
MAX_SEGMENTS = 24  # more, and the next update rebuilds into few large ones
MAX_CACHED_TERMS = 100_000  # idf lookups kept per index (a term costs ~100 bytes)


@contextlib.contextmanager
def keyword_lock(folder: Path) -> Iterator[None]:
    """One writer of the index at a time, across processes (readers take no lock)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def term_hash(term: str) -> int:
    """A stable 64-bit name for a term (collisions: about one in 10^19 per pair)."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")


def tokenize(texts: Sequence[str], ids: bool) -> Any:
    """bm25s's tokenizer with English stop words and stemming, for passages and queries.

    The same as the in-memory index's (``rag.retrieval.bm25``), so the two score alike.
    """
    import bm25s

    return bm25s.tokenize(list(texts), stemmer=stemmer(), return_ids=ids, show_progress=False)


@dataclass
class Segment:
    """One written batch of passages (arrays memory-mapped from its folder)."""

    name: str
    ids: np.ndarray  # sorted, bytes
    lengths: np.ndarray  # terms per passage
    terms: np.ndarray  # sorted term hashes
    starts: np.ndarray  # postings of terms[i] are docs[starts[i]:starts[i + 1]]
    docs: np.ndarray
    counts: np.ndarray
    alive: np.ndarray  # bool per passage
    alive_file: str

    @classmethod
    def load(cls, folder: Path, name: str, alive_file: str) -> Segment:
        """Map a segment's arrays (nothing is read until a query touches it)."""

        def array(part: str) -> np.ndarray:
            # A plain view of the map: slicing an np.memmap builds memmap objects, which cost
            # a sixth of a served answer's CPU.
            mapped = np.load(folder / name / f"{part}.npy", mmap_mode="r")
            return cast(np.ndarray, mapped.view(np.ndarray))

        return cls(
            name,
            array("ids"),
            array("lengths"),
            array("terms"),
            array("starts"),
            array("docs"),
            array("counts"),
            array(alive_file.removesuffix(".npy")),
            alive_file,
        )

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """The live passages holding the term, and how often each holds it."""
        at = int(np.searchsorted(self.terms, np.uint64(term)))
        if at >= self.terms.size or int(self.terms[at]) != term:
            return _EMPTY_INT, _EMPTY_INT
        lo, hi = int(self.starts[at]), int(self.starts[at + 1])
        docs = np.asarray(self.docs[lo:hi])
        keep = np.asarray(self.alive[docs])
        return docs[keep], np.asarray(self.counts[lo:hi])[keep]

    def positions(self, ids: Sequence[bytes]) -> np.ndarray:
        """Where these ids sit in this segment (ids it does not hold are left out)."""
        if not ids or not self.ids.size:
            return _EMPTY_INT
        wanted = np.asarray(ids)  # its own width: a longer id must not be cut to match
        at = np.searchsorted(self.ids, wanted)
        inside = at < self.ids.size
        at = at[inside]
        return cast(np.ndarray, at[np.asarray(self.ids[at]) == wanted[inside]])


_EMPTY_INT = np.array([], dtype=np.int64)


def write_segment(folder: Path, ids: Sequence[str], texts: Sequence[str]) -> tuple[str, int, int]:
    """Write passages as a new segment; returns its name, passage count and total length."""
    name = f"seg-{uuid.uuid4().hex[:12]}"
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    sorted_ids = np.array([ids[i].encode() for i in order])
    tokens = tokenize([texts[i] for i in order], ids=True)
    lengths = np.array([len(t) for t in tokens.ids], dtype=np.int32)
    vocab = sorted(tokens.vocab.items(), key=lambda item: item[1])
    hashes = np.array([term_hash(term) for term, _ in vocab], dtype=np.uint64)
    n = len(order)
    flat = np.fromiter((t for doc in tokens.ids for t in doc), dtype=np.int64, count=lengths.sum())
    doc_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    pairs, counts = np.unique(flat * n + doc_of, return_counts=True)
    term_of, docs = hashes[pairs // n] if n else hashes[:0], pairs % n if n else pairs
    order_by_term = np.lexsort((docs, term_of))
    term_of, docs, counts = term_of[order_by_term], docs[order_by_term], counts[order_by_term]
    terms, first = np.unique(term_of, return_index=True)
    starts = np.append(first, term_of.size).astype(np.int64)
    target = folder / name
    target.mkdir(parents=True)
    for part, array in (
        ("ids", sorted_ids if n else np.array([], dtype="S1")),
        ("lengths", lengths),
        ("terms", terms.astype(np.uint64)),
        ("starts", starts),
        ("docs", docs.astype(np.int32)),
        ("counts", np.minimum(counts, np.iinfo(np.uint16).max).astype(np.uint16)),
        ("alive-0", np.ones(n, dtype=bool)),
    ):
        np.save(target / f"{part}.npy", array)
    return name, n, int(lengths.sum())


class KeywordIndex:
    """The index as one manifest names it: search, idf, and updates that write a new one."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.segments = [Segment.load(folder, s["name"], s["alive"]) for s in manifest["segments"]]
        self.passages = int(manifest["passages"])
        self.total_length = int(manifest["total_length"])
        self._df: dict[int, int] = {}  # document frequency by term hash; the index never changes

    @property
    def revision(self) -> str:
        """The store revision this index matches."""
        return str(self.manifest["revision"])

    @property
    def scripts(self) -> tuple[str, ...]:
        """The writing systems its passages are in ("" for passages that do not say)."""
        return tuple(self.manifest.get("scripts", ()))

    @classmethod
    def open(cls, folder: Path) -> KeywordIndex | None:
        """The index last written to ``folder``, or None (none there, or another format)."""
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                return None
            return cls(folder, manifest)
        except (OSError, ValueError, KeyError):
            return None

    @classmethod
    def build(
        cls, folder: Path, records: Iterable[tuple[str, str, str]], revision: str
    ) -> KeywordIndex:
        """Index every (id, keyword text, script) afresh, in segments of ``BATCH``."""
        folder.mkdir(parents=True, exist_ok=True)
        segments, passages, length, scripts = [], 0, 0, set()
        batch: list[tuple[str, str]] = []

        def flush() -> None:
            nonlocal passages, length
            if batch:
                name, n, total = write_segment(folder, *zip(*batch, strict=True))
                segments.append({"name": name, "alive": "alive-0.npy"})
                passages, length = passages + n, length + total
                batch.clear()

        for id_, text, script in records:
            batch.append((id_, text))
            scripts.add(script)
            if len(batch) >= BATCH:
                flush()
        flush()
        manifest = _manifest(revision, segments, passages, length, scripts)
        _publish(folder, manifest)
        return cls(folder, manifest)

    def update(
        self,
        added: Sequence[tuple[str, str, str]],
        removed: Sequence[str],
        revision: str,
    ) -> KeywordIndex:
        """A new index with ``added`` in a new segment and ``removed`` marked dead.

        An added id already indexed is replaced. Written, then returned; past
        ``MAX_SEGMENTS`` the caller rebuilds instead (``needs_compaction``).
        """
        dead = {*removed, *(id_ for id_, _, _ in added)}
        encoded = sorted(id_.encode() for id_ in dead)
        segments, passages, length = [], self.passages, self.total_length
        for segment, entry in zip(self.segments, self.manifest["segments"], strict=True):
            at = segment.positions(encoded)
            at = at[np.asarray(segment.alive[at])] if at.size else at
            if not at.size:
                segments.append(entry)
                continue
            alive = np.array(segment.alive)
            alive[at] = False
            name = f"alive-{uuid.uuid4().hex[:12]}.npy"
            np.save(self.folder / segment.name / name, alive)
            segments.append({"name": segment.name, "alive": name})
            passages -= int(at.size)
            length -= int(np.asarray(segment.lengths[at]).sum())
        scripts = set(self.scripts)
        if added:
            name, n, total = write_segment(
                self.folder, [a[0] for a in added], [a[1] for a in added]
            )
            segments.append({"name": name, "alive": "alive-0.npy"})
            passages, length = passages + n, length + total
            scripts.update(a[2] for a in added)
        manifest = _manifest(revision, segments, passages, length, scripts)
        _publish(self.folder, manifest)
        return KeywordIndex(self.folder, manifest)

    @property
    def needs_compaction(self) -> bool:
        """Whether so many updates piled up that a rebuild is cheaper than another one."""
        return len(self.segments) > MAX_SEGMENTS

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a stemmed term; highest for unseen terms."""
        hashed = term_hash(term)
        df = self._df.get(hashed)
        if df is None:
            if len(self._df) >= MAX_CACHED_TERMS:
                self._df.clear()
            df = self._df[hashed] = sum(s.postings(hashed)[0].size for s in self.segments)
        return _idf(self.passages, df)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Up to ``n`` (id, score) pairs, best first (ties by id), sharing a term with it.

        A query costs the length of its terms' postings, not the store's size.
        """
        if self.passages == 0 or self.total_length == 0:
            return []
        average = self.total_length / self.passages
        keys, weights = [], []
        for term in tokenize([query], ids=False)[0]:  # a repeated word counts twice
            hashed = term_hash(term)
            found = [(i, *s.postings(hashed)) for i, s in enumerate(self.segments)]
            df = sum(docs.size for _, docs, _ in found)
            if not df:
                continue
            idf = _idf(self.passages, df)
            for i, docs, counts in found:
                if not docs.size:
                    continue
                tf = counts.astype(np.float64)
                lengths = np.asarray(self.segments[i].lengths[docs], dtype=np.float64)
                weights.append(idf * tf / (K1 * (1 - B + B * lengths / average) + tf))
                keys.append(docs.astype(np.int64) * len(self.segments) + i)
        if not keys:
            return []
        unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
        totals = np.bincount(inverse, weights=np.concatenate(weights))
        k = min(n, totals.size)
        best = np.argpartition(-totals, k - 1)[:k]
        found_ids = [
            self.segments[int(key) % len(self.segments)].ids[int(key) // len(self.segments)]
            for key in unique[best]
        ]
        ranked = sorted(zip(found_ids, totals[best], strict=True), key=lambda p: (-p[1], p[0]))
        return [(bytes(id_).decode(), float(score)) for id_, score in ranked if score > 0]


def _idf(passages: int, df: int) -> float:
    return float(np.log((passages - df + 0.5) / (df + 0.5) + 1.0))


def _manifest(
    revision: str, segments: list[dict[str, str]], passages: int, length: int, scripts: set[str]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "revision": revision,
        "segments": segments,
        "passages": passages,
        "total_length": length,
        "scripts": sorted(scripts),
    }


def _publish(folder: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically, then drop files no manifest names any more.

    A reader that mapped a dropped file keeps reading it (the file lives until unmapped).
    """
    scratch = folder / f"manifest-{uuid.uuid4().hex}.tmp"
    scratch.write_text(json.dumps(manifest))
    os.replace(scratch, folder / "manifest.json")
    named = {s["name"]: s["alive"] for s in manifest["segments"]}
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.startswith("seg-"):
            if entry.name not in named:
                shutil.rmtree(entry, ignore_errors=True)
                continue
            for part in entry.glob("alive-*.npy"):
                if part.name != named[entry.name] and part.name != "alive-0.npy":
                    part.unlink(missing_ok=True)
        elif entry.name.startswith("manifest-") and entry.name.endswith(".tmp"):
            entry.unlink(missing_ok=True)
