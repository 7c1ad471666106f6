"""Identity documents without a machine-readable zone, told from their layout and words.

An EU driving licence, an older national identity card, a residence permit's front side, a carte
Vitale, a student or press card: none has an MRZ to check. What they share is a layout a person
recognises at a glance, and this classifier looks for the same things: the document's name
printed on it (its title), field labels ("date of birth", "Geburtsdatum"), the EU licence's
numbered fields (1. 2. 3. 4a. 4b. 4c. 5. 9.) and its category table (AM, A1, B, BE, C1...), and
the values a document holds: dates. A page that only talks about a document (an article, an
empty application form) has the words but not the dates and numbered fields.

The words are data, in five languages (``content/documents.toml``, checked when loaded and by
tests/test_scan_documents.py), so that adding a language or a document is a change of data.
It is also the second opinion beside the MRZ reader (``text._identity_document``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from companion.sensitivity import lexicon

LANGUAGES = ("fr", "en", "de", "es", "it")
WORDS_FILE = "documents.toml"

# EU driving licence (directive 2006/126/EC, annex I): the fields are numbered, not named
_NUMBERED = re.compile(r"(?<![\w.,/])(1|2|3|4a|4b|4c|4d|5|7|8|9)\s?[.,)](?!\d)", re.IGNORECASE)
# the European health insurance card numbers its fields 3 to 9, without a dot, one a line
_LINE_NUMBER = re.compile(r"^\s*([3-9])\s+(?=\S)", re.MULTILINE)
_LICENCE_ONLY = frozenset({"4a", "4b", "4c", "4d"})
_CATEGORY_CODES = "AM A1 A2 B1 BE C1 C1E D1 D1E"  # not CE, DE: French words in capitals
_CATEGORY = re.compile(rf"(?<![\w])({'|'.join(_CATEGORY_CODES.split())})(?![\w])")
_DATE = re.compile(
    r"(?<!\d)(?:0?[1-9]|[12]\d|3[01])\s?[./-]\s?(?:0?[1-9]|1[0-2])\s?[./-]\s?(?:19|20)?\d{2}(?!\d)"
)


class WordsError(ValueError):
    """The words file breaks a rule: an entry without one of the languages, a phrase twice."""


@dataclass(frozen=True, slots=True)
class Words:
    documents: tuple[lexicon.Cue, ...]  # name: the document's name in English
    fields: tuple[lexicon.Cue, ...]  # name: the field's id; strong=False for common labels


@dataclass(frozen=True, slots=True)
class Layout:
    """What the classifier saw on a page of OCR lines."""

    documents: tuple[str, ...]  # titles found
    fields: tuple[str, ...]  # field labels found (strong ones)
    weak: int  # common field labels found ("nom", "name")
    numbered: int  # numbered fields found (the EU licence's, or a titled card's one a line)
    categories: int  # licence category codes found (AM, A1, BE...)
    dates: int

    @property
    def is_document(self) -> bool:
        """A title and the values of a filled-in card: two dates and two field labels, or one
        date and the licence's numbering or three labels (a common label counts half); or, when
        OCR missed the title, the licence's numbering, category table and dates together. An
        appointment page names the fields but holds one date, the booking's."""
        labels = len(self.fields) + self.weak / 2
        if self.documents:
            numbered = self.numbered >= 3
            return (self.dates >= 2 and (labels >= 2 or numbered)) or (
                self.dates >= 1 and (numbered or labels >= 3)
            )
        return self.numbered >= 4 and self.categories >= 2 and self.dates >= 2

    @property
    def confidence(self) -> float:
        extra = (self.numbered >= 3, self.categories >= 2, len(self.fields) >= 3, self.dates >= 2)
        return round(min(0.92, 0.75 + 0.05 * sum(extra)), 2)

    def describe(self) -> str:
        said = []
        if self.documents:
            said.append(" / ".join(self.documents))
        if self.fields or self.weak:
            said.append(f"{len(self.fields) + self.weak} field labels")
        if self.numbered:
            said.append(f"{self.numbered} numbered fields")
        if self.categories:
            said.append(f"{self.categories} licence categories")
        said.append(f"{self.dates} date{'s' * (self.dates != 1)}")
        return ", ".join(said)


def parse_words(data: dict[str, Any]) -> Words:
    """``Words`` from the parsed TOML; ``WordsError`` when an entry misses a language, has no
    id, or a phrase appears twice (in one entry or across entries)."""
    seen: dict[str, str] = {}
    tables: dict[str, list[lexicon.Cue]] = {"document": [], "field": []}
    for table, cues in tables.items():
        for entry in data.get(table, []):
            ident = entry.get("id")
            if not isinstance(ident, str) or not ident:
                raise WordsError(f"a [[{table}]] entry has no id")
            phrases: list[str] = []
            for lang in LANGUAGES:
                spelled = entry.get(lang)
                if not spelled or not all(isinstance(p, str) and p.strip() for p in spelled):
                    raise WordsError(f"{table} {ident!r} has no {lang} words")
                phrases += [p for p in spelled if p not in phrases]
            for phrase in phrases:
                key = lexicon.fold(phrase)
                if seen.get(key, ident) != ident:
                    raise WordsError(f"{phrase!r} is in both {seen[key]!r} and {ident!r}")
                seen[key] = ident
            for lang in LANGUAGES:
                if len(set(entry[lang])) != len(entry[lang]):
                    raise WordsError(f"{table} {ident!r} repeats a {lang} phrase")
            name = entry.get("name", ident) if table == "document" else ident
            strong = bool(entry.get("strong", True))
            cues.append(lexicon.Cue(name, tuple(phrases), strong=strong, role=table))
    if not tables["document"] or not tables["field"]:
        raise WordsError("the words file needs [[document]] and [[field]] entries")
    return Words(tuple(tables["document"]), tuple(tables["field"]))


@cache
def words() -> Words:
    """The shipped words (package data), parsed and checked once per process."""
    text = (resources.files("companion.sensitivity") / "content" / WORDS_FILE).read_text("utf-8")
    return parse_words(tomllib.loads(text))


def read_layout(lines: Sequence[str]) -> Layout:
    """What of a document's layout the OCR ``lines`` hold."""
    text = "\n".join(lines)
    folded = lexicon.fold(text)
    shipped = words()
    documents = tuple(c.name for c in lexicon.found(folded, shipped.documents))
    labels = lexicon.found(folded, shipped.fields)
    fields = tuple(c.name for c in labels if c.strong)
    weak = sum(1 for c in labels if not c.strong)
    numbers = {m.group(1).lower() for m in _NUMBERED.finditer(text)}
    numbered = len(numbers) if numbers & _LICENCE_ONLY else 0
    if documents:  # under a document's title, fields numbered one a line count too
        numbered = max(numbered, len({m.group(1) for m in _LINE_NUMBER.finditer(text)}))
    categories = len({m.group(1) for m in _CATEGORY.finditer(text)})
    return Layout(documents, fields, weak, numbered, categories, len(_DATE.findall(text)))
