"""Each language's typography, applied once by the builder so every renderer prints it the same.

Content is written with plain ``"`` and ``'``. English gets curly quotes and apostrophes. French
follows the Imprimerie nationale's rules as French publishers apply them: « guillemets » with
no-break spaces inside, a no-break space before ``:``, a narrow no-break space before ``; ! ?``,
and the curly apostrophe. Only spaces the text already has before ``:`` become no-break ones, so
a time (08:14) or a URL (https://) is never touched.

Text that came from the phone (its name, apps' names and usage strings) is cleaned here too, so
that nothing printed can carry a control character or a direction override.
"""

from __future__ import annotations

import re
import unicodedata

from companion.checklist.model import Lang

NBSP = "\u00a0"  # no-break space
NNBSP = "\u202f"  # narrow no-break space

_APOSTROPHE = re.compile(r"(?<=\w)'")
_QUOTED = re.compile(r'"([^"\n]*)"')
_SPACE_BEFORE_COLON = re.compile(r"[ \u00a0\u202f]+:")
_BEFORE_TALL = re.compile(r"(?<=[^\s;!?])[ \u00a0\u202f]*([;!?]+)(?=\s|$|[»)\"])")


def typeset(text: str, lang: Lang) -> str:
    """``text`` with the quotes, apostrophes and spaces of ``lang``."""
    text = _APOSTROPHE.sub("\u2019", text)
    if lang == "en":
        return _QUOTED.sub("\u201c\\1\u201d", text)
    text = _QUOTED.sub(lambda m: f"«{NBSP}{m.group(1).strip()}{NBSP}»", text)
    text = _SPACE_BEFORE_COLON.sub(f"{NBSP}:", text)
    return _BEFORE_TALL.sub(lambda m: f"{NNBSP}{m.group(1)}", text)


def inner_quotes(text: str, lang: Lang) -> str:
    """Plain quotes inside a quotation: single curly quotes in English, single guillemets in
    French; a stray one goes."""
    opening, closing = ("\u2018", "\u2019") if lang == "en" else ("\u2039\u00a0", "\u00a0\u203a")
    return re.sub(r'"([^"]*)"', rf"{opening}\1{closing}", text).replace('"', "")


def nested(text: str, lang: Lang) -> str:
    """Typeset text set inside another quotation: its own quotes become inner ones."""
    if lang == "en":
        return text.translate({0x201C: 0x2018, 0x201D: 0x2019})
    return text.replace(f"\u00ab{NBSP}", f"\u2039{NBSP}").replace(f"{NBSP}\u00bb", f"{NBSP}\u203a")


def clean_name(text: str, limit: int = 60) -> str:
    """A name from the phone, safe to print: line breaks and tabs become spaces, other control
    and format characters (direction overrides, escapes) go, and it is bounded."""
    kept = "".join(
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c)[0] != "C"
    )
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1] + "\u2026"
