"""Benchmark: ``companion backup`` against ``restic backup`` and a plain ``cp -r``.

Method
------
1. A synthetic camera roll is written into the work folder: photo-sized files of seeded random
   (incompressible, never duplicated) bytes, sizes uniform in 0.5-8 MB, named like an iPhone
   ``DCIM/100APPLE/IMG_0001.JPG``, plus a few 100 MB ``.MOV`` files. Every file is streamed to disk
   in 4 MiB chunks, so no file is ever held in memory.
2. Each operation runs as a child process, one after the other, in this order: companion backup
   into a fresh vault, restic backup into a fresh repository, ``cp -r`` (the floor: read once,
   write once, no crypto); then a no-op re-run of both backups (nothing changed); then
   ``companion verify --full`` and ``restic check --read-data``. Creating the vault and the
   repository is not timed.
3. Before every timed operation the page cache is dropped (``sync`` then
   ``echo 3 > /proc/sys/vm/drop_caches``) so each starts cold. Where that is not permitted, the
   source is read once before all operations instead, so all start warm; the output says which.
4. Each operation is timed with ``time.perf_counter`` around the child. Operations that write end
   with ``sync`` inside the timed span, so none is credited for leaving dirty pages behind (the
   sync share is reported separately in the JSON). Peak RSS and CPU time come from ``os.wait4``
   on the child (``ru_maxrss``, KiB on Linux), with no extra tool.
5. ``--rounds N`` repeats step 2 from scratch (fresh vault, repository and copy each round) and
   keeps, per operation, the run with the median wall time. Ratios of those medians against restic
   are compared with the targets (backup <= 0.8x, no-op re-run <= 0.5x, full verify <= 1.0x); the
   ratio to ``cp`` is shown for information.
6. Memory check: one big ``.MOV`` (``--big-video-gb``) is backed up into a fresh vault made with
   companion's default scrypt work factor (17), and companion's peak RSS is compared with the
   200 MB target. It is backed up once more into a vault made with the minimum work factor (10):
   unlocking a factor-17 key file alone takes 128 MiB (scrypt: 128 * r * N bytes), so only this
   second figure shows what the streaming write path itself holds.

MB means 10**6 bytes throughout. A missed target is a measurement, not an error: the exit status is
non-zero only when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from benchkit import MB, Check, CommandFailed, check_lines, log, run_child, slug, work_folder

GB = 1_000_000_000
CHUNK = 4 << 20
PHOTO_MIN, PHOTO_MAX = MB // 2, 8 * MB
VIDEO_SIZE = 100 * MB
FILES_PER_FOLDER = 1000
KDF_WORK_FACTOR = 17  # companion's default
# scrypt at work factor 17 needs 128 MiB while the vault is unlocked; a second big-video run with
# the minimum factor shows what the streaming write path itself needs.
LOW_KDF_WORK_FACTOR = 10
PASSPHRASE = "benchmark passphrase, not a secret"
RSS_TARGET_MB = 200.0
RATIOS: tuple[tuple[str, str, str, float | None], ...] = (
    # (check, numerator operation, denominator operation, target; None = information only)
    ("backup companion/restic", "companion backup", "restic backup", 0.8),
    ("no-op re-run companion/restic", "companion backup (no-op)", "restic backup (no-op)", 0.5),
    ("full verify companion/restic", "companion verify --full", "restic check --read-data", 1.0),
    ("backup companion/cp", "companion backup", "cp -r + sync", None),
)


@dataclass(frozen=True, slots=True)
class Dataset:
    root: Path
    files: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    seconds: float
    sync_seconds: float
    nbytes: int
    peak_rss_mb: float
    cpu_seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / MB / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Bench:
    """Everything a run needs to start a child the same way each time."""

    workdir: Path
    env: dict[str, str]
    companion: tuple[str, ...]
    cold: bool


# -- the synthetic camera roll ------------------------------------------------------------------


def dcim_path(root: Path, number: int, extension: str) -> Path:
    folder = 100 + (number - 1) // FILES_PER_FOLDER
    return root / "DCIM" / f"{folder}APPLE" / f"IMG_{(number - 1) % 9999 + 1:04d}.{extension}"


# The first bytes of a JPEG and of a QuickTime movie: without them a backup rightly warns that
# a file is no readable picture (exit 4); the rest stays random, so incompressible.
HEADS = {
    "JPG": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01",
    "MOV": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",
}


def write_random(path: Path, size: int, rng: random.Random) -> None:
    """Write ``size`` random bytes to ``path`` behind its format's first bytes, a chunk at a
    time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        head = HEADS.get(path.suffix.lstrip(".").upper(), b"")[:size]
        out.write(head)
        left = size - len(head)
        while left > 0:
            step = min(CHUNK, left)
            out.write(rng.randbytes(step))
            left -= step


