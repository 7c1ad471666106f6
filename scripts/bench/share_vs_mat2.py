"""Benchmark: ``companion share`` against ``mat2`` on the same photos and videos.

Method
------
1. A synthetic camera roll is written into the work folder: ``--photos`` photos (default 100:
   mostly 12 MP JPEGs, a few PNG screenshots at an iPhone's screen size and a few HEIC photos)
   and ``--videos`` H.264 QuickTime movies (default 5), all carrying an iPhone's EXIF (make,
   model, software, dates, GPS) or QuickTime keys (location, make, model, dates). Pixels come
   from a seed; a handful of pictures are drawn and each file gets its own EXIF, so no two files
   are the same bytes (a vault would store the same bytes once).
2. The photos and the videos are backed up into two vaults (work factor 10; not timed) and every
   stored file is recorded as scanned and clean, so the share leaves nothing out.
3. Each operation runs as a child process: ``companion share --to OUT`` from each vault (Python
   start, unlock, decrypting and cleaning every file, writing it, fsync), and ``mat2`` over a
   plain copy of the same files (``mat2 FILE...``, which writes ``NAME.cleaned.EXT`` beside each;
   the movies named ``.mp4``: mat2 refuses QuickTime's MIME type, not its bytes).
   Peak RSS and CPU time come from ``os.wait4`` (``benchkit.run_child``).
4. The ratio is companion's seconds over mat2's, on what both could clean: mat2 cleans videos
   with the ``ffmpeg`` program, which its Debian package only suggests; without it the videos
   are shared by companion (shown for information) and left out of the ratio. Target <= 1.0x.

The page cache is warm for both (the files were just written). MB means 10**6 bytes. A missed
target is a measurement, not an error: the exit status is non-zero only when a command fails.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from benchkit import MB, Check, CommandFailed, check_lines, log, run_child, work_folder

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "benchmark passphrase, not a secret"
MAT2 = shutil.which("mat2") or "/usr/bin/mat2"


@dataclass(frozen=True, slots=True)
class Bench:
    workdir: Path
    env: dict[str, str]


def make_photos(folder: Path, count: int, rng: Random, side: int) -> None:
    """``count`` photos: one in 10 a PNG screenshot, one in 16 a HEIC, the rest JPEGs."""
    sys.path.insert(0, str(ROOT))
    from companion.simulator.media import exif_bytes, heic_bytes, photo_pixels, screen_pixels

    size = (side, side * 3 // 4)
    bases = [photo_pixels(rng, size) for _ in range(4)]
    small = [photo_pixels(rng, (size[0] // 2, size[1] // 2)) for _ in range(2)]
    screen = screen_pixels(rng, (1170, 2532))
    when = datetime(2024, 6, 1, tzinfo=UTC)
    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        when += timedelta(minutes=rng.randint(1, 300))
        gps = (round(rng.uniform(-50, 60), 6), round(rng.uniform(-150, 150), 6))
        exif = exif_bytes(when, gps=gps)
        stem = folder / f"IMG_{number:04d}"
        if number % 10 == 0:
            screen.save(stem.with_suffix(".PNG"), "PNG", exif=exif, compress_level=1)
        elif number % 16 == 0:
            data = heic_bytes(small[number % 2], exif, thumbnail=320, fast=True)
            stem.with_suffix(".HEIC").write_bytes(data)
        else:
            buffer = io.BytesIO()
            bases[number % len(bases)].save(buffer, "JPEG", quality=90, exif=exif)
            stem.with_suffix(".JPG").write_bytes(buffer.getvalue())


def make_videos(folder: Path, count: int, seconds: int) -> None:
    """``count`` 720p H.264 movies of ``seconds`` seconds with an iPhone's QuickTime keys."""
    import av
    import numpy as np

    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        path = folder / f"IMG_{9000 + number:04d}.MOV"
        with av.open(
            str(path), "w", format="mov", options={"movflags": "use_metadata_tags"}
        ) as out:
            out.metadata.update(
                {
                    "com.apple.quicktime.location.ISO6709": f"+48.{number}584+002.2945/",
                    "com.apple.quicktime.make": "Apple",
                    "com.apple.quicktime.model": "iPhone 15",
                    "com.apple.quicktime.creationdate": "2024-06-01T14:03:22+0200",
                    "creation_time": "2024-06-01T12:03:22Z",
                }
            )
            stream = out.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
            stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
            noise = np.random.default_rng(number).integers(0, 255, (720, 1280, 3), np.uint8)
            for i in range(seconds * 30):
                frame = av.VideoFrame.from_ndarray(np.roll(noise, i * 8, axis=1), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)


