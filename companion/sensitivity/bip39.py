"""Wallet recovery phrases (BIP-0039): runs of OCR words from one of the standard word lists.
Part of the validators (``companion.sensitivity.validators`` re-exports it).

The lists and the checksum come from ``mnemonic`` (the reference implementation's package):
every language it ships whose words are written in the Latin alphabet, which OCR reads here.
What stays here is reading OCR: numbering dropped, accents folded, a window of list words found
among prose, which the library does not do.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate

from mnemonic import Mnemonic

# --- BIP-0039 seed phrases ----------------------------------------------------------------------

# Latin-script lists, English first (it wins ties); each stays 2048 distinct words once folded.
LANGUAGES = ("english", "french", "spanish", "italian", "portuguese", "czech")
_PHRASE_LENGTHS = (24, 21, 18, 15, 12)
_NUMBERING = re.compile(r"[(#]?[0-9]{1,2}[.):]?\)?")
_LEADING_NUMBER = re.compile(r"^[0-9]{1,2}[.):-]+(?=[^\W\d_])")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
# English list words that are everyday grammar (pronouns, determiners, prepositions, auxiliaries,
# common adverbs): prose strings them together, a random mnemonic seldom draws more than a few.
# The French list has no word under 5 letters, so French articles and prepositions never match.
_GLUE = (
    "about above across again all almost already also always among another any around because "
    "before behind below between beyond can during eight either enough few first have hello inside "
    "into just later like make more much must near neither never next now off often okay one only "
    "other outside over own please rather same second seven since six soon sorry still such sure "
    "ten thank that then there they this three today toward two under until upon very what when "
    "where will you"
)
_GLUE_WORDS = frozenset(_GLUE.split())


@dataclass(frozen=True, slots=True)
class SeedPhrase:
    """A run of OCR words that looks like a BIP-0039 mnemonic of ``total`` words, ``count`` of
    them from the ``language`` list."""

    language: str
    count: int
    total: int


def _fold(word: str) -> str:
    """Lower case, accents stripped: NFKD, then combining marks dropped."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


@cache
def _mnemonic(language: str) -> Mnemonic:
    if language not in LANGUAGES:
        raise ValueError(f"no BIP-0039 word list for {language!r}")
    return Mnemonic(language)


@cache
def _bip39_order(language: str) -> dict[str, int]:
    """Each word of the ``language`` list, accent-stripped and lower case, to its index."""
    return {_fold(word): index for index, word in enumerate(_mnemonic(language).wordlist)}


@cache
def bip39_words(language: str) -> frozenset[str]:
    """The 2048 BIP-0039 words of ``language`` (one of ``LANGUAGES``), accent-stripped, lower
    case. Each list stays 2048 distinct words once its accents are stripped."""
    return frozenset(_bip39_order(language))


def _checksum_ok(words: Sequence[str], order: dict[str, int], language: str) -> bool:
    """BIP-0039's checksum, by ``mnemonic``, on the list's own spelling of the folded words."""
    wordlist = _mnemonic(language).wordlist
    return bool(_mnemonic(language).check(" ".join(wordlist[order[word]] for word in words)))


def _seed_tokens(words: Sequence[str]) -> list[str]:
    """OCR words as folded tokens: numbering ("1.", "2)", "01") and bare punctuation dropped,
    a number glued in front of a word ("3.apple") cut off, edge punctuation trimmed."""
    tokens: list[str] = []
    for item in words:
        for raw in item.split():
            if _NUMBERING.fullmatch(raw):
                continue
            token = _EDGES.sub("", _fold(_LEADING_NUMBER.sub("", raw)))
            if token:
                tokens.append(token)
    return tokens


def _best_count(tokens: Sequence[str], language: str, total: int) -> int:
    """The most list words in a window of ``total`` tokens (all of them, if fewer) that reads as
    a mnemonic: at most a quarter glue words, and at most a quarter repeats of a word already
    in it, unless the window is all list words, has a valid checksum and no list word right
    before or after it (the test vector "abandon" x 11, "about")."""
    order = _bip39_order(language)
    size = min(total, len(tokens))
    hits = [0, *accumulate(token in order for token in tokens)]
    glue = [0, *accumulate(token in _GLUE_WORDS for token in tokens)]
    best = 0
    for start in range(len(tokens) - size + 1):
        count = hits[start + size] - hits[start]
        if count <= best or glue[start + size] - glue[start] > total // 4:
            continue
        window = tokens[start : start + size]
        listed = [token for token in window if token in order]
        edges = [*tokens[max(0, start - 1) : start], *tokens[start + size : start + size + 1]]
        isolated = not any(token in order for token in edges)
        if len(set(listed)) >= count - total // 4 or (
            count == total and isolated and _checksum_ok(window, order, language)
        ):
            best = count
    return best


def find_seed_phrase(words: Sequence[str]) -> SeedPhrase | None:
    """The longest run of ``words`` that reads as a BIP-0039 mnemonic, or None.

    For each phrase length from 24 down to 12 (in steps of 3), a window of that many tokens fires
    when at least length - 2 of them, and at least 80 %, are list words (see ``_best_count`` for
    the guards against prose and word lists). English and French are both tried; the longer
    phrase wins, then the higher count, then English. Prose does not fire: its short glue words
    ("the", "of", "le", "de") are in neither list, and those the English list holds are capped.
    """
    tokens = _seed_tokens(words)
    best: SeedPhrase | None = None
    for language in LANGUAGES:
        for total in _PHRASE_LENGTHS:
            count = _best_count(tokens, language, total)
            if count >= max(total - 2, math.ceil(0.8 * total)):
                if best is None or (total, count) > (best.total, best.count):
                    best = SeedPhrase(language, count, total)
                break
    return best
