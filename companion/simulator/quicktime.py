"""Minimal QuickTime movies laid out as an iPhone writes them, for the simulated camera roll.

Only the atoms a reader of capture dates needs are present; the ``mdat`` holds whatever payload
the caller gives (random bytes in a simulated roll). Atom sizes are 32-bit, so a movie stays
under 4 GiB; ``write_quicktime`` streams big ones without holding them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO

_QT_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
_LANGUAGE_UND = 0x55C4  # ISO 639-2 "und" packed into 15 bits, as QuickTime text atoms carry it
_MAX_PAYLOAD = 2**32 - 1 - 8 - 65536  # an mdat (and the file) must fit 32-bit atom sizes


def make_quicktime(
    captured_at: datetime,
    payload: bytes,
    *,
    creation_key: bool = True,
    udta_date: bool = True,
    duration_s: float = 3.0,
    model: str = "iPhone 15",
) -> bytes:
    """A minimal, well-formed QuickTime movie as an iPhone lays it out: ftyp, wide, mdat, moov.

    ``moov`` holds ``mvhd`` (creation time in UTC seconds since 1904), optionally ``udta/©day``
    and always a ``meta`` with ``mdta`` keys (make, model and, if ``creation_key``,
    ``com.apple.quicktime.creationdate``). ``payload`` becomes the ``mdat``. Tests use the flags
    to make movies whose only date is the one in ``mvhd``.
    """
    moov = _moov(captured_at, creation_key, udta_date, duration_s, model)
    return _head(len(payload)) + payload + moov


def write_quicktime(
    out: BinaryIO,
    captured_at: datetime,
    chunks: Iterable[bytes],
    payload_size: int,
    *,
    duration_s: float = 3.0,
    model: str = "iPhone 15",
    udta_date: bool = True,
) -> int:
    """Stream the movie ``make_quicktime`` would make for ``b"".join(chunks)`` into ``out``.

    For movies too big to hold: the ``mdat`` size is written first from ``payload_size``, then
    the chunks as they come. Raises ``ValueError`` if the chunks do not add up to
    ``payload_size`` (the atom sizes would lie) or the movie would outgrow 32-bit atoms.
    Returns the bytes written.
    """
    if payload_size > _MAX_PAYLOAD:
        raise ValueError(f"a payload of {payload_size} bytes needs 64-bit atoms")
    moov = _moov(captured_at, True, udta_date, duration_s, model)
    head = _head(payload_size)
    out.write(head)
    written = 0
    for chunk in chunks:
        out.write(chunk)
        written += len(chunk)
    if written != payload_size:
        raise ValueError(f"payload was {written} bytes, not the {payload_size} announced")
    out.write(moov)
    return len(head) + written + len(moov)


def _head(payload_size: int) -> bytes:
    """ftyp, wide and the mdat header: everything before the payload."""
    ftyp = _atom(b"ftyp", b"qt  ", struct.pack(">I", 0), b"qt  ")
    return ftyp + _atom(b"wide") + struct.pack(">I4s", 8 + payload_size, b"mdat")


def _moov(
    captured_at: datetime, creation_key: bool, udta_date: bool, duration_s: float, model: str
) -> bytes:
    offset = captured_at.utcoffset()
    if offset is None:
        raise ValueError("capture times must be aware")
    minutes = int(offset.total_seconds()) // 60
    hours, rest = divmod(abs(minutes), 60)
    # iOS writes the offset without a colon: 2024-06-01T14:03:22+0200.
    date_text = captured_at.strftime("%Y-%m-%dT%H:%M:%S") + (
        f"{'-' if minutes < 0 else '+'}{hours:02d}{rest:02d}"
    )
    keys = {"com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": model}
    if creation_key:
        keys["com.apple.quicktime.creationdate"] = date_text
    seconds = int((captured_at - _QT_EPOCH).total_seconds())
    moov = [_atom(b"mvhd", _mvhd_body(seconds, round(duration_s * 600)))]
    if udta_date:
        text = date_text.encode("ascii")
        moov.append(
            _atom(b"udta", _atom(b"\xa9day", struct.pack(">HH", len(text), _LANGUAGE_UND), text))
        )
    moov.append(_mdta_meta(keys))
    return _atom(b"moov", *moov)


def _atom(kind: bytes, *children: bytes) -> bytes:
    """A QuickTime atom: 32-bit big-endian size (header included), four-character type, body."""
    body = b"".join(children)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _mvhd_body(created: int, duration: int) -> bytes:
    """Version-0 movie header: 32-bit times, time scale 600 as iOS uses, identity matrix."""
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    return b"".join(
        [
            struct.pack(">B3xIIII", 0, created, created, 600, duration),
            struct.pack(">IH10x", 0x10000, 0x100),  # rate 1.0, volume 1.0, reserved
            matrix,
            bytes(24),  # preview, poster, selection and current times
            struct.pack(">I", 1),  # next track id
        ]
    )


def _mdta_meta(entries: dict[str, str]) -> bytes:
    """``moov/meta`` in the QuickTime layout: hdlr ``mdta``, a ``keys`` list, ``ilst`` values.

    Unlike MP4's ``meta``, the QuickTime one has no version/flags word: children follow the
    header directly. ``ilst`` items are typed by their 1-based key index; ``data`` type 1 is UTF-8.
    """
    hdlr = _atom(b"hdlr", bytes(8), b"mdta", bytes(12), b"\x00")
    names = [name.encode("ascii") for name in entries]
    keys = _atom(
        b"keys",
        struct.pack(">II", 0, len(names)),
        *(struct.pack(">I4s", 8 + len(name), b"mdta") + name for name in names),
    )
    items = [
        _atom(struct.pack(">I", index), _atom(b"data", struct.pack(">II", 1, 0), value.encode()))
        for index, value in enumerate(entries.values(), start=1)
    ]
    return _atom(b"meta", hdlr, keys, _atom(b"ilst", *items))
