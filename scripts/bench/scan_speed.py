"""Benchmark: companion's cheap scan pass against NudeNet alone, on 12 MP photos.

Method
------
1. ``--count`` files (default 300) in DIR/DCIM/100APPLE: 4032x3024 photos, mostly JPEG (EXIF,
   half of them with GPS, some at a declared private place), ``--heic`` of them HEIC (default 6:
   x265's ultrafast preset with a 320 px thumbnail as iPhones embed; even so each takes seconds,
   and the default preset takes 18-33 s at 12 MP), and 10 % PNG screenshots at 1170x2532 with
   text on them. Made once from a seed; ``--keep DIR`` keeps them and reuses them next time.
2. The peer, in a child process: ``NudeDetector().detect(path)`` over every file, what a person
   running NudeNet alone would do. NudeNet reads files with OpenCV, which cannot read HEIC: for
   those the child hands it the array decoded by Pillow + pillow-heif (BGR, as OpenCV gives).
   NudeNet's onnxruntime session uses its default threads (every core).
3. companion's cheap pass, in a child process: the files are backed up into a throwaway vault
   (work factor 10, untimed; each run gets a fresh copy of it), then ``scan_vault(only=[nudity,
   secret_qr, private_place, screenshot, hidden, faces], jobs=cores)``: the flags, places, QR and
   nudity detectors (everything but OCR), objects decrypted in memory by worker processes.
4. The full cascade (OCR included) the same way, for information: no target.
5. Stages: one process, no vault, ``--stages`` files (default 30) through the detectors directly,
   each timed: decode (the reduced image, and the full one for screenshots), places, QR, nudity,
   text.

Both sides are timed as whole child processes (Python start, imports, model loading, the work);
CPU seconds are the child's and its workers' (``os.wait4``; inside the child,
``getrusage(RUSAGE_CHILDREN)`` gives the workers' share). Target: cheap pass / NudeNet <= 1.2x.
10,000 photos are extrapolated from the scan's own rate (images per second of the timed run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from benchkit import Check, CommandFailed, check_lines, log, run_child, slug, work_folder
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "scripts" / "eval")]

CHEAP = ["nudity", "secret_qr", "private_place", "screenshot", "hidden", "faces"]
RATIO_TARGET = 1.2
PHOTO = (4032, 3024)
SCREEN = (1170, 2532)
HOME = (48.8275, 2.3495)
PASSPHRASE = "bench"
TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    seconds: float  # the child process, start to end
    rss_mb: float
    cpu_seconds: float
    detail: dict[str, Any]


# -- the photos ----------------------------------------------------------------------------------


def make_photos(root: Path, count: int, heic: int, seed: int) -> list[Path]:
    """The benchmark's files, made once (a file already there is kept)."""
    from corpus_draw import FontBook, Screen

    from companion.simulator.media import exif_bytes, heic_bytes, png_bytes

    folder = root / "DCIM" / "100APPLE"
    folder.mkdir(parents=True, exist_ok=True)
    book = FontBook.discover()
    noise = Image.effect_noise(PHOTO, 40).convert("RGB")  # sensor noise, shared: fast to make
    screenshots = max(1, count // 10)
    paths = []
    for index in range(1, count + 1):
        rng = Random(f"{seed}/{index}")
        kind = (
            "png"
            if index % 10 == 5 and screenshots
            else ("heic" if index <= heic * 7 and index % 7 == 3 else "jpg")
        )
        path = folder / f"IMG_{index:04d}.{kind.upper()}"
        paths.append(path)
        if path.exists():
            continue
        when = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(hours=index)
        if kind == "png":
            screen = Screen(rng, book, size=SCREEN)
            screen.title(rng.choice(("Messages", "Notes", "Safari")))
            while not screen.full():
                screen.text(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))), 17)
                screen.gap(10)
            data = png_bytes(screen.image, exif_bytes(when, None, comment="Screenshot"))
        else:
            gps = None if rng.random() < 0.5 else (HOME if rng.random() < 0.2 else (45.0, 4.0))
            image = photo_12mp(rng, noise)
            exif = exif_bytes(when, gps)
            if kind == "heic":
                data = heic_bytes(image, exif, thumbnail=320, fast=True)
            else:
                buffer = io.BytesIO()
                image.save(buffer, "JPEG", quality=88, exif=exif)
                data = buffer.getvalue()
        path.write_bytes(data)
        if index % 25 == 0:
            log(f"  made {index}/{count}")
    return paths


