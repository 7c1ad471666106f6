"""Each language's typography, applied once by the builder so every renderer prints it the same.

Content is written with plain ``"`` and ``'``. English gets curly quotes and apostrophes. French
follows the Imprimerie nationale's rules as French publishers apply them: « guillemets » with
no-break spaces inside, a no-break space before ``:``, a narrow no-break space before ``; ! ?``,
and the curly apostrophe. Only spaces the text already has before ``:`` become no-break ones, so
a time (08:14) or a URL (https://) is never touched.
"""

from __future__ import annotations

import re

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
