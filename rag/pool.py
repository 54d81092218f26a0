"""Offline answers in several processes, for a server with more than one core.

One Python process answers on about one core, however many threads ask (the GIL). A pool
hands each question to one of N processes, each a follower of the server's store
(``Store.follow``), and gives back what ``Pipeline.stream`` gave there. Only the offline
answerer is worth it: a model's answers wait on the model, and stream token by token.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from rag.answer import AnswerChunk
from rag.conversation import Turn
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store import Store

log = logging.getLogger(__name__)
_pipeline: Pipeline | None = None  # in each worker process


def _start(settings: Settings) -> None:
    global _pipeline
    _pipeline = Pipeline.open(settings, Store.follow(settings))
    _pipeline.warm()


def _ready() -> None:
    """Nothing: submitted N times at once, it makes the pool start all N processes."""


def _answer(question: str, history: Sequence[Turn] | None) -> list[AnswerChunk]:
    assert _pipeline is not None  # set by _start before any task runs
    _pipeline.store.catch_up()
    try:
        return list(_pipeline.stream(question, history))
    except RagError:
        raise
    except Exception:  # e.g. a passage deleted after this process loaded the store, before
        # the writer's new revision says so: Chroma fails to find it. Once more, reloaded.
        _pipeline.store.catch_up(always=True)
        return list(_pipeline.stream(question, history))


class AnswerPool:
    """N answering processes over the store a server writes (started in the background)."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = self._start()
        self._answered = False  # by the current processes: they did start

    def _start(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            self.workers,
            # Not fork: the server has threads (and ONNX and Chroma state) a fork would copy.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self.settings,),
        )
        for _ in range(self.workers):  # each warms its pipeline as it starts
            executor.submit(_ready)
        return executor

    def stream(self, question: str, history: Sequence[Turn] | None) -> list[AnswerChunk]:
        """The chunks ``Pipeline.stream`` gives for this question, answered in a worker.

        Errors about the question come back as raised there. ``BrokenProcessPool`` tells the
        caller to answer this question itself: a worker died (new ones start), or the
        workers could not start at all (the pool stays off rather than respawn forever).
        """
        executor = self._executor
        if executor is None:
            raise BrokenProcessPool("the answering processes could not start")
        try:
            chunks = executor.submit(_answer, question, history).result()
        except BrokenProcessPool:
            with self._lock:
                if self._executor is executor:
                    executor.shutdown(wait=False, cancel_futures=True)
                    if self._answered:
                        log.warning("an answering process died; starting new ones")
                        self._executor, self._answered = self._start(), False
                    else:
                        log.error("the answering processes could not start; see their errors")
                        self._executor = None
            raise
        self._answered = True
        return chunks

    def close(self) -> None:
        """Stop the processes (questions waiting are dropped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