def photo_12mp(rng: Random, noise: Image.Image) -> Image.Image:
    """A 12 MP photo-like picture: a scene drawn at a quarter of the size, scaled up, plus
    noise (about 1 s a file, against 3 s drawn at full size; it compresses like a photo)."""
    from corpus_draw import scene

    small = scene(rng, (PHOTO[0] // 4, PHOTO[1] // 4)).resize(PHOTO, Image.Resampling.BICUBIC)
    return Image.blend(small, noise, rng.uniform(0.05, 0.1))


WORDS = (
    "the",
    "train",
    "leaves",
    "at",
    "seven",
    "demain",
    "rendez-vous",
    "merci",
    "photo",
    "weekend",
    "dinner",
    "ok",
    "see",
    "you",
    "soon",
    "on",
    "part",
    "quand",
    "bientôt",
)


# -- children ------------------------------------------------------------------------------------


def child_peer(files: list[str]) -> dict[str, Any]:
    """NudeNet alone over every file (HEIC decoded by Pillow, as OpenCV cannot)."""
    from companion.sensitivity.base import no_telemetry

    no_telemetry()  # before onnxruntime is imported, as the scan does
    import numpy as np
    from nudenet import NudeDetector  # noqa: TID251 - the peer, measured as a person runs it
    from PIL import Image

    from companion.pictures import _register_heif

    _register_heif()
    start = time.perf_counter()
    detector = NudeDetector()
    loaded = time.perf_counter()
    for name in files:
        if name.lower().endswith(".heic"):
            with Image.open(name) as image:
                detector.detect(np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1]))
        else:
            detector.detect(name)
    end = time.perf_counter()
    return {"load_seconds": loaded - start, "loop_seconds": end - loaded}


def child_scan(vault_dir: str, only: list[str] | None, jobs: int) -> dict[str, Any]:
    from companion.sensitivity.scan import failed_runs, scan_vault
    from companion.vault import Vault

    with Vault.open(Path(vault_dir), PASSPHRASE, write=True) as vault:
        start = time.perf_counter()
        report = scan_vault(vault, only=only, jobs=jobs)
        seconds = time.perf_counter() - start
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "scan_seconds": seconds,
        "scanned": report.scanned,
        "failed": report.failed + [(p, f"{d}: {why}") for p, d, why in failed_runs(report)],
        "unavailable": report.unavailable,
        "counts": report.counts(),
        "worker_cpu": workers.ru_utime + workers.ru_stime,
        "main_cpu": own.ru_utime + own.ru_stime,
    }


def child_stages(files: list[str]) -> dict[str, Any]:
    """Each stage timed on its own, one process, no vault (models loaded before timing)."""
    from companion.model import Asset, AssetKind, Place
    from companion.pictures import Subject
    from companion.sensitivity.base import ScanSettings
    from companion.sensitivity.detectors import registered

    settings = ScanSettings(places=(Place("home", *HOME, 150.0),))
    detectors = {s.name: s.load(settings) for s in registered() if s.unavailable() is None}
    times: dict[str, dict[str, float]] = {}
    for name in files:
        data = Path(name).read_bytes()
        suffix = name.rsplit(".", 1)[1].lower()
        shot = suffix == "png"
        asset = Asset("bench", name, len(data), 0, AssetKind.PHOTO, screenshot=shot)
        subject = Subject(asset, data)
        steps: list[tuple[str, Any]] = [("decode reduced", subject.reduced)]
        steps += [("decode full", subject.full)] if shot else []
        steps += [
            (n, lambda d=d, s=subject: d.detect(s)) for n, d in detectors.items() if n != "flags"
        ]
        for stage, step in steps:
            start = time.perf_counter()
            step()
            times.setdefault(suffix, {}).setdefault(stage, 0.0)
            times[suffix][stage] += time.perf_counter() - start
    counts = {s: sum(1 for f in files if f.lower().endswith("." + s)) for s in times}
    return {"seconds": times, "files": counts}


