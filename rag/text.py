"""The project's one vocabulary of text, and its one tokenizer.

Words and stems, number and month words, what a question asks for, sentence spans, citation
markers, and the text a passage is keyword-indexed by.

The keyword index (``rag.retrieval.bm25``) and the answerers' term matching share
``stemmer()``, so a stem the answerer looks up is the stem the index holds
(``tests/test_text.py`` checks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

Kind = Literal["number", "date", "person", "reason", "other"]
# How rare a stemmed term is (BM25's idf from the store), for weighting word overlaps.
Idf = Callable[[str], float]

# fmt: off
NUMBER_WORDS = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion", "billions",
    "dozen", "half",
)
MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)
# fmt: on


def flat_idf(term: str) -> float:
    """Every term weighs the same: the idf to use when no store is at hand."""
    return 1.0


class _Stemmer:
    """Snowball stemming: Russian for Cyrillic words, English for the rest.

    A Russian question over a Russian document then matches "границы" to "граница".
    """

    def __init__(self) -> None:
        import Stemmer

        self._english = Stemmer.Stemmer("english")
        self._russian = Stemmer.Stemmer("russian")

    def stemWord(self, word: str) -> str:
        language = self._russian if _CYRILLIC.search(word) else self._english
        stem: str = language.stemWord(word)
        return stem

    def stemWords(self, words: list[str]) -> list[str]:
        return [self.stemWord(w) for w in words]


_CYRILLIC = re.compile("[а-яё]", re.I)


@lru_cache(maxsize=1)
def stemmer() -> object:
    """The one stemmer, shared by the keyword index and term matching."""
    return _Stemmer()


# Terms, and the kind of fact a question asks for.

_ENGLISH_STOPWORDS = (  # noqa: SIM905 - a word list reads better as text
    "a an the and or but if of to in on at by for with from about as into than then so "
    "is are was were be been being am do does did done have has had having will would "
    "shall should can could may might must it its it's this that these those there here "
    "what which who whom whose when where why how i you he she we they me him her us them "
    "my your his our their not no yes any some all each every much many more most very "
    "also just only own same too s t don doesn didn isn aren wasn weren tell say said "
    "please know"
).split()
# Russian and German function words: a question in either language has them all over.
_RUSSIAN_STOPWORDS = (  # noqa: SIM905 - a word list reads better as text
    "и в во не что он она оно они на я с со как а то все всё так его её ее но да ты к у же "
    "вы за бы по только мне было вот от меня еще ещё нет о об из ему когда даже ли если уже "
    "или ни быть был была были будет него неё нее до вас там потом себя ей может тут где "
    "есть для мы тебя их чем сам без чего тоже себе под тогда кто этот эта это эти этого "
    "этой этом этим того тот какой какая какое какие каков какова каково который которая "
    "которое которые можно при после над через нас про них ним ней нём"
).split()
# Only words English does not also use ("die", "was", "also" are left to the English list).
_GERMAN_STOPWORDS = (  # noqa: SIM905 - a word list reads better as text
    "der das den dem des ein eine einer eines einem einen und oder aber wenn dann ist sind "
    "waren bist haben hatte wird werden wurde kann können könnte muss soll ich du er sie es "
    "wir ihr mich mir dich dir ihn ihm uns euch sich mein dein sein seine ihre wer wie wo "
    "wann warum welche welcher welches welchen nicht kein keine auch nur noch schon sehr mit "
    "von zu zum zur auf aus für über nach vor durch ohne bis als ob dass denn doch gibt bitte"
).split()
_STOPWORDS = frozenset(_ENGLISH_STOPWORDS + _RUSSIAN_STOPWORDS + _GERMAN_STOPWORDS)
_FOREIGN = frozenset(_RUSSIAN_STOPWORDS + _GERMAN_STOPWORDS) - set(_ENGLISH_STOPWORDS)
# Thanks, greetings and acknowledgements: a turn made only of these (and function words)
# asks the documents nothing.
_SMALL_TALK = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "thanks thank thx ty cheers ok okay great cool nice awesome perfect good fine hello hi "
        "hey bye goodbye morning evening afternoon sure got understood alright wow help "
        "спасибо благодарю ок окей хорошо отлично понятно ясно привет здравствуйте пока "
        "свидания добрый доброе день утро вечер супер класс помогите помочь "
        "danke dankeschön vielen dank okay gut super toll prima hallo servus tschüss moin "
        "guten tag morgen abend ja nein alles klar verstanden hilfe helfen"
    ).split()
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# A quantity: a cardinal number (not "201st", not a bare year) or a number word.
_QUANTITY = re.compile(
    rf"(?<![\w.])(?!(?:1[89]|20)\d\d\b)\d+(?:[.,]\d+)*(?!\d)(?!st\b|nd\b|rd\b|th\b|-?(?:й|го|я)\b)"
    rf"|\b(?:{'|'.join(NUMBER_WORDS)})\b|\b(?:тысяч|миллион|миллиард)\w*",
    re.I,
)
_HAS_DATE = re.compile(
    rf"\b(?:{'|'.join(MONTH_NAMES)})\b|\b(?:1[89]|20)\d\d\b|\b\d{{4}}-\d\d-\d\d\b", re.I
)
_HAS_NAME = re.compile(r"\b[A-ZА-ЯЁ][a-zа-яё]+\s+[A-ZА-ЯЁ][a-zа-яё]+\b")
_KIND_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        "date",
        re.compile(
            r"\bwhen\b|\bwhat (?:year|date|month|day)\b|\bwhich year\b|\bsince when\b|"
            r"\bкогда\b|\bв каком году\b|\bкакого числа\b|\bс какого\b",
            re.I,
        ),
    ),
    (
        "number",
        re.compile(
            r"\bhow (?:long|many|much|far|high|big|large|old|tall|wide|deep|often)\b|"
            r"\bwhat (?:is |was )?the "
            r"(?:length|number|size|height|population|amount|share|total)\b|"
            r"\bwhat percentage\b|\bсколько\b|"
            r"\bкаков[аоы]? (?:длина|протяж|размер|объ[её]м|доля|стоимость|число|количество|сумма)",
            re.I,
        ),
    ),
    ("person", re.compile(r"^\s*(?:who|whom|кто|кем|кого)\b|\bwho (?:is|was|are|were)\b", re.I)),
    ("reason", re.compile(r"^\s*(?:why|for what reason|почему|зачем)\b", re.I)),
)
_HAS_REASON = re.compile(
    r"\b(?:because|due to|since|as a result|reasons?|caus\w*|therefore|thanks to|owing to|"
    r"in order to|so that|driven by|explained by)\b",
    re.I,
)


def is_small_talk(text: str) -> bool:
    """Whether a turn is only thanks, greetings or acknowledgement ("thanks!", "ok great")."""
    words = [w.lower() for w in _WORD.findall(text)]
    return all(w in _SMALL_TALK or w in _STOPWORDS for w in words)


def in_english_words(text: str) -> bool:
    """Whether a text is written in English words: no Cyrillic, no German function words."""
    words = [w.lower() for w in _WORD.findall(text)]
    return not _CYRILLIC.search(text) and not any(w in _FOREIGN for w in words)


@lru_cache(maxsize=65536)
def content_terms(text: str) -> tuple[str, ...]:
    """Lower-cased, stemmed words that carry meaning (stop words dropped).

    Cached: the answerer asks for the terms of the same sentences and headings on every
    question that reads their passage.
    """
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    words = [w.removesuffix("'s") for w in words if w not in _STOPWORDS]
    stems: list[str] = stemmer().stemWords([w for w in words if w])  # type: ignore[attr-defined]
    return tuple(stems)


def expected_kind(question: str) -> Kind:
    """The kind of fact a question asks for."""
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(question):
            return kind
    return "other"


def has_kind(sentence: str, kind: Kind) -> bool:
    """Whether a sentence contains a fact of the given kind."""
    if kind == "number":
        return bool(_QUANTITY.search(sentence))
    if kind == "date":
        return bool(_HAS_DATE.search(sentence))
    if kind == "person":
        return bool(_HAS_NAME.search(sentence))
    if kind == "reason":
        return bool(_HAS_REASON.search(sentence))
    return True


# What a quantity is measured in: "how long is the border" wants kilometres, "how much aid"
# money. A number in the wrong unit ("745 kilometers" for "how much did it cost") is a miss.
_UNITS: dict[str, str] = {
    "length": r"km|kilomet\w*|met(?:er|re)s?|miles?|mm|cm|m|feet|ft|км|километр\w*|метр\w*|миль\w*",
    "money": r"[$€£¥₽]|dollars?|euros?|pounds?|rubles?|roubles?|cents?|pence|руб\w*|доллар\w*|евро",
    "percent": r"%|percent|per ?cent|процент\w*",
    "duration": r"years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|лет|год\w*|"
    r"месяц\w*|недел\w*|дн\w*|час\w*|минут\w*",
    "weight": r"kg|kilograms?|tonnes?|tons?|grams?|g|lbs?|кг|тонн\w*|грамм\w*",
    "people": r"people|persons?|inhabitants|residents|citizens|человек|жител\w*|граждан\w*|"
    r"Einwohner\w*|Menschen",
}
_UNIT_QUESTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "percent",
        re.compile(r"\bpercent|\bwhat (?:share|proportion|fraction)\b|\bпроцент|\bдол[юя]", re.I),
    ),
    (
        "money",
        re.compile(
            r"\bcost|\bprice|\bpa(?:y|id)\b|\bspen[dt]|\bbudget|\bfund|\baid\b|\bmoney|\bfare|"
            r"\bfee|\bworth|\bearn|\brevenue|\bстои|\bцен[аыу]|\bплат|\bденег|\bденьг|\bсумм|\bвыручк|"
            r"\bбюджет",
            re.I,
        ),
    ),
    ("weight", re.compile(r"\bweigh|\bheavy|\bвес|\bвесит", re.I)),
    (
        "people",
        re.compile(
            r"\bpopulation\b|\bhow many (?:inhabitants|residents)\b|"
            r"\bнаселени|\bсколько жител|\bEinwohner|\bBevölkerung",
            re.I,
        ),
    ),
    (
        "duration",
        re.compile(
            r"\bhow long (?:did|does|do|will|would|has|have|had|was|were)\b(?!.*\b(?:border|road|"
            r"bridge|river|line|pipe|cable|route|track)\b)|\bhow many (?:years|months|weeks|days|"
            r"hours|minutes)\b|\bhow old\b|\bсколько (?:лет|месяц|недел|дней|часов|минут)",
            re.I,
        ),
    ),
    (
        "length",
        re.compile(r"\bhow (?:long|far|wide|deep|high|tall)\b|\blength|\bдлин|\bпротяж", re.I),
    ),
)


def expected_unit(question: str) -> str | None:
    """What a quantity asked for is measured in ("length", "money"...), if the question says."""
    for unit, pattern in _UNIT_QUESTIONS:
        if pattern.search(question):
            return unit
    return None


@lru_cache(maxsize=8)
def _unit_pattern(unit: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?:[$€£¥₽]\s?\d|\d(?:[\d,.\s]*\d)?\s?(?:[-–]?\s?(?:{_UNITS[unit]})(?![a-zа-яё])|"
        rf"(?:thousand|million|billion|тысяч\w*|миллион\w*|миллиард\w*)\s+(?:{_UNITS[unit]})))"
        rf"|\b(?:{'|'.join(NUMBER_WORDS)})\b[\w\s]{{0,20}}?\b(?:{_UNITS[unit]})(?![a-zа-яё])",
        re.I,
    )


def has_unit(sentence: str, unit: str) -> bool:
    """Whether a sentence states a quantity in this unit ("137 km", "five billion dollars")."""
    return bool(_unit_pattern(unit).search(sentence))


def topic_terms(question: str) -> list[str]:
    """Content terms without the words that only say what kind of fact is wanted.

    In "How long is the border?" the topic is the border; "long" asks for a number, and
    matching it against "longest" elsewhere would reward the wrong sentence.
    """
    for _, pattern in _KIND_PATTERNS:
        question = pattern.sub(" ", question)
    return list(content_terms(question))


# Sentence spans with exact offsets, for picking and highlighting supporting sentences.

# A sentence ends at . ! ? or … (plus closing quotes or brackets) unless the next word starts
# in lower case: "the U.S. but also" does not end; "wide. <script>" and "tonnes. ![w](...)" do,
# so the markup after a statement is a piece of its own, not part of the statement.
_BOUNDARY = re.compile(r"(?<=[.!?…])(?P<close>[\"'”’»)\]]*)\s+(?![a-zа-яё])|\n+")
# Bullets and quote marks before a sentence; not the dash of an option ("-e, --edit: ...").
_LEAD = re.compile(r"^(?:[\s–—•*>]|-(?![-\w]))+")
_ABBREVIATION = re.compile(
    r"(?<![\w.])(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Mr|Mrs|Ms|Dr|Prof|St|No|Nos|"
    r"Fig|vs|approx|Rev|Gen|Col|Lt|Sgt|Inc|Ltd|Co|e\.g|i\.e|т\.е|т\.д|ул|им|гг?)\.$"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, leading dashes and spaces trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if "\n" not in m.group(0) and _ABBREVIATION.search(text, max(0, m.start() - 8), m.start()):
            continue  # "Aug. 4", "Dr. Lee", "Rev. 3": a full stop that ends no sentence
        _add(text, start, m.start() + len(m.group("close") or ""), spans)
        start = m.end()
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    lead = _LEAD.match(piece)
    if lead:
        start += lead.end()
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


@lru_cache(maxsize=65536)
def script_of(text: str) -> str:
    """The writing system most of a text's letters are in ("latin", "cyrillic"...), or ""."""
    import unicodedata

    counts: dict[str, int] = {}
    for char in text[:2000]:
        if char.isalpha():
            name = unicodedata.name(char, "").split(" ")[0]
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda k: counts[k]).lower() if counts else ""