def photo_sizes(total: int, rng: random.Random) -> list[int]:
    sizes: list[int] = []
    running = 0
    while running < total:
        sizes.append(rng.randint(PHOTO_MIN, PHOTO_MAX))
        running += sizes[-1]
    return sizes


def make_camera_roll(root: Path, size_gb: float, videos: int, seed: int) -> Dataset:
    rng = random.Random(seed)
    sizes = photo_sizes(round(size_gb * GB), rng)
    files = [(s, "JPG") for s in sizes] + [(VIDEO_SIZE, "MOV")] * videos
    for number, (size, extension) in enumerate(files, start=1):
        write_random(dcim_path(root, number, extension), size, rng)
    return Dataset(root, len(files), sum(size for size, _ in files))


def make_big_video(root: Path, size_gb: float, seed: int) -> Dataset:
    size = round(size_gb * GB)
    write_random(dcim_path(root, 1, "MOV"), size, random.Random(seed + 1))
    return Dataset(root, 1, size)


# -- tools and the page cache -------------------------------------------------------------------


def ensure_tool(binary: str, package: str) -> None:
    """Install ``package`` with apt-get if ``binary`` is missing (apt-get update on failure)."""
    if shutil.which(binary) is not None:
        return
    install = ["apt-get", "install", "-y", package]
    log(f"{binary} not found: running {' '.join(install)}")
    if subprocess.run(install, stdout=sys.stderr, check=False).returncode != 0:
        log("install failed: running apt-get update, then the install again")
        subprocess.run(["apt-get", "update"], stdout=sys.stderr, check=True)
        subprocess.run(install, stdout=sys.stderr, check=True)
    if shutil.which(binary) is None:
        raise CommandFailed(f"{package} installed but {binary} is still not on PATH")


def companion_command() -> tuple[str, ...]:
    found = shutil.which("companion")
    return (found,) if found else (sys.executable, "-m", "companion")


