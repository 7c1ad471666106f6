"""All cryptography of the vault, and the only module that imports the crypto libraries.

Everything the vault encrypts is a standard age v1 file (https://age-encryption.org/v1), so that
the stock ``age`` command can open a vault if companion ever disappears:

- objects and catalogue segments: encrypted to the vault's X25519 recipient (pyrage, streaming);
- key files: the vault's X25519 identity, encrypted with a passphrase (age's scrypt recipient).

We write the scrypt stanza ourselves (below) instead of calling ``pyrage.passphrase.encrypt``
because pyrage calibrates the scrypt work factor to the machine it runs on; a fast machine could
pick a factor above 22, which stock ``age`` refuses to open. We choose the factor explicitly and
cap it at 22. Decryption of key files goes through pyrage, an independent implementation, so every
unlock also checks that what we wrote is valid age.

Keyed names: objects are named by HMAC-SHA256 under a key derived from the identity, so that the
name of an object reveals nothing about its plaintext to someone without the passphrase (a plain
SHA-256 name would let anyone confirm that a vault holds a known photo).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    import pyrage

from companion.errors import IntegrityError, StorageFull, VaultError, WrongPassphrase

# scrypt N = 2^17 with r = 8, p = 1: 128 MiB and about half a second to unlock, the minimum the
# OWASP password storage guidance recommends for scrypt. `age -p` uses 18 (256 MiB, ~1 s); we
# take 17 so that opening a vault stays under 200 MB of memory and half a second on a laptop, and
# let people choose up to 20 (1 GiB) with `vault init --kdf-work-factor`. Stock age reads up to
# 22, but Python's scrypt, which writes key files, takes at most 2 GiB - 1 of memory: 21 would
# need 2 GiB, 22 4 GiB. companion does not try a key file above 20 either (unlock.py): one planted
# in keys/ would make every unlock cost gigabytes and many seconds.
DEFAULT_WORK_FACTOR = 17
MIN_WORK_FACTOR = 10
MAX_WORK_FACTOR = 20

_AGE_MAGIC = b"age-encryption.org/v1"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_CHUNK = 64 * 1024  # age STREAM chunk size, plaintext bytes


class Writable(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


class Identity:
    """The vault's secret X25519 key. Never logged, never written unencrypted by companion."""

    __slots__ = ("_identity",)

    def __init__(self, identity: pyrage.x25519.Identity) -> None:
        self._identity = identity

    @classmethod
    def generate(cls) -> Identity:
        return cls(_age().x25519.Identity.generate())

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Read an age identity file's text (comments allowed), as ``key export`` prints it."""
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("AGE-SECRET-KEY-1"):
                try:
                    return cls(_age().x25519.Identity.from_str(line))
                except _age().IdentityError as exc:
                    raise WrongPassphrase("the key file holds no valid age identity") from exc
        raise WrongPassphrase("the key file holds no age identity")

    def secret(self) -> str:
        """The ``AGE-SECRET-KEY-1...`` string. Only ``key export`` shows it to a person."""
        return str(self._identity)

    def recipient(self) -> str:
        """The public ``age1...`` recipient matching this identity."""
        return str(self._identity.to_public())

    def derive_key(self, label: str) -> bytes:
        """A 32-byte subkey for ``label``: HMAC-SHA256(secret string, "companion/v1/" + label).

        The secret string is uniformly random (a 32-byte key, bech32-encoded), so HMAC is a sound
        PRF-based derivation here; labels keep the subkeys independent.
        """
        return hmac.digest(
            self.secret().encode("ascii"), f"companion/v1/{label}".encode(), "sha256"
        )

    def __repr__(self) -> str:  # never print the secret, even in a traceback
        return "Identity(<secret>)"

    @property
    def raw(self) -> pyrage.x25519.Identity:
        return self._identity


def _age() -> Any:
    """pyrage, imported on first use so that ``companion --help`` loads no crypto library."""
    import pyrage

    return pyrage


def _aead(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    return ChaCha20Poly1305(key)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=SHA256(), length=32, salt=salt, info=info).derive(ikm)


def passphrase_encrypt(
    plaintext: bytes, passphrase: str, work_factor: int = DEFAULT_WORK_FACTOR
) -> bytes:
    """Encrypt ``plaintext`` as an age v1 file with a single scrypt recipient.

    Follows the age v1 specification: a random 16-byte file key wrapped with
    ChaCha20-Poly1305 under scrypt(passphrase, "age-encryption.org/v1/scrypt" || salt, N=2^wf,
    r=8, p=1); a header MAC keyed by HKDF(file key, "header"); then the STREAM payload: a 16-byte
    nonce, and 64 KiB chunks sealed under HKDF(file key, nonce, "payload") with an 11-byte
    big-endian counter and a final-chunk flag as the nonce.
    """
    if not MIN_WORK_FACTOR <= work_factor <= MAX_WORK_FACTOR:
        raise VaultError(
            f"scrypt work factor {work_factor} is outside {MIN_WORK_FACTOR}..{MAX_WORK_FACTOR}"
        )
    file_key = os.urandom(16)
    salt = os.urandom(16)
    n = 1 << work_factor
    wrap_key = hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=_SCRYPT_LABEL + salt,
        n=n,
        r=8,
        p=1,
        maxmem=128 * 8 * n + (1 << 20),
        dklen=32,
    )
    body = _aead(wrap_key).encrypt(b"\x00" * 12, file_key, None)
    # A 32-byte body is 43 base64 characters: one line, shorter than 64 as the spec requires.
    header = (
        _AGE_MAGIC
        + b"\n"
        + b"-> scrypt "
        + _b64(salt)
        + b" "
        + str(work_factor).encode()
        + b"\n"
        + _b64(body)
        + b"\n---"
    )
    mac = hmac.digest(_hkdf(file_key, b"", b"header"), header, "sha256")
    nonce = os.urandom(16)
    aead = _aead(_hkdf(file_key, nonce, b"payload"))
    chunks = [plaintext[i : i + _CHUNK] for i in range(0, len(plaintext), _CHUNK)] or [b""]
    sealed = [
        aead.encrypt(
            struct.pack(">Q", i).rjust(11, b"\x00")
            + (b"\x01" if i == len(chunks) - 1 else b"\x00"),
            c,
            None,
        )
        for i, c in enumerate(chunks)
    ]
    return header + b" " + _b64(mac) + b"\n" + nonce + b"".join(sealed)


