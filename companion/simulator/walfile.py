"""The simulated iPhone's own handling of SQLite's write-ahead-log files.

SQLite salts a WAL with random bytes; ``resalt_wal`` puts salts from the seed in their place and
recomputes every checksum, so the same phone has the same bytes. ``write_shm`` makes the matching
``-shm`` index the way SQLite itself rebuilds it. The USB connector has its own WAL reader
(``connectors/usb/photosdb.py``): the phone does not read our code, and two independent
implementations of the checksum check each other in the tests.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
from pathlib import Path


def resalt_wal(wal: bytes, salt1: int, salt2: int) -> bytes:
    """``wal`` with its salts replaced and every checksum recomputed (SQLite's WAL format).

    The 32-byte header ends with a checksum of its first 24 bytes; each frame (24-byte header,
    then a page) carries the salts and a running checksum over its first 8 header bytes and
    its page. The magic number's low bit says whether checksums read words big-endian.
    """
    magic, version, page_size, sequence = struct.unpack(">IIII", wal[:16])
    order = ">" if magic & 1 else "<"
    header = struct.pack(">IIIIII", magic, version, page_size, sequence, salt1, salt2)
    checksum = _wal_checksum(order, header, (0, 0))
    out = [header, struct.pack(">II", *checksum)]
    frame = 24 + page_size
    for start in range(32, len(wal) - frame + 1, frame):
        head = wal[start : start + 8]
        page = wal[start + 24 : start + frame]
        checksum = _wal_checksum(order, head + page, checksum)
        out += [head, struct.pack(">IIII", salt1, salt2, *checksum), page]
    return b"".join(out)


def _wal_checksum(order: str, data: bytes, start: tuple[int, int]) -> tuple[int, int]:
    """SQLite's WAL checksum: two running 32-bit sums over pairs of words."""
    s0, s1 = start
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for index in range(0, len(words), 2):
        s0 = (s0 + words[index] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[index + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def write_shm(photo_data: Path, scratch: Path) -> None:
    """A ``-shm`` wal-index matching the rewritten WAL, as SQLite itself rebuilds it.

    Opening copies of the database and WAL makes SQLite recover the index from the WAL; the
    index is taken while that reader is open, since the last connection's close removes it.
    """
    scratch.mkdir(parents=True)
    for suffix in ("", "-wal"):
        shutil.copyfile(photo_data / f"Photos.sqlite{suffix}", scratch / f"Photos.sqlite{suffix}")
    reader = sqlite3.connect(scratch / "Photos.sqlite")
    try:
        reader.execute("SELECT count(*) FROM ZASSET").fetchone()
        shutil.copyfile(scratch / "Photos.sqlite-shm", photo_data / "Photos.sqlite-shm")
    finally:
        reader.close()