def child_main(mode: str, payload: str) -> int:
    spec = json.loads(payload)
    out = {
        "peer": lambda: child_peer(spec["files"]),
        "scan": lambda: child_scan(spec["vault"], spec["only"], spec["jobs"]),
        "stages": lambda: child_stages(spec["files"]),
    }[mode]()
    print(json.dumps(out))
    return 0


# -- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bench:
    workdir: Path
    env: dict[str, str]


def measure(bench: Bench, name: str, mode: str, spec: dict[str, Any]) -> Result:
    log(f"running {name}")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, json.dumps(spec)]
    seconds, rss, cpu = run_child(cmd, bench, name, TIMEOUT)
    detail = json.loads((bench.workdir / "logs" / f"{slug(name)}.out").read_text())
    log(f"  {name}: {seconds:.1f} s")
    return Result(name, seconds, rss, cpu, detail)


def backed_up_vault(workdir: Path, photos: Path) -> Path:
    from companion.backup import VaultStore, run_backup
    from companion.connectors import connect
    from companion.model import Place
    from companion.vault import Vault

    path = workdir / "vault-base"
    log("backing the files up into a throwaway vault (untimed)")
    with Vault.create(path, PASSPHRASE, work_factor=10) as vault:
        report = run_backup(connect(f"folder:{photos}"), VaultStore(vault))
        vault.set_place(Place("home", *HOME, 150.0))
    if report.failed:
        raise CommandFailed(f"backup failed: {report.failed}")
    return path


def fresh_copy(base: Path, name: str) -> Path:
    copy = base.with_name(name)
    shutil.copytree(base, copy)
    return copy


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    photos = (args.keep or workdir / "photos").resolve()
    log(f"making {args.count} files in {photos} (kept ones are reused)")
    paths = make_photos(photos, args.count, args.heic, args.seed)
    files = [str(p) for p in paths]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    bench = Bench(workdir, env)
    base = backed_up_vault(workdir, photos)
    jobs = args.jobs or os.cpu_count() or 1
    results: list[Result] = []
    load_before = os.getloadavg()[0]
    for number in range(1, args.rounds + 1):
        results.append(measure(bench, f"nudenet alone [{number}]", "peer", {"files": files}))
        vault = fresh_copy(base, f"vault-cheap-{number}")
        spec = {"vault": str(vault), "only": CHEAP, "jobs": jobs}
        results.append(measure(bench, f"companion cheap pass [{number}]", "scan", spec))
        shutil.rmtree(vault)
    if not args.no_full:
        vault = fresh_copy(base, "vault-full")
        spec = {"vault": str(vault), "only": None, "jobs": jobs}
        results.append(measure(bench, "companion full cascade (OCR)", "scan", spec))
    sample = stage_sample(files, args.stages)
    stages = measure(bench, "stages", "stages", {"files": sample}) if args.stages else None
    sizes = {
        s: sum(1 for p in paths if p.suffix.lower() == "." + s) for s in ("jpg", "heic", "png")
    }
    return {
        "files": len(paths),
        "formats": sizes,
        "jobs": jobs,
        "results": results,
        "stages": stages,
        "load": (load_before, os.getloadavg()[0]),
    }