def in_child(fn: Callable[..., None], *args: Any) -> None:
    """``fn(*args)`` in a fresh interpreter: this process stays small, so the peak RSS of the
    timed children (forked from it, and Linux counts the parent's pages in a child's peak until
    it runs its own program) is theirs."""
    child = multiprocessing.get_context("spawn").Process(target=fn, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise CommandFailed(f"{fn.__name__} exited {child.exitcode}")


def companion_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "companion", *args]


def backed_up(bench: Bench, source: Path, vault: Path) -> None:
    """A vault holding ``source``, every file recorded as scanned and clean (not timed)."""
    run_child(
        companion_cmd("vault", "init", "--vault", str(vault), "--kdf-work-factor", "10"),
        bench,
        f"init {vault.name}",
    )
    run_child(
        companion_cmd("backup", "--vault", str(vault), "--from", f"folder:{source}"),
        bench,
        f"backup {vault.name}",
    )
    in_child(_record_clean, vault, str(bench.workdir / "state"))


def _record_clean(vault: Path, state: str) -> None:
    os.environ["COMPANION_STATE_DIR"] = state
    sys.path.insert(0, str(ROOT))
    from companion.model import DetectorRun, ScanRecord
    from companion.vault import Vault

    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        for stored in opened.assets():
            runs = (DetectorRun("bench", "1", ()),)
            opened.record_scan(ScanRecord(stored.object_id, opened.now(), runs))


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / MB


def timed(bench: Bench, name: str, cmd: list[str]) -> dict[str, Any]:
    seconds, rss, cpu = run_child(cmd, bench, name)
    log(f"{name}: {seconds:.2f} s")
    return {"name": name, "seconds": seconds, "rss_mb": rss, "cpu_s": cpu}


def mat2_can_clean_videos() -> bool:
    return shutil.which("ffmpeg") is not None


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = Random(args.seed)
    photos, videos = workdir / "roll" / "photos" / "DCIM", workdir / "roll" / "videos" / "DCIM"
    log("making the photos and videos")
    in_child(make_photos, photos, args.photos, rng, args.side)
    in_child(make_videos, videos, args.videos, args.video_seconds)
    env = {
        **os.environ,
        "COMPANION_PASSPHRASE": PASSPHRASE,
        "PYTHONPATH": str(ROOT),
        "COMPANION_STATE_DIR": str(workdir / "state"),
    }
    env.pop("COMPANION_VAULT", None)
    bench = Bench(workdir, env)
    backed_up(bench, photos.parent, workdir / "vault-photos")
    backed_up(bench, videos.parent, workdir / "vault-videos")
    plain = workdir / "mat2"
    shutil.copytree(workdir / "roll", plain)
    runs = []
    for kind in ("photos", "videos"):
        out = workdir / f"shared-{kind}"
        cmd = companion_cmd(
            "share", "--vault", str(workdir / f"vault-{kind}"), "--to", str(out), "--json"
        )
        runs.append(timed(bench, f"companion share ({kind})", cmd) | {"mb": folder_mb(out)})
    photo_files = sorted(str(p) for p in (plain / "photos").rglob("*") if p.is_file())
    runs.append(timed(bench, "mat2 (photos)", [MAT2, *photo_files]) | {"mb": 0.0})
    videos_compared = mat2_can_clean_videos()
    if videos_compared:
        # mat2 tells a file's format by its MIME type and knows MP4, not QuickTime: the same
        # bytes under an .mp4 name (as tests/test_share_mat2.py gives them)
        for movie in sorted((plain / "videos").rglob("*.MOV")):
            movie.rename(movie.with_suffix(".mp4"))
        video_files = sorted(str(p) for p in (plain / "videos").rglob("*.mp4"))
        runs.append(timed(bench, "mat2 (videos)", [MAT2, *video_files]) | {"mb": 0.0})
    written = json.loads((workdir / "logs" / "companion-share-photos.out").read_text())
    left = tags_left(workdir, plain)
    by = {r["name"]: r["seconds"] for r in runs}
    ours = by["companion share (photos)"] + (
        by["companion share (videos)"] if videos_compared else 0
    )
    theirs = by["mat2 (photos)"] + by.get("mat2 (videos)", 0.0)
    return {
        "photos": args.photos,
        "videos": args.videos,
        "source_mb": {"photos": folder_mb(photos), "videos": folder_mb(videos)},
        "written": written["written"],
        "runs": runs,
        "videos_compared": videos_compared,
        "ratio": ours / theirs,
        "tags": left,
    }


