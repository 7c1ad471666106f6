"""Opening the door: the format marker and the passphrase-protected key files.

``companion-vault.json`` says "this folder is a vault, format 1, and this is its public
recipient"; each ``keys/<id>.age`` holds the vault identity under one passphrase
(docs/design/vault-format.md, sections 2 and 3).

A key file's header is read before any passphrase is tried on it, because trying one costs what
the file itself asks for: its scrypt work factor sets the memory and time of the attempt, and
anyone who can write to ``keys/`` can plant a file that asks for 4 GiB and 20 seconds (or far
more). So a file above ``crypto.MAX_WORK_FACTOR`` is never tried, files are tried cheapest first
(the real key usually opens before a costly one is reached), and a file that is not a
well-formed age scrypt file is named as damaged instead of being taken for a wrong passphrase.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from companion.errors import (
    IntegrityError,
    UnsupportedFormat,
    UsageError,
    VaultError,
    VaultNotFound,
    WrongPassphrase,
)
from companion.vault import crypto
from companion.vault.fsio import access_error, atomic_write

log = logging.getLogger(__name__)

MARKER = "companion-vault.json"
FORMAT_NAME = "companion-vault"
FORMAT_VERSION = 1

# A key file holds one identity (about 300 bytes); anything much larger is not one, and is not
# read into memory.
MAX_KEY_FILE_BYTES = 64 * 1024

# The age v1 format (https://age-encryption.org/v1), as far as a key file needs it.
_VERSION_LINE = b"age-encryption.org/v1\n"
_ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
_BODY_COLUMNS = 64  # a stanza's body is wrapped at 64 columns; its last line is shorter
_SALT_B64 = 22  # 16 bytes, unpadded base64
_KEY_B64 = 43  # 32 bytes, unpadded base64: the wrapped file key, the header MAC
_MIN_PAYLOAD = 16 + 16  # the STREAM nonce, then at least one (possibly empty) sealed chunk
_WORK_FACTOR = re.compile(rb"[1-9][0-9]?")

_RESTORE_KEYS_HINT = (
    "Copy keys/ back from a copy of this vault, or use the recovery key printed by key export: "
    "with it the stock age tool opens the vault (see RESTORE.txt)."
)


def marker_text(recipient: str) -> bytes:
    marker = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "recipient": recipient}
    return (json.dumps(marker, indent=2) + "\n").encode()


def read_marker(root: Path) -> str:
    """Check the format marker and return the vault's recipient."""
    try:
        marker = json.loads((root / MARKER).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise VaultNotFound(f"no vault at {root}") from exc
    except OSError as exc:  # permissions, another user's vault, a file on the way: say which
        mistake = access_error(exc, root)
        raise mistake or UnsupportedFormat(f"{root / MARKER} is unreadable: {exc}") from exc
    except ValueError as exc:
        raise UnsupportedFormat(f"{root / MARKER} is unreadable: {exc}") from exc
    if not isinstance(marker, dict) or marker.get("format") != FORMAT_NAME:
        raise UnsupportedFormat(f"{root} is not a companion vault")
    if marker.get("version") != FORMAT_VERSION:
        raise UnsupportedFormat(f"vault format version {marker.get('version')} is not supported")
    recipient = marker.get("recipient")
    if not isinstance(recipient, str) or not recipient.startswith("age1"):
        raise UnsupportedFormat(f"{root / MARKER} names no recipient")
    return recipient


def key_files(root: Path) -> list[Path]:
    keys = root / "keys"
    return sorted(p for p in keys.glob("*.age") if p.is_file()) if keys.is_dir() else []


class _Damaged(ValueError):
    """A file that is not a well-formed age scrypt file, and why: "truncated", "empty"..."""


@dataclass(frozen=True)
class KeyFile:
    """One ``keys/*.age`` file as its header describes it, before any passphrase is tried."""

    path: Path
    data: bytes
    work_factor: int | None  # None: damaged
    problem: str | None  # why it is not tried (damaged, or too costly to try), for a person

    @property
    def name(self) -> str:
        return f"keys/{self.path.name}"

    @property
    def usable(self) -> bool:
        return self.problem is None


def inspect_key_files(root: Path) -> list[KeyFile]:
    """Every key file of the vault with its work factor, or why it cannot be tried.

    Raises ``IntegrityError`` when there is no ``keys/`` folder or no key file in it.
    """
    if not (root / "keys").is_dir():
        raise IntegrityError(
            "this vault has no keys/ folder: no passphrase can open it",
            hint=_RESTORE_KEYS_HINT,
        )
    files = key_files(root)
    if not files:
        raise IntegrityError(
            "this vault has no key file in keys/: no passphrase can open it",
            hint=_RESTORE_KEYS_HINT,
        )
    return [_inspect(path) for path in files]


def _inspect(path: Path) -> KeyFile:
    name = f"keys/{path.name}"
    size = path.stat().st_size
    if size > MAX_KEY_FILE_BYTES:
        return KeyFile(path, b"", None, f"{name} is damaged (too large for a key file)")
    data = path.read_bytes()
    try:
        work_factor = scrypt_work_factor(data)
    except _Damaged as exc:
        return KeyFile(path, data, None, f"{name} is damaged ({exc})")
    if work_factor > crypto.MAX_WORK_FACTOR:
        problem = (
            f"{name} asks for scrypt work factor {work_factor} ({_memory(work_factor)} of "
            f"memory per try), above the {crypto.MAX_WORK_FACTOR} companion accepts"
        )
        return KeyFile(path, data, work_factor, problem)
    return KeyFile(path, data, work_factor, None)


def _memory(work_factor: int) -> str:
    """What one try takes at this work factor: scrypt with r = 8 needs 128 * 8 * 2^N bytes."""
    mib = 1 << max(work_factor - 10, 0)
    for unit in ("MiB", "GiB", "TiB", "PiB", "EiB"):
        if mib < 1024:
            return f"{mib} {unit}"
        mib >>= 10
    return f"2^{work_factor + 10} bytes"


def scrypt_work_factor(data: bytes) -> int:
    """The scrypt work factor (log2 N) in the header of an age file protected by a passphrase.

    Reads the header only (nothing is decrypted). Raises ``_Damaged`` when ``data`` is not a
    well-formed age file with a single scrypt stanza and room for a payload.
    """
    if not data.strip():
        raise _Damaged("empty")
    if data.startswith(_ARMOR_BEGIN):
        data = _dearmor(data)
    if not data.startswith(_VERSION_LINE):
        raise _Damaged("truncated" if _VERSION_LINE.startswith(data) else "not an age file")
    lines = _HeaderLines(data, len(_VERSION_LINE))
    stanzas = []
    line = lines.next()
    while line.startswith(b"-> "):
        stanzas.append((line[3:].split(b" "), _stanza_body(lines)))
        line = lines.next()
    if not line.startswith(b"--- ") or not _is_b64(line[4:], _KEY_B64):
        raise _Damaged("malformed header")
    if len(stanzas) != 1 or stanzas[0][0][0] != b"scrypt":
        raise _Damaged("an age file not protected by a passphrase")
    (_label, *args), body = stanzas[0]
    if len(args) != 2 or not _is_b64(args[0], _SALT_B64) or not _WORK_FACTOR.fullmatch(args[1]):
        raise _Damaged("malformed scrypt stanza")
    if not _is_b64(body, _KEY_B64):
        raise _Damaged("malformed scrypt stanza")
    if len(data) - lines.position < _MIN_PAYLOAD:
        raise _Damaged("truncated")
    return int(args[1])


class _HeaderLines:
    """The header's lines, one at a time; the end of the data before a line ends is a cut."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position

    def next(self) -> bytes:
        end = self.data.find(b"\n", self.position)
        if end < 0:
            raise _Damaged("truncated")
        line = self.data[self.position : end]
        self.position = end + 1
        return line


def _stanza_body(lines: _HeaderLines) -> bytes:
    """A stanza's body: full 64-column lines, then one shorter line (possibly empty)."""
    body = b""
    while True:
        line = lines.next()
        if len(line) > _BODY_COLUMNS:
            raise _Damaged("malformed header")
        body += line
        if len(line) < _BODY_COLUMNS:
            return body


def _is_b64(text: bytes, length: int) -> bool:
    """Unpadded standard base64 of ``length`` characters, as age writes it."""
    if len(text) != length or b"=" in text:
        return False
    try:
        base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        return False
    return True


def _dearmor(data: bytes) -> bytes:
    """The binary age file inside an ASCII-armored one (``age -a``), which pyrage also opens."""
    text = data.strip()
    if not text.endswith(_ARMOR_END):
        raise _Damaged("truncated")
    inside = b"".join(text[len(_ARMOR_BEGIN) : -len(_ARMOR_END)].split())
    try:
        return base64.b64decode(inside, validate=True)
    except binascii.Error:
        raise _Damaged("malformed armor") from None


def unlock(root: Path, passphrase: str) -> crypto.Identity:
    """Try the passphrase on every key file; the first that opens gives the identity."""
    identity, _path = unlock_with_path(root, passphrase)
    return identity


def unlock_with_path(root: Path, passphrase: str) -> tuple[crypto.Identity, Path]:
    """The identity and the key file the passphrase opens, trying the cheapest files first."""
    found = inspect_key_files(root)
    tried = sorted((k for k in found if k.usable), key=lambda k: (k.work_factor, k.path.name))
    not_tried = [k.problem for k in found if k.problem is not None]
    opened_damaged = []
    for key in tried:
        try:
            identity = _open(key, passphrase)
        except WrongPassphrase:
            continue
        except IntegrityError as exc:
            opened_damaged.append(exc.message)
            continue
        for problem in opened_damaged + not_tried:
            log.warning("%s; another key file opened the vault", problem)
        return identity, key.path
    raise _none_opened(found, opened_damaged, not_tried)


def _open(key: KeyFile, passphrase: str) -> crypto.Identity:
    """The identity in ``key`` if ``passphrase`` opens it. ``WrongPassphrase`` if not;
    ``IntegrityError`` if it opens but what is inside is damaged."""
    try:
        text = crypto.passphrase_decrypt(key.data, passphrase)
    except IntegrityError as exc:
        raise IntegrityError(f"{key.name} is damaged: {exc.message}") from exc
    try:
        return crypto.Identity.parse(text.decode("utf-8", "replace"))
    except WrongPassphrase as exc:  # the passphrase opened it: what it holds is the trouble
        raise IntegrityError(f"{key.name} is damaged: {exc.message}") from exc


def _none_opened(
    found: list[KeyFile], opened_damaged: list[str], not_tried: list[str]
) -> VaultError:
    """The error when no key file gave the identity. A wrong passphrase only when every key file
    was tried, whole; otherwise the files that could not be tried, or that the passphrase opened
    but are damaged, are named."""
    if opened_damaged:  # the passphrase is right: the file is not
        message = "; ".join(opened_damaged + not_tried)
    elif not not_tried:
        return WrongPassphrase("the passphrase does not open this vault")
    elif all(not k.usable for k in found):
        message = "no key file of this vault can be tried: " + "; ".join(not_tried)
    else:
        message = "the passphrase does not open this vault, and " + "; ".join(not_tried)
    if opened_damaged:
        hint = "Copy that key file back from a copy of this vault, or use another passphrase or "
        hint += "the recovery key (see RESTORE.txt)."
    elif any(k.work_factor is None for k in found):
        hint = "If this passphrase is the damaged key file's, copy that file back from a copy of "
        hint += "this vault; or use another passphrase or the recovery key (see RESTORE.txt)."
    else:
        hint = "companion never writes such a key file: remove it unless you added it yourself, "
        hint += "and use another passphrase or the recovery key (see RESTORE.txt)."
    return IntegrityError(message, hint=hint)


def write_key_file(
    root: Path, identity: crypto.Identity, passphrase: str, work_factor: int
) -> Path:
    """Add ``keys/<random>.age``: the identity as an age identity file, under ``passphrase``."""
    if not passphrase:
        raise UsageError("the passphrase is empty", hint="Choose a passphrase you can remember.")
    text = f"# companion vault identity\n{identity.secret()}\n".encode("ascii")
    path = root / "keys" / f"{os.urandom(4).hex()}.age"
    atomic_write(
        path,
        crypto.passphrase_encrypt(text, passphrase, work_factor),
        root / "tmp",
        overwrite=False,
    )
    return path
