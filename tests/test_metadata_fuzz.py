"""Headers from devices are untrusted: probing garbage must answer 'unknown', never fail."""

from __future__ import annotations

import io
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.connectors.metadata import read_facts

PREFIXES = {
    ".jpg": b"\xff\xd8\xff\xe1",
    ".png": b"\x89PNG\r\n\x1a\n",
    ".heic": struct.pack(">I4s4s", 24, b"ftyp", b"heic") + b"\x00" * 12,
    ".mov": struct.pack(">I4s4s", 20, b"ftyp", b"qt  ") + b"\x00" * 8,
    ".tif": b"II*\x00",
}


@settings(max_examples=300, deadline=None)
@given(
    suffix=st.sampled_from(sorted(PREFIXES)), tail=st.binary(max_size=4096), prefixed=st.booleans()
)
def test_probing_garbage_never_raises(suffix: str, tail: bytes, prefixed: bool) -> None:
    data = (PREFIXES[suffix] if prefixed else b"") + tail
    facts = read_facts(io.BytesIO(data), suffix)
    assert facts is None or facts.captured_at is None or facts.captured_at.tzinfo is not None


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=8),
    kinds=st.lists(
        st.sampled_from([b"moov", b"meta", b"udta", b"mvhd", b"iloc", b"iinf", b"mdat", b"ftyp"]),
        min_size=1,
        max_size=8,
    ),
)
def test_hostile_box_sizes_are_refused_not_followed(sizes: list[int], kinds: list[bytes]) -> None:
    boxes = b"".join(
        struct.pack(">I4s", size, kind) + b"\x00" * 8
        for size, kind in zip(sizes, kinds, strict=False)
    )
    for suffix in (".mov", ".heic"):
        read_facts(io.BytesIO(PREFIXES[suffix] + boxes), suffix)