def drop_caches() -> bool:
    """Flush dirty pages and drop the page cache; False if this machine does not allow it."""
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def warm_up(root: Path) -> None:
    """Read every file under ``root`` once so that all operations start with it cached."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                while fh.read(CHUNK):
                    pass


# -- running and measuring children -------------------------------------------------------------


def measure(bench: Bench, name: str, cmd: Sequence[str], nbytes: int, *, sync: bool) -> Result:
    """Time one operation from a cold (or uniformly warm) cache; ``sync`` is inside the time."""
    if bench.cold:
        drop_caches()
    label = slug(name)
    log(f"running {name}")
    seconds, rss, cpu = run_child(cmd, bench, label)
    sync_seconds = run_child(["sync"], bench, f"{label}-sync")[0] if sync else 0.0
    total = seconds + sync_seconds
    log(f"  {name}: {total:.2f} s")
    return Result(name, total, sync_seconds, nbytes, rss, cpu)


def companion_init(bench: Bench, vault: Path, work_factor: int = KDF_WORK_FACTOR) -> None:
    cmd = [*bench.companion, "vault", "init", "--vault", str(vault)]
    run_child([*cmd, "--kdf-work-factor", str(work_factor)], bench, f"init-{vault.name}")


def restic_init(bench: Bench) -> None:
    run_child(["restic", "init"], bench, "restic-init")


def check_backup_report(bench: Bench, label: str, key: str, expected: int) -> None:
    """Make sure a companion backup did what it should (all new, or all skipped)."""
    report = json.loads((bench.workdir / "logs" / f"{label}.out").read_text())
    if report.get(key) != expected:
        raise CommandFailed(f"{label}: expected {key}={expected}, the report says {report}")


# -- the benchmark --------------------------------------------------------------------------------


def companion_backup(bench: Bench, name: str, data: Dataset, vault: Path) -> Result:
    cmd = [*bench.companion, "backup", "--from", f"folder:{data.root}", "--vault", str(vault)]
    return measure(bench, name, [*cmd, "--json"], data.nbytes, sync=True)


def run_comparison(bench: Bench, data: Dataset) -> list[Result]:
    vault, copy = bench.workdir / "companion-vault", bench.workdir / "cp-dest"
    companion_init(bench, vault)
    restic_init(bench)
    src, n = str(data.root), data.nbytes
    steps = [
        companion_backup(bench, "companion backup", data, vault),
        measure(bench, "restic backup", ["restic", "backup", src], n, sync=True),
        measure(bench, "cp -r + sync", ["cp", "-r", src, str(copy)], n, sync=True),
        companion_backup(bench, "companion backup (no-op)", data, vault),
        measure(bench, "restic backup (no-op)", ["restic", "backup", src], n, sync=True),
    ]
    check_backup_report(bench, slug(steps[0].name), "new", data.files)
    check_backup_report(bench, slug(steps[3].name), "skipped", data.files)
    verify = [*bench.companion, "verify", "--full", "--vault", str(vault)]
    steps.append(measure(bench, "companion verify --full", verify, n, sync=False))
    check = ["restic", "check", "--read-data"]
    steps.append(measure(bench, "restic check --read-data", check, n, sync=False))
    return steps


def in_folder(bench: Bench, folder: Path) -> Bench:
    """The same bench, working in ``folder`` (its own restic repository and cache)."""
    folder.mkdir(parents=True)
    env = {
        **bench.env,
        "RESTIC_REPOSITORY": str(folder / "restic-repo"),
        "RESTIC_CACHE_DIR": str(folder / "restic-cache"),
    }
    return replace(bench, workdir=folder, env=env)


def run_rounds(bench: Bench, data: Dataset, rounds: int, keep: bool) -> dict[str, list[Result]]:
    """Run the comparison ``rounds`` times from scratch; each round's folder goes unless kept."""
    runs: dict[str, list[Result]] = {}
    for number in range(1, rounds + 1):
        log(f"round {number} of {rounds}")
        one = in_folder(bench, bench.workdir / f"round-{number}")
        for result in run_comparison(one, data):
            runs.setdefault(result.name, []).append(result)
        if not keep:
            shutil.rmtree(one.workdir)
    return runs


