"""The keyword index and the answerers' term matching must agree on stems: the answerer looks
up ``idf(term)`` for its terms in the index's vocabulary, so a term spelt differently by the two
tokenizers would silently weigh as unseen."""

import json

import bm25s

from rag.retrieval.bm25 import BM25Index
from rag.settings import DEFAULT_CORPUS
from rag.text import content_terms
from tests.conftest import ROOT


def test_the_answerers_terms_are_in_the_keyword_index() -> None:
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "tests" / "data" / "retrieval_questions.jsonl").read_text().splitlines()
    ]
    stopwords = set(bm25s.stopwords.STOPWORDS_EN)
    for text in [DEFAULT_CORPUS.read_text(), *questions]:
        index = BM25Index(["only"], [text])
        unseen = index.idf("zzqxunseen")
        # bm25s drops one-character tokens and its own stop words, and splits contractions.
        comparable = {
            t for t in content_terms(text) if len(t) > 1 and "'" not in t and t not in stopwords
        }
        assert comparable, text[:60]
        missing = sorted(t for t in comparable if index.idf(t) >= unseen)
        assert missing == [], (text[:60], missing)
