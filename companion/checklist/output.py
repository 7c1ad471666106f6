"""Turning a checklist into a file: the format, the language and paper a person expects, and an
all-or-nothing write (a half-written PDF never replaces a good one)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from companion.checklist.model import Checklist, Lang
from companion.errors import CompanionError, UsageError
from companion.portable import durable

Format = Literal["pdf", "html", "md"]
Paper = Literal["a4", "letter"]
FORMATS: tuple[Format, ...] = ("pdf", "html", "md")
SUFFIXES: Mapping[Format, str] = {"pdf": ".pdf", "html": ".html", "md": ".md"}
# Countries that print on US Letter; everyone else uses A4.
_LETTER_TERRITORIES = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "PR"})
_LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    pages: int | None  # PDF only


def render(checklist: Checklist, fmt: Format, *, paper: Paper = "a4") -> Rendered:
    """The document's bytes (a checklist is a few kilobytes of text, one to three pages)."""
    if fmt == "pdf":
        from companion.checklist.render_pdf import render_pdf  # the PDF library, only for PDF

        buffer = io.BytesIO()
        pages = render_pdf(checklist, buffer, paper=paper)
        return Rendered(buffer.getvalue(), pages)
    from companion.checklist.render_text import render_html, render_markdown

    text = render_html(checklist, paper=paper) if fmt == "html" else render_markdown(checklist)
    return Rendered(text.encode("utf-8"), None)


def _locale(environ: Mapping[str, str], *, messages: bool = False) -> str:
    """The locale as gettext picks it: LC_ALL, LC_MESSAGES, LANG; for messages, LANGUAGE
    first, unless the locale is C."""
    locale = ""
    for name in _LOCALE_VARS:
        value = environ.get(name, "")
        if value:
            locale = value
            break
    if locale in ("", "C", "POSIX") or locale.startswith("C."):
        return ""
    language = environ.get("LANGUAGE", "").split(":")[0]
    return language if messages and language else locale


def default_lang(environ: Mapping[str, str] | None = None) -> Lang:
    """French when the locale is French (``fr_FR.UTF-8``, ``fr_CA``...), else English."""
    env = os.environ if environ is None else environ
    return "fr" if _locale(env, messages=True).lower().startswith("fr") else "en"


def default_paper(lang: Lang, environ: Mapping[str, str] | None = None) -> Paper:
    """Letter where the locale's country prints on it; otherwise from the language (English
    without a country: Letter; French: A4)."""
    env = os.environ if environ is None else environ
    locale = _locale(env).split(".")[0]
    if "_" in locale:
        country = locale.split("_", 1)[1][:2].upper()
        return "letter" if country in _LETTER_TERRITORIES else "a4"
    return "letter" if lang == "en" else "a4"


def write_document(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(
            f"no such folder: {folder}", "Create it first, or give --out a path in a folder."
        )
    if path.is_dir():
        raise UsageError(f"{path} is a folder", "Give --out a file name, e.g. checklist.pdf.")
    temp = ""
    try:
        # mkstemp's mode is 0600: the list names the apps on the phone, which is nobody's business
        fd, temp = tempfile.mkstemp(prefix=".checklist-", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            durable.sync(fh.fileno())
        Path(temp).replace(path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            if temp:
                Path(temp).unlink()
        hint = "Free some space, or write it elsewhere with --out."
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = "Choose a folder you can write to, with --out."
        raise CompanionError(f"cannot write {path}: {exc.strerror}", hint) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            if temp:
                Path(temp).unlink()
        raise
