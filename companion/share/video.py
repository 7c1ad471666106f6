"""A video's metadata taken out without encoding it again: its streams copied into a new file.

A QuickTime or MP4 file keeps its metadata in atoms beside the streams: ``moov/udta`` (``©xyz``,
the place; ``©mak``, ``©mod``, ``©swr``, ``©day``), ``moov/meta`` with ``mdta`` keys
(``com.apple.quicktime.location.ISO6709``, ``make``, ``model``, ``software``,
``creationdate``), the creation times of the movie, its tracks and their media, and timed
metadata tracks (an iPhone's ``mebx``: the Live Photo link, detected faces, the location again).

The copy is a remux with PyAV (FFmpeg's libraries): the video and audio packets are copied as
they are, into a new container written by FFmpeg's muxer with no metadata given to it (the
same as ``ffmpeg -map_metadata -1 -c copy``) and in bit-exact mode (so it does not sign the file
with its own version either). Every other stream (timed metadata, chapters, subtitles) is left
out. The rotation of the picture, which the player needs, is kept. With ``--keep-date`` the
movie's creation time is written again, nothing else.

PyAV ships with the scan extra (``pip install 'companion[scan]'``); without it, videos are left
out and the report says why.
"""

from __future__ import annotations

import io
from pathlib import Path

from companion.errors import CompanionError

KEPT_STREAMS = ("video", "audio")


class VideoUnavailable(CompanionError):
    """Videos cannot be copied here: PyAV is not installed."""


class Unremuxable(CompanionError):
    """The video could not be read or written again (damaged, or a format FFmpeg refuses)."""


def has_remuxer() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def remux(source: Path | io.IOBase, target: Path, container: str, *, keep_date: bool) -> None:
    """Copy the video and audio streams of ``source`` (a file, or a readable and seekable
    stream) into ``target`` (a new file, written as ``container``: "mov" or "mp4"), with no
    metadata (module docstring)."""
    try:
        import av
    except ImportError as exc:
        raise VideoUnavailable(
            "videos need PyAV to be copied without their metadata",
            hint="Install the scan extra: pip install 'companion[scan]'.",
        ) from exc
    try:
        with av.open(source if not isinstance(source, Path) else str(source)) as src:
            created = src.metadata.get("creation_time") if keep_date else None
            with av.open(
                str(target), "w", format=container, options={"fflags": "+bitexact"}
            ) as dst:
                _copy(src, dst, created)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, av.error.FFmpegError):
            raise
        raise Unremuxable(f"the video cannot be copied: {exc}") from exc


def _copy(src: object, dst: object, created: str | None) -> None:
    from av.container import InputContainer, OutputContainer

    assert isinstance(src, InputContainer) and isinstance(dst, OutputContainer)
    if created:
        dst.metadata["creation_time"] = created
    mapped = {}
    for stream in src.streams:
        if stream.type in KEPT_STREAMS:
            mapped[stream.index] = dst.add_stream_from_template(stream)
    if not mapped:
        raise ValueError("no video or audio stream")
    for packet in src.demux(*(src.streams[i] for i in mapped)):
        if packet.dts is None:  # the flush packet a demuxer ends each stream with
            continue
        packet.stream = mapped[packet.stream.index]
        dst.mux(packet)