def median_run(results: Sequence[Result]) -> Result:
    """The run with the median wall time (the lower one for an even count)."""
    return sorted(results, key=lambda r: r.seconds)[(len(results) - 1) // 2]


def ratio_checks(runs: dict[str, list[Result]]) -> list[Check]:
    seconds = {name: median_run(results).seconds for name, results in runs.items()}
    return [
        Check(name, seconds[a] / seconds[b], "x", target, "<=") for name, a, b, target in RATIOS
    ]


def run_big_video(bench: Bench, size_gb: float, seed: int) -> tuple[list[Result], list[Check]]:
    """Back one big video up at the real work factor (the target) and the minimum one (info)."""
    log(f"generating one {size_gb:g} GB video")
    data = make_big_video(bench.workdir / "big-src", size_gb, seed)
    results: list[Result] = []
    checks: list[Check] = []
    for work_factor, target in ((KDF_WORK_FACTOR, RSS_TARGET_MB), (LOW_KDF_WORK_FACTOR, None)):
        vault = bench.workdir / f"big-vault-wf{work_factor}"
        companion_init(bench, vault, work_factor)
        name = f"companion backup {size_gb:g} GB video, wf {work_factor}"
        results.append(companion_backup(bench, name, data, vault))
        what = f"{size_gb:g} GB video peak RSS, KDF wf {work_factor}"
        checks.append(Check(what, results[-1].peak_rss_mb, " MB", target, "<"))
    return results, checks


# -- output ---------------------------------------------------------------------------------------


def format_table(results: Sequence[Result], checks: Sequence[Check]) -> list[str]:
    lines = [f"{'operation':<40}{'seconds':>9}{'MB/s':>9}{'peak RSS MB':>13}{'CPU s':>9}"]
    for r in results:
        lines.append(
            f"{r.name:<40}{r.seconds:>9.2f}{r.mb_per_s:>9.1f}{r.peak_rss_mb:>13.1f}"
            f"{r.cpu_seconds:>9.2f}"
        )
    return [*lines, "", *check_lines(checks, 42)]


def report(
    summary: dict[str, Any], runs: dict[str, list[Result]], checks: Sequence[Check], as_json: bool
) -> None:
    medians = [median_run(results) for results in runs.values()]
    if as_json:
        operations = [
            {
                **asdict(r),
                "mb_per_s": r.mb_per_s,
                "round_seconds": [x.seconds for x in runs[r.name]],
            }
            for r in medians
        ]
        checks_json = [{**asdict(c), "result": c.verdict} for c in checks]
        print(json.dumps({**summary, "operations": operations, "checks": checks_json}, indent=2))
        return
    print(f"cache: {summary['cache']}")
    print(
        f"source: {summary['files']} files, {summary['source_mb']:.1f} MB (seed {summary['seed']})"
    )
    print(f"rounds: {summary['rounds']} (each operation shows its median-time run)")
    print(f"restic: {summary['restic_version']}")
    print()
    print("\n".join(format_table(medians, checks)))


# -- entry point ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--workdir", type=Path, help="work folder (absent or empty); default: temp")
    parser.add_argument("--keep", action="store_true", help="keep the work folder's contents")
    parser.add_argument("--size-gb", type=float, default=1.0, help="photos in GB (default 1.0)")
    parser.add_argument("--videos", type=int, default=3, help="100 MB videos (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--big-video-gb", type=float, default=2.0, help="memory check video size; 0 skips it"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the comparison, report medians (default 1)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.videos < 0 or args.size_gb <= 0 or args.big_video_gb < 0:
        parser.error("--rounds must be >= 1, --size-gb > 0, --videos and --big-video-gb >= 0")
    return args


def make_bench(workdir: Path) -> Bench:
    env = {
        **os.environ,
        "COMPANION_PASSPHRASE": PASSPHRASE,
        "RESTIC_PASSWORD": PASSPHRASE,
    }
    env.pop("COMPANION_VAULT", None)
    cold = drop_caches()
    return Bench(workdir, env, companion_command(), cold)


def run(args: argparse.Namespace, workdir: Path) -> None:
    ensure_tool("restic", "restic")
    bench = make_bench(workdir)
    log(f"generating {args.size_gb:g} GB of photos and {args.videos} videos in {workdir}")
    data = make_camera_roll(workdir / "src", args.size_gb, args.videos, args.seed)
    if bench.cold:
        cache = "cold: page cache dropped before every operation"
    else:
        cache = "warm: drop_caches not permitted; source read once before all operations"
        warm_up(data.root)
    runs = run_rounds(bench, data, args.rounds, args.keep)
    checks = ratio_checks(runs)
    if args.big_video_gb > 0:
        big, rss_checks = run_big_video(bench, args.big_video_gb, args.seed)
        runs.update((r.name, [r]) for r in big)
        checks += rss_checks
    version = subprocess.run(["restic", "version"], capture_output=True, text=True, check=True)
    summary = {
        "cache": cache,
        "files": data.files,
        "source_mb": data.nbytes / MB,
        "seed": args.seed,
        "rounds": args.rounds,
        "restic_version": version.stdout.strip(),
    }
    report(summary, runs, checks, args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with work_folder(args.workdir, args.keep, "companion-bench-") as workdir:
            run(args, workdir)
    except (CommandFailed, subprocess.CalledProcessError) as exc:
        print(f"benchmark aborted: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
