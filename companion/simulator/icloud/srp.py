"""The server half of Apple's SRP-6a sign-in, so that a wrong password really fails.

idmsa.apple.com signs a web client in without ever seeing its password: the client proves it
knows it (RFC 5054 SRP-6a over the 2048-bit group, SHA-256). Apple's variant, as pyicloud and the
``srp`` library it drives speak it:

- the password is first stretched: ``p = PBKDF2-HMAC-SHA256(SHA256(password), salt, iterations,
  32)`` ("s2k"), or the same over the hex digest's ASCII ("s2k_fo");
- the user name is left out of ``x``: ``x = H(salt | H(":" | p))`` (``srp.no_username_in_x``);
- ``k = H(N | PAD(g))``, ``u = H(PAD(A) | PAD(B))`` (``srp.rfc5054_enable``), ``K = H(S)``,
  ``M1 = H(H(N) xor H(PAD(g)) | H(I) | salt | A | B | K)`` and ``M2 = H(A | M1 | K)``, numbers
  as minimal big-endian bytes.

The salt's first byte is never zero: the library's OpenSSL back end reads the salt as a number,
which would drop a leading zero byte and disagree with the pure-Python one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

# RFC 5054 appendix A, the 2048-bit group.
N = int(
    "AC6BDB41324A9A9BF166DE5E1389582FAF72B6651987EE07FC3192943DB56050A37329CBB4A099ED8193E0757767"
    "A13DD52312AB4B03310DCD7F48A9DA04FD50E8083969EDB767B0CF6095179A163AB3661A05FBD5FAAAE82918A996"
    "2F0B93B855F97993EC975EEAA80D740ADBF4FF747359D041D5C33EA71D281E446B14773BCA97B43A23FB80167"
    "6BD207A436C6481F1D2B9078717461A5B9D32E688F87748544523B524B0D57D5EA77A2775D2ECFA032CFBDBF52F"
    "B3786160279004E57AE6AF874E7303CE53299CCC041C7BC308D82A5698F3A8D0C38271AE35F8E9DBFBB694B5C80"
    "3D89F7AE435DE236D525F54759B65E372FCD68EF20FA7111F9E4AFF73",
    16,
)
G = 2
_WIDTH = (N.bit_length() + 7) // 8
PROTOCOLS = ("s2k", "s2k_fo")


def _bytes(number: int) -> bytes:
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def _padded(number: int) -> bytes:
    return number.to_bytes(_WIDTH, "big")


def _h(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


_K = int.from_bytes(_h(_bytes(N), _padded(G)), "big")
_HNXORG = bytes(a ^ b for a, b in zip(_h(_bytes(N)), _h(_padded(G)), strict=True))


def stretch(password: str, salt: bytes, iterations: int, protocol: str) -> bytes:
    """Apple's password stretching before SRP ("s2k" or "s2k_fo")."""
    digest = hashlib.sha256(password.encode("utf-8")).digest()
    if protocol == "s2k_fo":
        digest = digest.hex().encode("ascii")
    elif protocol != "s2k":
        raise ValueError(f"unknown password protocol {protocol!r}")
    return hashlib.pbkdf2_hmac("sha256", digest, salt, iterations, 32)


def new_salt() -> bytes:
    """16 random bytes, the first never zero (see the module docstring)."""
    return bytes([secrets.randbelow(255) + 1]) + secrets.token_bytes(15)


def verifier(password: str, salt: bytes, iterations: int, protocol: str) -> int:
    """``v = g^x mod N`` for a password: what the server keeps instead of the password."""
    stretched = stretch(password, salt, iterations, protocol)
    x = int.from_bytes(_h(salt, _h(b":" + stretched)), "big")
    return pow(G, x, N)


@dataclass(frozen=True, slots=True)
class Challenge:
    """One sign-in attempt between ``signin/init`` and ``signin/complete``."""

    account_name: str
    salt: bytes
    v: int
    a_public: int
    b_secret: int
    b_public: int

    @property
    def b_bytes(self) -> bytes:
        return _bytes(self.b_public)


def challenge(account_name: str, salt: bytes, v: int, a_bytes: bytes) -> Challenge | None:
    """The server's answer to a client's ``A``; None when ``A`` fails the SRP-6a check."""
    a_public = int.from_bytes(a_bytes, "big")
    if a_public % N == 0:
        return None
    b_secret = secrets.randbits(256 * 8) | (1 << (256 * 8 - 1))
    b_public = (_K * v + pow(G, b_secret, N)) % N
    return Challenge(account_name, salt, v, a_public, b_secret, b_public)


def check_proof(state: Challenge, m1: bytes, m2: bytes) -> bool:
    """Whether the client's ``M1`` (and the ``M2`` it computed) prove it knows the password."""
    u = int.from_bytes(_h(_padded(state.a_public), _padded(state.b_public)), "big")
    if u == 0:
        return False
    shared = pow(state.a_public * pow(state.v, u, N), state.b_secret, N)
    key = _h(_bytes(shared))
    expected = _h(
        _HNXORG,
        _h(state.account_name.encode("utf-8")),
        state.salt,
        _bytes(state.a_public),
        _bytes(state.b_public),
        key,
    )
    if not hmac.compare_digest(expected, m1):
        return False
    return hmac.compare_digest(_h(_bytes(state.a_public), expected, key), m2)