def stage_sample(files: list[str], count: int) -> list[str]:
    """About ``count`` files for the stage timing: a sixth screenshots, a sixth HEIC (as many
    as there are), the rest JPEG."""
    by_kind = {k: [f for f in files if f.lower().endswith(k)] for k in (".png", ".heic", ".jpg")}
    pngs, heics = by_kind[".png"][: count // 6], by_kind[".heic"][: count // 6]
    return pngs + heics + by_kind[".jpg"][: count - len(pngs) - len(heics)]


def report(out: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    n = out["files"]
    results: list[Result] = out["results"]

    def best(prefix: str) -> Result:
        return min((r for r in results if r.name.startswith(prefix)), key=lambda r: r.seconds)

    peer, cheap = best("nudenet alone"), best("companion cheap pass")
    full = next((r for r in results if r.name.startswith("companion full")), None)
    load = out["load"]
    formats = ", ".join(f"{k} {v}" for k, v in out["formats"].items())
    lines = [
        f"machine: {os.cpu_count()} cores; scan jobs: {out['jobs']}; load average before/after "
        f"the timed runs: {load[0]:.2f} / {load[1]:.2f} (above 0.5, something else was running)",
        f"files: {n} ({formats}), photos {PHOTO[0]}x{PHOTO[1]}",
        "",
        f"{'operation':<36}{'seconds':>9}{'images/s':>10}{'CPU s':>8}{'CPU/wall':>9}{'RSS MB':>8}",
    ]
    for r in [peer, cheap, *([full] if full else [])]:
        lines.append(
            f"{r.name:<36}{r.seconds:>9.1f}{n / r.seconds:>10.2f}{r.cpu_seconds:>8.1f}"
            f"{r.cpu_seconds / r.seconds:>9.2f}{r.rss_mb:>8.0f}"
        )
    for r in [cheap, *([full] if full else [])]:
        d = r.detail
        lines.append(
            f"  {r.name}: scan_vault {d['scan_seconds']:.1f} s for {d['scanned']} objects; "
            f"workers' CPU {d['worker_cpu']:.1f} s, main {d['main_cpu']:.1f} s; found {d['counts']}"
        )
        lines += [f"    could not scan {path}: {why}" for path, why in d["failed"]]
        lines += [f"    {name} unavailable: {why}" for name, why in d["unavailable"].items()]
    d = peer.detail
    lines.append(
        f"  {peer.name}: model load {d['load_seconds']:.1f} s, loop {d['loop_seconds']:.1f} s"
    )
    ratio = cheap.seconds / peer.seconds
    checks = [Check("cheap pass / NudeNet alone", ratio, "x", RATIO_TARGET, "<=")]
    if full:
        checks.append(
            Check("full cascade / NudeNet alone", full.seconds / peer.seconds, "x", None, "<=")
        )
    rate = cheap.detail["scanned"] / cheap.detail["scan_seconds"]
    extrapolated = {"cheap pass": 10_000 / rate / 60}
    if full:
        extrapolated["full cascade"] = (
            10_000 * full.detail["scan_seconds"] / full.detail["scanned"] / 60
        )
    extrapolated["nudenet alone"] = 10_000 * peer.detail["loop_seconds"] / n / 60
    lines += ["", *check_lines(checks, 34), ""]
    lines += [f"10,000 photos, {k}: about {v:.0f} min" for k, v in extrapolated.items()]
    if out["stages"]:
        st = out["stages"].detail
        counted = st["files"].items()
        lines += [
            "",
            f"stages, one process, ms per file ({', '.join(f'{k} {v}' for k, v in counted)}):",
        ]
        for suffix, stage_times in st["seconds"].items():
            count = st["files"][suffix]
            lines.append(
                f"  {suffix:<5}"
                + "  ".join(f"{k} {1000 * v / count:.0f}" for k, v in stage_times.items())
            )
    data = {
        "files": n,
        "formats": out["formats"],
        "ratio": ratio,
        "load": out["load"],
        "extrapolated_min": extrapolated,
        "results": [asdict(r) for r in results],
        "stages": out["stages"].detail if out["stages"] else None,
    }
    return lines, data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=300, help="files (default 300)")
    parser.add_argument("--heic", type=int, default=6, help="how many are HEIC (default 6)")
    parser.add_argument("--keep", type=Path, help="make the files here once, and reuse them")
    parser.add_argument("--jobs", type=int, help="scan worker processes (default: cores)")
    parser.add_argument("--rounds", type=int, default=1, help="keep the best of N (default 1)")
    parser.add_argument(
        "--stages", type=int, default=30, help="files for the stage timing (0 skips)"
    )
    parser.add_argument("--no-full", action="store_true", help="skip the full cascade (OCR)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(*args.child)
    try:
        with work_folder(None, False, "companion-scan-bench-") as workdir:
            lines, data = report(run(args, workdir))
    except CommandFailed as exc:
        print(f"benchmark aborted: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2, default=str) if args.json else "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
