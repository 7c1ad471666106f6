"""Printed recovery keys and private keys: what unlocks an account or a disk without a password.

No library checks these shapes (they are vendors' formats, not standards), so they are read
here, each by what makes it recognisable:

- a BitLocker recovery key: 48 digits in 8 groups of 6, every group a multiple of 11 below
  720896 (Microsoft's own check: each group is 11 times a 16-bit number);
- an Apple account recovery key: 28 letters and digits in 7 groups of 4 joined by dashes;
- a FileVault recovery key: 24 letters and digits in 6 groups of 4 joined by dashes;
- a PEM or OpenPGP private key block: "-----BEGIN OPENSSH PRIVATE KEY-----",
  "-----BEGIN PGP PRIVATE KEY BLOCK-----" (a public key block is not a secret).

OCR reads a dash as a hyphen, an en or an em dash: all are taken; a space is not (an IBAN
printed in groups of four would pass for a FileVault key). The
grouped shapes need letters and digits both (a row of words is not a key) and must stand alone
between separators, so a longer dashed reference is not cut into a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecoveryKey:
    """A recovery or private key found in text: what it is and how sure the shape makes us."""

    kind: str
    confidence: float


_DASH = "[-\u2010\u2011\u2012\u2013\u2014]"  # never a space: an IBAN is groups of 4 too
_EDGE_BEFORE = r"(?<![A-Za-z0-9\u2010-\u2014-])"
_EDGE_AFTER = r"(?![A-Za-z0-9\u2010-\u2014-])"
_BITLOCKER = re.compile(rf"{_EDGE_BEFORE}[0-9]{{6}}(?:{_DASH}[0-9]{{6}}){{7}}{_EDGE_AFTER}")
_GROUPS_OF_4 = re.compile(
    rf"{_EDGE_BEFORE}[A-Z0-9]{{4}}(?:{_DASH}[A-Z0-9]{{4}}){{5,6}}{_EDGE_AFTER}"
)
_KEY_BLOCK = re.compile(
    r"BEGIN\s+(?:(OPENSSH|RSA|DSA|EC|ENCRYPTED|PGP)\s+)?PRIVATE\s+KEY(?:\s+BLOCK)?"
)
_ROW_BREAK = re.compile(r"(?<=[0-9])-?[ \t]*\n[ \t]*(?=[0-9])")
_BLOCK_NAMES = {"OPENSSH": "an SSH", "PGP": "a PGP", "": "a"}


def bitlocker_ok(key: str) -> bool:
    """Whether ``key``'s 8 groups of 6 digits are each 11 times a number below 65536."""
    groups = re.findall(r"[0-9]{6}", key)
    return len(groups) == 8 and all(int(g) % 11 == 0 and int(g) // 11 < 65536 for g in groups)


def _grouped_kind(key: str) -> str | None:
    compact = re.sub(r"[^A-Z0-9]", "", key)
    if not (any(c.isdigit() for c in compact) and any(c.isalpha() for c in compact)):
        return None
    groups = len(compact) // 4
    if len(set(re.findall(".{4}", compact))) < groups - 1:  # "ABCD-ABCD-..." is a pattern
        return None
    return {7: "an Apple account recovery key", 6: "a FileVault recovery key"}.get(groups)


def find_recovery_keys(text: str) -> list[RecoveryKey]:
    """The recovery and private keys in ``text``, strongest first, each kind once."""
    found: dict[str, float] = {}
    for match in _KEY_BLOCK.finditer(text):
        kind = _BLOCK_NAMES.get(match.group(1) or "", "a")
        found.setdefault(f"{kind} private key block", 0.97)
    rows_joined = _ROW_BREAK.sub("-", text)  # a 48-digit key wraps onto two lines
    if any(bitlocker_ok(m.group()) for m in _BITLOCKER.finditer(rows_joined)):
        found.setdefault("a BitLocker recovery key", 0.97)
    for match in _GROUPS_OF_4.finditer(text):
        shape = _grouped_kind(match.group())
        if shape is not None:
            found.setdefault(shape, 0.85)
    keys = [RecoveryKey(kind, confidence) for kind, confidence in found.items()]
    return sorted(keys, key=lambda k: -k.confidence)