# What pyrage says when the passphrase did open the file key but the rest of the file is broken:
# its header MAC, or a payload chunk (cut short, a flipped bit, bytes appended). A passphrase that
# opens nothing says "Decryption failed"; any other message keeps that meaning.
_DAMAGED_PAST_THE_KEY = frozenset({"Header MAC is invalid", "decryption error"})


def passphrase_decrypt(data: bytes, passphrase: str) -> bytes:
    """Open an age file encrypted with a passphrase. Raises ``WrongPassphrase``, or
    ``IntegrityError`` when the passphrase opens it but its MAC or payload is damaged."""
    try:
        result: bytes = _age().passphrase.decrypt(data, passphrase)
    except _age().DecryptError as exc:
        if str(exc) in _DAMAGED_PAST_THE_KEY:
            raise IntegrityError(
                f"the passphrase opens it but the rest fails its check ({exc})"
            ) from exc
        raise WrongPassphrase("the passphrase does not open this vault") from exc
    return result


def _translate(exc: Exception, what: str) -> VaultError:
    text = str(exc)
    if "os error 28" in text or "No space left" in text:
        return StorageFull(f"the disk is full while writing {what}")
    return VaultError(f"encryption failed while writing {what}: {text}")


class _Capture:
    """Proxy for a reader or writer that remembers the first exception its callbacks raised.

    pyrage calls ``read``/``write`` from Rust and turns any Python exception into a bare
    ``EncryptError``/``DecryptError`` string, losing its type. A pulled cable (``SourceChanged``)
    or a full disk (``OSError(ENOSPC)``) must keep its meaning, so we catch it here and re-raise
    the original after pyrage returns.
    """

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.error: BaseException | None = None

    def read(self, n: int = -1) -> bytes:
        try:
            data: bytes = self._inner.read(n)  # type: ignore[attr-defined]
        except BaseException as exc:
            self.error = self.error or exc
            raise
        return data

    def write(self, data: bytes) -> int | None:
        try:
            written: int | None = self._inner.write(data)  # type: ignore[attr-defined]
        except BaseException as exc:
            self.error = self.error or exc
            raise
        return written


def _reraise(exc: Exception, ends: tuple[_Capture, _Capture], what: str) -> None:
    for end in ends:
        if end.error is not None:
            if isinstance(end.error, OSError) and end.error.errno == 28:
                raise StorageFull(f"the disk is full while writing {what}") from end.error
            raise end.error from None


def encrypt_stream(reader: BinaryIO, writer: Writable, recipient: str, what: str) -> None:
    """Stream ``reader`` into ``writer`` as an age file for ``recipient`` (bounded memory).

    Exceptions raised by the reader or the writer come out unchanged (a full disk as
    ``StorageFull``), so callers can tell a changed source from a broken vault.
    """
    ends = (_Capture(reader), _Capture(writer))
    try:
        _age().encrypt_io(ends[0], ends[1], [_age().x25519.Recipient.from_str(recipient)])
    except _age().EncryptError as exc:
        _reraise(exc, ends, what)
        raise _translate(exc, what) from exc


def decrypt_stream(reader: IO[bytes], writer: Writable, identity: Identity, what: str) -> None:
    """Stream an age file from ``reader`` into ``writer``. Damage raises ``IntegrityError``.

    age authenticates every 64 KiB chunk and flags the last one, so a flipped bit, a truncation
    or appended bytes all fail here; ``writer`` may already hold a prefix of the plaintext, which
    is why callers write to a ``.part`` file or a hash sink and decide only after success.
    """
    ends = (_Capture(reader), _Capture(writer))
    try:
        _age().decrypt_io(ends[0], ends[1], [identity.raw])
    except (_age().DecryptError, OSError) as exc:
        # pyrage reports a damaged header as DecryptError but a damaged or truncated payload
        # chunk as a bare OSError("decryption error"); ours (disk full) were captured above.
        _reraise(exc, ends, what)
        raise IntegrityError(f"{what} is damaged: {exc}") from exc


def encrypt_bytes(data: bytes, recipient: str, what: str) -> bytes:
    """Encrypt a small value (a catalogue segment, the index cache) in memory."""
    try:
        result: bytes = _age().encrypt(data, [_age().x25519.Recipient.from_str(recipient)])
    except _age().EncryptError as exc:
        raise _translate(exc, what) from exc
    return result


def decrypt_bytes(data: bytes, identity: Identity, what: str) -> bytes:
    try:
        result: bytes = _age().decrypt(data, [identity.raw])
    except _age().DecryptError as exc:
        raise IntegrityError(f"{what} cannot be decrypted: {exc}") from exc
    return result


def keyed_name(key: bytes) -> Callable[[bytes], str]:
    """Return ``f(sha256_digest) -> hex name``: HMAC-SHA256 under ``key`` of the plaintext digest.

    HMAC over the digest rather than over the plaintext saves a second pass over every byte; it is
    still a keyed function of the plaintext (collision-resistant SHA-256 inside, PRF outside).
    """

    def name(digest: bytes) -> str:
        return hmac.digest(key, digest, "sha256").hex()

    return name
