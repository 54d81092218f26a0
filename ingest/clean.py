"""Text normalisation and web-boilerplate removal, before any offset is taken."""

from __future__ import annotations

import re
import unicodedata

# Lines that newsletter, sharing and comment widgets append to articles. Matched against a
# whole (short) line, case-insensitively, so article sentences that merely mention them stay.
_BOILERPLATE = re.compile(
    r"""^(?:
        subscribe\ to\ (?:our|the)\ newsletter.*
      | sign\ up\ (?:here\ )?(?:to|for)\ .*(?:news|updates|offers|newsletter|inbox).*
      | notify\ of.*
      | inline\ feedbacks?
      | view\ all\ comments?
      | \d*\ *comments?
      | (?:leave\ a|post\ a|add\ a)\ (?:comment|reply).*
      | would\ love\ your\ thoughts.*
      | share\ (?:this|on)\b.*
      | (?:follow|like)\ us\ on\b.*
      | click\ (?:here\ )?to\ (?:share|print|email).*
      | (?:related|recommended)\ (?:posts|articles|stories)
      | advertisement
      | (?:all\ rights\ reserved|copyright\ ©).*
      | (?:previous|next)\ (?:post|article)\b.*
      | (?:tags|filed\ under|categories)\s*:.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_BOILERPLATE_LINE = 160
# Zero-width characters, soft hyphens, direction overrides and isolates (they can show text
# reversed: "gpj.exe" as "exe.jpg"), and control characters other than tab and newline.
_INVISIBLE = dict.fromkeys(
    [
        *map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        *range(0, 9),
        11,
        *range(14, 32),
        127,
    ]
)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def is_boilerplate(line: str) -> bool:
    """True for a short line that is site furniture rather than content."""
    line = line.strip()
    return bool(line) and len(line) <= _MAX_BOILERPLATE_LINE and bool(_BOILERPLATE.match(line))


def clean_text(raw: str) -> str:
    """Normalise spaces and line ends, drop boilerplate lines, keep paragraph breaks."""
    text = unicodedata.normalize("NFC", raw).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    kept = [line for line in lines if not is_boilerplate(line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
