"""langchain-tests' standard retriever suite, run on the hybrid retriever."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.retrieval.hybrid import HybridRetriever
from rag.settings import Settings
from rag.store import Store

_open: dict[str, Store] = {}


@pytest.fixture(autouse=True)
def article(article_data_dir: Path) -> Iterator[None]:
    with Store.open(Settings(data_dir=article_data_dir)) as store:
        _open["store"] = store
        yield
        _open.clear()


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"store": _open["store"]}

    @property
    def retriever_query_example(self) -> str:
        return "How long is Tajikistan's border with Afghanistan?"
