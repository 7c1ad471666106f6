"""An object's plaintext read at any offset, a 64 KiB chunk at a time, in memory only.

A video's container may keep its index at the end (an iPhone's QuickTime movies do), so a
program that copies its streams (``companion share``) must seek; pyrage decrypts front to back
only. The age format allows random access: the payload is a sequence of 64 KiB chunks, each
sealed with ChaCha20-Poly1305 under a nonce made of its number and a flag on the last one
(https://age-encryption.org/v1). So this module reads the header itself for the vault's X25519
identity (the stanza unwrapped, the header's MAC checked), then decrypts only the chunks asked
for. Each chunk is authenticated; a chunk moved, dropped, or a file cut short fails.

Decryption of whole files stays with pyrage (``crypto.decrypt_stream``), an independent
implementation; tests check this reader against it byte for byte. Together with ``crypto`` this
is the only module that imports the crypto library.
"""

from __future__ import annotations

import base64
import hmac
import io
import os
from hashlib import sha256
from typing import Any, BinaryIO

from companion.errors import IntegrityError
from companion.vault import crypto

CHUNK = 64 * 1024
_TAG = 16
_SEALED = CHUNK + _TAG
_INTRO = b"age-encryption.org/v1\n"
_X25519_INFO = b"age-encryption.org/v1/X25519"
_COLUMNS = 64  # a stanza's body is wrapped at 64 characters; a shorter line ends it
_HEADER_MAX = 64 * 1024
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


class AgeReader(io.RawIOBase):
    """The plaintext of one age file (open ``fh``, kept open by the caller) for ``identity``,
    readable and seekable. ``IntegrityError`` for anything that does not authenticate."""

    def __init__(self, fh: BinaryIO, identity: crypto.Identity, what: str) -> None:
        super().__init__()
        self._fh, self._what = fh, what
        file_key, header_end = _open_header(fh, identity, what)
        fh.seek(header_end)
        nonce = fh.read(16)
        if len(nonce) != 16:
            raise IntegrityError(f"{what} is cut short in its header")
        self._payload = header_end + 16
        self._aead = _chacha(_hkdf(file_key, nonce, b"payload"))
        sealed = os.fstat(fh.fileno()).st_size - self._payload
        self._chunks = max(1, -(-sealed // _SEALED))
        last = sealed - (self._chunks - 1) * _SEALED
        if last < _TAG or (last == _TAG and self._chunks > 1):
            raise IntegrityError(f"{what} is cut short or has bytes added")
        self.size = (self._chunks - 1) * CHUNK + last - _TAG
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            index, start = divmod(self._pos, CHUNK)
            data = self._chunk(index)[start : start + len(view) - done]
            view[done : done + len(data)] = data
            done += len(data)
            self._pos += len(data)
        return done

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._fh.seek(self._payload + index * _SEALED)
        sealed = self._fh.read(_SEALED)
        last = index == self._chunks - 1
        nonce = index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        try:
            plain: bytes = self._aead.decrypt(nonce, sealed, None)
        except Exception as exc:  # cryptography's InvalidTag: damaged, moved or cut
            raise IntegrityError(f"{self._what} is damaged in the vault (chunk {index})") from exc
        self._cached = (index, plain)
        return plain


def _open_header(fh: BinaryIO, identity: crypto.Identity, what: str) -> tuple[bytes, int]:
    """The file key (from the X25519 stanza for ``identity``) and where the header ends."""
    head = fh.read(_HEADER_MAX)
    if not head.startswith(_INTRO):
        raise IntegrityError(f"{what} is not an age file")
    lines = head.split(b"\n")
    stanzas: list[tuple[list[bytes], bytes]] = []
    at = 1
    while at < len(lines) and lines[at].startswith(b"-> "):
        args, body = lines[at][3:].split(b" "), b""
        at += 1
        while at < len(lines):
            body += lines[at]
            at += 1
            if len(lines[at - 1]) < _COLUMNS:
                break
        stanzas.append((args, body))
    if at >= len(lines) or not lines[at].startswith(b"--- "):
        raise IntegrityError(f"{what} has a damaged header")
    mac_line = lines[at]
    covered = b"\n".join(lines[:at]) + b"\n---"
    end = len(covered) + len(mac_line) - 3 + 1
    secret = _secret_bytes(identity)
    for args, body in stanzas:
        if args[:1] == [b"X25519"] and len(args) == 2:
            file_key = _unwrap(secret, _b64(args[1]), _b64(body))
            if file_key is not None:
                mac = _b64(mac_line[4:])
                expected = hmac.digest(_hkdf(file_key, b"", b"header"), covered, "sha256")
                if not hmac.compare_digest(mac, expected):
                    raise IntegrityError(f"{what} has a damaged header")
                return file_key, end
    raise IntegrityError(f"{what} was not encrypted to this vault's key")


def _unwrap(secret: bytes, share: bytes, body: bytes) -> bytes | None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if len(share) != 32 or len(body) != 32:
        return None
    key = X25519PrivateKey.from_private_bytes(secret)
    ours = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = key.exchange(X25519PublicKey.from_public_bytes(share))
    wrap = _hkdf(shared, share + ours, _X25519_INFO)
    try:
        return bytes(_chacha(wrap).decrypt(b"\x00" * 12, body, None))
    except Exception:  # another recipient's stanza
        return None


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    prk = hmac.digest(salt or b"\x00" * 32, ikm, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")


def _chacha(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    return ChaCha20Poly1305(key)


def _b64(text: bytes) -> bytes:
    return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)


def _secret_bytes(identity: crypto.Identity) -> bytes:
    """The 32 bytes of an ``AGE-SECRET-KEY-1...`` string (bech32, checksum checked)."""
    text = identity.secret().lower()
    hrp, _, data = text.rpartition("1")
    values = [_BECH32.index(c) for c in data]
    if _polymod([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values) != 1:
        raise IntegrityError("the vault's key does not read back")
    bits, acc, out = 0, 0, bytearray()
    for value in values[:-6]:
        acc, bits = (acc << 5) | value, bits + 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    return bytes(out)


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, g in enumerate(generator):
            check ^= g if (top >> i) & 1 else 0
    return check


def digest_of(reader: AgeReader) -> tuple[int, str]:
    """(size, SHA-256) of the whole plaintext, read front to back (the reader is left at 0)."""
    sha = sha256()
    reader.seek(0)
    count = 0
    while chunk := reader.read(CHUNK):
        sha.update(chunk)
        count += len(chunk)
    reader.seek(0)
    return count, sha.hexdigest()
