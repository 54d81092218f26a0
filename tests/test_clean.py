from ingest.clean import clean_text, is_boilerplate
from rag.settings import DEFAULT_CORPUS

FOOTER = [
    "Subscribe to our newsletter",
    "Sign up here to get the latest news, updates and special offers delivered directly to your inbox.",
    "Notify of",
    "Inline Feedbacks",
    "View all comments",
    "Would love your thoughts, please comment.",
]


def test_article_footer_is_removed_and_body_kept() -> None:
    raw = DEFAULT_CORPUS.read_text(encoding="utf-8")
    assert all(line in raw for line in FOOTER[:5])
    text = clean_text(raw)
    for line in FOOTER:
        assert line.rstrip(".") not in text
    assert text.endswith("which is going through, as we see, the stage of rapid transformation.")
    assert "Uzbek-Afghan border of 137 km" in text


def test_sentences_that_mention_subscriptions_stay() -> None:
    body = "Readers who subscribe to our newsletter get the weekly digest of border news."
    assert not is_boilerplate(body)
    assert clean_text(body) == body


def test_spaces_line_ends_and_invisible_characters_are_normalised() -> None:
    raw = "Title\r\n\r\n\r\n\r\nOne\u00a0two\u200b three  \t\nfour\n\n\n"
    assert clean_text(raw) == "Title\n\nOne two three\nfour"


def test_direction_overrides_are_dropped() -> None:
    """Outside probe: U+202E in a document showed "gpj.exe" as "exe.jpg" in every view."""
    raw = "Open \u202egpj.exe\u202c or \u2066x\u2069 \u202bright\u202c"
    assert clean_text(raw) == "Open gpj.exe or x right"