def is_question(sentence: str) -> bool:
    """A sentence that asks rather than tells."""
    return sentence.rstrip("\"'”’») ").endswith("?")


# An answer's citation markers, however they look: models write [1], [1, 2], [Passage 2], 【3】
# or [^1]; citation repair and scoring need each sentence with the numbers it cited.
MARKER = re.compile(
    r"\s*[\[【]\s*(?:(?:passage|source|doc(?:ument)?)\s*)?\^?"
    r"(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*[\]】]",
    re.I,
)


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """Sentences without their markers, each with the passage numbers it cited."""
    clean_parts: list[str] = []
    cited_at: list[tuple[int, list[int]]] = []
    position = 0
    length = 0
    for m in MARKER.finditer(text):
        piece = text[position : m.start()]
        clean_parts.append(piece)
        length += len(piece)
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", m.group(1))]
        cited_at.append((length, numbers))
        position = m.end()
    clean_parts.append(text[position:])
    clean = "".join(clean_parts)
    spans = split_sentences(clean)
    claims: list[tuple[str, list[int]]] = [(clean[s:e], []) for s, e in spans]
    for offset, numbers in cited_at:
        owner = max((i for i, (s, _) in enumerate(spans) if s < offset), default=0)
        if claims:
            claims[owner][1].extend(numbers)
    return claims


# The text a passage is keyword-indexed with.


def keyword_text(text: str, context: str | None) -> str:
    """The passage's section question or heading, then the passage.

    A later chunk of an interview answer never repeats the question it answers; indexing its
    words with the passage lets BM25 match what users ask. Embeddings get the passage alone:
    measured on the article's 30 test questions, adding the question to the embedded text
    lowered dense recall@1 (0.77 to 0.73), while adding it to BM25 raised hybrid recall@3
    (0.97 to 1.00) at the same recall@1 (0.90).
    """
    if context and not text.startswith(context):
        return f"{context}\n{text}"
    return text