STRUCTURE = ("System:", "ExifTool:", "SourceFile", "File:", "Composite:")


def _tags_by_stem(folder: Path, *, cleaned: bool = False) -> dict[str, set[str]]:
    """Every file's tags under ``folder`` (one exiftool run), by file stem; with ``cleaned``
    only mat2's copies (``NAME.cleaned.EXT``)."""
    done = subprocess.run(
        ["exiftool", "-j", "-G1", "-a", "-r", "-q", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, set[str]] = {}
    for entry in json.loads(done.stdout or "[]"):
        name = Path(entry["SourceFile"]).name
        if cleaned != (".cleaned." in name):
            continue
        found[name.split(".")[0]] = {k for k in entry if not k.startswith(STRUCTURE)}
    return found


def tags_left(workdir: Path, plain: Path) -> dict[str, Any]:
    """Over every file both cleaned: the tags mat2 removed that the share's copy still has, and
    those either leaves (counted over files), read with exiftool."""
    if shutil.which("exiftool") is None:
        return {"compared": 0}
    original = _tags_by_stem(workdir / "roll")
    ours = _tags_by_stem(workdir / "shared-photos") | _tags_by_stem(workdir / "shared-videos")
    theirs = _tags_by_stem(plain, cleaned=True)
    both = sorted(set(original) & set(ours) & set(theirs))
    missed: Counter[str] = Counter()
    left_ours: Counter[str] = Counter()
    left_theirs: Counter[str] = Counter()
    for stem in both:
        left_ours.update(ours[stem])
        left_theirs.update(theirs[stem])
        missed.update((original[stem] - theirs[stem]) & ours[stem])
    return {
        "compared": len(both),
        "removed_by_mat2_left_by_share": dict(missed),
        "left_by_share": dict(left_ours),
        "left_by_mat2": dict(left_theirs),
    }


def report(data: dict[str, Any]) -> list[str]:
    lines = [
        f"{data['photos']} photos ({data['source_mb']['photos']:.0f} MB), {data['videos']} videos "
        f"({data['source_mb']['videos']:.0f} MB); companion wrote {data['written']} photos",
        "",
        f"{'operation':<28}{'seconds':>9}{'peak RSS MB':>13}{'CPU s':>8}",
    ]
    for r in data["runs"]:
        lines.append(f"{r['name']:<28}{r['seconds']:>9.2f}{r['rss_mb']:>13.1f}{r['cpu_s']:>8.2f}")
    what = "photos and videos" if data["videos_compared"] else "photos (mat2 has no ffmpeg here)"
    check = Check(f"share / mat2, {what}", data["ratio"], "x", 1.0, "<=")
    tags = data["tags"]
    lines += ["", f"tags, over the {tags['compared']} files both cleaned (exiftool; files seen):"]
    ours, theirs = tags.get("left_by_share", {}), tags.get("left_by_mat2", {})
    for title, found in (
        ("removed by mat2, left by share", tags.get("removed_by_mat2_left_by_share", {})),
        ("left by share only", {t: n for t, n in ours.items() if t not in theirs}),
        ("left by mat2 only", {t: n for t, n in theirs.items() if t not in ours}),
    ):
        shown = ", ".join(f"{t} ({n})" for t, n in sorted(found.items())) or "none"
        lines.append(f"  {title}: {shown}")
    return [*lines, "", *check_lines([check], 52)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--videos", type=int, default=5)
    parser.add_argument("--side", type=int, default=4032, help="JPEG long side, pixels")
    parser.add_argument("--video-seconds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not Path(MAT2).exists():
        log("mat2 is not installed (Debian: apt-get install mat2)")
        return 1
    try:
        with work_folder(args.workdir, args.keep, "companion-share-bench-") as workdir:
            data = run(args, workdir)
    except CommandFailed as exc:
        log(str(exc))
        return 1
    print(json.dumps(data, indent=2) if args.json else "\n".join(report(data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
