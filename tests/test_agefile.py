"""The age reader that seeks (``vault.agefile``) against pyrage, the implementation that wrote the
files: the same bytes at every offset, and nothing read from a file that does not authenticate."""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from companion.errors import IntegrityError
from companion.vault import crypto
from companion.vault.agefile import CHUNK, AgeReader, digest_of

SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 12345]


@pytest.fixture(scope="module")
def identity() -> crypto.Identity:
    return crypto.Identity.generate()


def _sealed(tmp_path: Path, data: bytes, identity: crypto.Identity) -> Path:
    out = io.BytesIO()
    crypto.encrypt_stream(io.BytesIO(data), out, identity.recipient(), "test")
    path = tmp_path / f"object-{len(data)}.age"
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.parametrize("size", SIZES)
def test_every_offset_reads_what_pyrage_decrypts(
    tmp_path: Path, identity: crypto.Identity, size: int
) -> None:
    data = random.Random(size).randbytes(size)
    path = _sealed(tmp_path, data, identity)
    with path.open("rb") as fh:
        reader = AgeReader(fh, identity, "test")
        assert reader.size == size and reader.read() == data
        rng = random.Random(size + 1)
        for _ in range(40):
            start = rng.randrange(0, size + 2)
            length = rng.randrange(0, 2 * CHUNK)
            reader.seek(start)
            assert reader.read(length) == data[start : start + length]
        if size:
            assert reader.seek(-1, io.SEEK_END) == size - 1 and reader.read() == data[-1:]
        assert digest_of(reader) == (size, hashlib.sha256(data).hexdigest())


def test_a_file_from_the_stock_age_tool_reads_too(
    tmp_path: Path, identity: crypto.Identity
) -> None:
    age = shutil.which("age")
    if age is None:
        pytest.skip("the age command is not installed (apt-get install age)")
    data = random.Random(7).randbytes(2 * CHUNK + 99)
    plain = tmp_path / "plain"
    plain.write_bytes(data)
    sealed = tmp_path / "sealed.age"
    subprocess.run([age, "-r", identity.recipient(), "-o", str(sealed), str(plain)], check=True)
    with sealed.open("rb") as fh:
        reader = AgeReader(fh, identity, "test")
        reader.seek(CHUNK + 5)
        assert reader.read(CHUNK) == data[CHUNK + 5 : 2 * CHUNK + 5]


def _damaged(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    header_end = raw.index(b"\n---") + 4
    header_end = raw.index(b"\n", header_end) + 1
    if how == "payload bit":
        raw[header_end + 16 + 100] ^= 1
    elif how == "header bit":
        raw[30] ^= 1
    elif how == "mac":
        at = raw.index(b"\n--- ") + 6
        raw[at] = ord("A") if raw[at] != ord("A") else ord("B")
    elif how == "cut at a chunk end":
        del raw[header_end + 16 + CHUNK + 16 :]
    elif how == "cut in a chunk":
        del raw[-7:]
    elif how == "bytes added":
        raw += b"\x00" * 40
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "how",
    ["payload bit", "header bit", "mac", "cut at a chunk end", "cut in a chunk", "bytes added"],
)
def test_nothing_is_read_from_a_file_that_does_not_authenticate(
    tmp_path: Path, identity: crypto.Identity, how: str
) -> None:
    data = random.Random(3).randbytes(3 * CHUNK + 500)
    path = _sealed(tmp_path, data, identity)
    _damaged(path, how)
    with path.open("rb") as fh, pytest.raises(IntegrityError):
        reader = AgeReader(fh, identity, "IMG_0004.MOV")
        reader.read()


def test_another_key_reads_nothing(tmp_path: Path, identity: crypto.Identity) -> None:
    path = _sealed(tmp_path, b"secret movie", identity)
    with path.open("rb") as fh, pytest.raises(IntegrityError, match="not encrypted to this"):
        AgeReader(fh, crypto.Identity.generate(), "IMG_0004.MOV")
