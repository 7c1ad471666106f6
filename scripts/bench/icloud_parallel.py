"""Benchmark: an iCloud backup with several downloads at once against one at a time.

Method
------
1. The simulated iCloud (``companion.simulator.icloud.SimulatedICloud``, a real HTTPS server on
   127.0.0.1) runs in a process of its own (this script with ``--serve``: the library it holds
   in memory must not count in the backups' peak RSS, which a child forked from a large parent
   inherits). It is paced per connection (``--stream-mbps``, default 5 MB/s, as one iCloud
   download stream) and in total (``--total-mbps``, default 40 MB/s: the line, above what 4
   streams take, since the simulator's two pacers wait one after the other and a total cap
   near 4 x 5 MB/s would also slow each stream). Its library is seeded random bytes
   (incompressible, never duplicated) in QuickTime movies, ``DCIM/100APPLE/IMG_0001.MOV``...
2. Each backup is a child process (this script with ``--child``): it signs in with a session
   folder of its own (password only: the simulated account has no two-factor), creates a vault
   (``work_factor`` 10: cheap to unlock), then times ``run_backup`` alone, the way ``companion
   backup --from icloud`` runs it (one process; the connector reads ahead) and prints the
   seconds, the files stored and the bytes read. Peak RSS of the whole child comes from
   ``os.wait4`` (``benchkit.run_child``).
3. Speed-up (``--assets``, default 200 files of 0.5-2.5 MB): the same library backed up with
   ``downloads=1`` and with ``downloads=4`` (``IcloudOptions.downloads``), one after the other
   against the same server. Target: the second at least 3x faster.
4. Memory (``--video-mb``, default 250): a library of one large video and a few small files,
   backed up with ``downloads=4``. Target: peak RSS under 200 MB, however large the video. A
   single file is one stream, so the video is kept out of the speed-up library, where its one
   paced stream would dominate both runs.

5. Peer (unless ``--no-icloudpd``): icloudpd downloading the same library (same seed and
   pacing), run by ``icloudpd_peer.py`` in a network and mount namespace of its own (``unshare``)
   where Apple's host names lead to a simulated iCloud on port 443; it reports icloudpd's
   seconds, start-up and peak RSS, and checks its files byte for byte. The ratio companion (4 at
   once) / icloudpd compares whole commands. Without the ``icloudpd`` command, ``unshare`` or
   the right to make a namespace, the output says why and the rest runs.

MB means 10**6 bytes. The server and the client share the machine's cores. A missed target is
a measurement, not an error: the exit status is non-zero only when a command fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from benchkit import MB, Check, CommandFailed, check_lines, log, run_child, slug, work_folder

if TYPE_CHECKING:
    from companion.simulator.media import MediaItem

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "bench passphrase"
SPEEDUP_TARGET = 3.0
RSS_TARGET = 200.0


@dataclasses.dataclass(frozen=True, slots=True)
class Bench:
    workdir: Path
    env: dict[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    name: str
    seconds: float  # the timed span: run_backup, or icloudpd's command less its start-up
    peak_rss_mb: float
    files: int
    megabytes: float
    whole: float  # the whole command: start-up, sign-in, listing, downloads


def library(count: int, seed: int, video_mb: int) -> list[MediaItem]:
    """``count`` movies of 0.5-2.5 MB, then one of ``video_mb`` MB if not 0."""
    from companion.simulator.media import MediaItem
    from companion.simulator.quicktime import make_quicktime

    rng = random.Random(seed)
    start = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    sizes = [rng.randint(MB // 2, 5 * MB // 2) for _ in range(count)]
    sizes += [video_mb * MB] if video_mb else []
    items: list[MediaItem] = []
    for n, size in enumerate(sizes, start=1):
        when = start + timedelta(minutes=n)
        data = make_quicktime(when, random_bytes(rng, size), duration_s=max(2.0, size / MB))
        items.append(MediaItem(f"DCIM/100APPLE/IMG_{n:04d}.MOV", data, when, "video"))
    return items


def random_bytes(rng: random.Random, size: int) -> bytes:
    """``rng.randbytes(size)``, the same bytes, made in pieces: one call stops at 2**31 bits."""
    step = 64 * 2**20  # a multiple of 4: the pieces join into exactly what one call would give
    return b"".join(rng.randbytes(min(step, size - at)) for at in range(0, size, step))


def backup(bench: Bench, icloud: dict[str, str], label: str, downloads: int) -> Result:
    """One child backup of the library ``icloud`` (its connection info) serves."""
    folder = bench.workdir / slug(label)
    folder.mkdir()
    job = {
        "apple_id": icloud["apple_id"],
        "password": icloud["password"],
        "downloads": downloads,
        "vault": str(folder / "vault"),
        "sessions": str(folder / "sessions"),
    }
    env = {**bench.env, "COMPANION_ICLOUD_SIMULATOR": json.dumps(icloud)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)]
    log(f"{label}: backing up")
    whole, rss, _ = run_child(cmd, Bench(bench.workdir, env), label)
    out = json.loads((bench.workdir / "logs" / f"{slug(label)}.out").read_text())
    if out["failed"]:
        raise CommandFailed(f"{label}: {out['failed']} files not backed up")
    return Result(label, out["seconds"], rss, out["new"], out["bytes"] / MB, whole)


def peer_unavailable() -> str | None:
    """Why icloudpd cannot run here, or None."""
    if shutil.which("icloudpd") is None:
        return (
            "icloudpd not found on PATH; install it apart from companion: "
            "python3 -m pip install icloudpd==1.32.3"
        )
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) not found: no namespace to point icloudpd in"
    probe = subprocess.run(
        [*namespace(), "ip", "link", "set", "lo", "up"], check=False, capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"no network and mount namespace here ({probe.stderr.strip() or 'unshare failed'})"
    return None


def namespace() -> list[str]:
    """A new network and mount namespace: as root directly, otherwise in a user namespace."""
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare", *user, "--net", "--mount"]


def icloudpd(args: argparse.Namespace, bench: Bench, icloud: dict[str, str]) -> tuple[Result, str]:
    """icloudpd downloading the same library, run by icloudpd_peer.py in a fresh namespace;
    and how many of its files are byte-identical to what the simulated iCloud serves."""
    label = f"icloudpd, {args.assets} files"
    folder = bench.workdir / slug(label)
    job = {
        "serve": serve_job(args, args.assets, 0),
        "workdir": str(folder),
        "icloudpd": shutil.which("icloudpd"),
        "apple_id": icloud["apple_id"],
        "password": icloud["password"],
    }
    peer = Path(__file__).resolve().with_name("icloudpd_peer.py")
    log(f"{label}: downloading (in a network namespace of its own)")
    run_child([*namespace(), sys.executable, str(peer), json.dumps(job)], bench, label)
    out = json.loads((bench.workdir / "logs" / f"{slug(label)}.out").read_text())
    if out["files"] == 0:  # icloudpd exits 0 when it fails to sign in or list
        tail = (folder / "logs" / "icloudpd.err").read_text(errors="replace")[-2000:]
        raise CommandFailed(f"icloudpd downloaded nothing:\n{tail}")
    served = args.assets
    note = f"icloudpd: {out['files']} of {served} files byte-identical to what iCloud serves"
    for what in ("missing", "differing", "extra"):
        if out[what]:
            note += f"; {len(out[what])} {what} ({', '.join(out[what][:5])})"
    log(f"icloudpd: {out['startup_seconds']:.1f} s of start-up (icloudpd --version)")
    work = out["seconds"] - out["startup_seconds"]
    result = Result(label, work, out["peak_rss_mb"], out["files"], out["megabytes"], out["seconds"])
    return result, note


def child_main(spec: str) -> int:
    """In the child: sign in, create the vault, then time the backup alone."""
    import time

    from companion.backup import VaultStore, run_backup
    from companion.connectors import ConnectOptions
    from companion.connectors.icloud.connector import IcloudConnector
    from companion.connectors.icloud.options import from_environment
    from companion.vault import Vault

    job = json.loads(spec)
    options = dataclasses.replace(
        from_environment(), downloads=job["downloads"], session_dir=Path(job["sessions"])
    )

    def password(question: str, *, secret: bool = False) -> str:
        return str(job["password"])

    connect = ConnectOptions(prompt=password, per_connector=(options,))
    with (
        IcloudConnector(job["apple_id"], connect) as found,
        Vault.create(Path(job["vault"]), PASSPHRASE, work_factor=10) as vault,
    ):
        found.info()
        start = time.perf_counter()
        report = run_backup(found, VaultStore(vault))
        seconds = time.perf_counter() - start
    answer = {
        "seconds": seconds,
        "new": report.new,
        "failed": len(report.failed),
        "bytes": report.bytes_read,
    }
    print(json.dumps(answer))
    return 0


def serve_main(spec: str) -> int:
    """In the server process: serve the library, print how to reach it, stop at end of input.

    The job may also choose the port and extra certificate names (``icloudpd_peer.py`` runs it
    on 443 under Apple's names), ask for a second line listing every file's size and SHA-256
    (``manifest``), and name a file for the server's log of every request (``log``).
    """
    import hashlib
    import logging

    from companion.simulator.icloud import SimulatedICloud

    job = json.loads(spec)
    if job.get("log"):
        logging.basicConfig(filename=job["log"], level=logging.DEBUG, format="%(message)s")
    items = library(job["count"], job["seed"], job["video_mb"])
    manifest = {
        Path(item.path).name: [len(item.data), hashlib.sha256(item.data).hexdigest()]
        for item in items
    }
    with SimulatedICloud(
        items,
        two_factor=False,
        pace_bytes_per_s=job["stream"],
        pace_total_bytes_per_s=job["total"],
        port=job.get("port", 0),
        host_names=job.get("host_names", ()),
        service_url=job.get("service_url"),
    ) as icloud:
        print(json.dumps(icloud.connection_info()), flush=True)
        if job.get("manifest"):
            print(json.dumps(manifest), flush=True)
        sys.stdin.read()
    return 0


def serve_job(args: argparse.Namespace, count: int, video_mb: int) -> dict[str, object]:
    """What ``--serve`` needs: the library's size and seed, the pacing."""
    return {
        "count": count,
        "seed": args.seed,
        "video_mb": video_mb,
        "stream": args.stream_mbps * MB,
        "total": args.total_mbps * MB,
    }


@contextmanager
def serving(args: argparse.Namespace, count: int, video_mb: int) -> Iterator[dict[str, str]]:
    """The simulated iCloud in a process of its own, for the time of the block."""
    log(f"making a library of {count} files" + (f" and a {video_mb} MB video" if video_mb else ""))
    job = serve_job(args, count, video_mb)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", json.dumps(job)]
    server = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert server.stdin is not None and server.stdout is not None
    try:
        line = server.stdout.readline()
        if not line:
            raise CommandFailed("the simulated iCloud did not start")
        yield json.loads(line)
    finally:
        server.stdin.close()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run(args: argparse.Namespace, workdir: Path) -> None:
    env = {
        **os.environ,
        "COMPANION_STATE_DIR": str(workdir / "state"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    bench = Bench(workdir, env)
    results: list[Result] = []
    checks: list[Check] = []
    with serving(args, args.assets, 0) as icloud:
        one = backup(bench, icloud, f"{args.assets} files, 1 download", 1)
        four = backup(bench, icloud, f"{args.assets} files, 4 at once", 4)
    results += [one, four]
    checks.append(
        Check("speed-up, 4 at once / 1", one.seconds / four.seconds, "x", SPEEDUP_TARGET, ">=")
    )
    why_not = "skipped (--no-icloudpd)" if args.no_icloudpd else peer_unavailable()
    notes = [f"icloudpd: not run: {why_not}"] if why_not else []
    if why_not is None:
        peer, note = icloudpd(args, bench, icloud)
        notes.append(note)
        results.append(peer)
        ratio = four.whole / peer.whole
        checks.append(Check("companion 4 at once / icloudpd (whole)", ratio, "x", None, "<="))
        ratio = four.seconds / peer.seconds
        checks.append(Check("the same, without start-up", ratio, "x", None, "<="))
        checks.append(Check("peak RSS, icloudpd", peer.peak_rss_mb, " MB", None, "<"))
    for note in notes:
        log(note)
    if args.video_mb:
        with serving(args, 9, args.video_mb) as icloud:
            video = backup(bench, icloud, f"{args.video_mb} MB video + 9 files, 4 at once", 4)
        results.append(video)
        checks.append(Check("peak RSS with the video", video.peak_rss_mb, " MB", RSS_TARGET, "<"))
    checks.append(
        Check(f"peak RSS, {args.assets} files, 4 at once", four.peak_rss_mb, " MB", None, "<")
    )
    report(args, results, checks, notes)


def report(
    args: argparse.Namespace, results: list[Result], checks: list[Check], notes: list[str]
) -> None:
    print(
        f"machine: {os.cpu_count()} cores, shared by the simulated iCloud and the backup; "
        f"paced {args.stream_mbps:g} MB/s per connection, {args.total_mbps:g} MB/s in total"
    )
    print("".join(f"{note}\n" for note in notes))
    print(
        f"{'backup':<42}{'files':>6}{'MB':>8}{'seconds':>9}{'whole s':>9}{'MB/s':>7}"
        f"{'peak RSS MB':>13}"
    )
    for r in results:
        print(
            f"{r.name:<42}{r.files:>6}{r.megabytes:>8.0f}{r.seconds:>9.1f}{r.whole:>9.1f}"
            f"{r.megabytes / r.seconds:>7.1f}{r.peak_rss_mb:>13.1f}"
        )
    print()
    print("\n".join(check_lines(checks, 42)))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--assets", type=int, default=200, help="files of the speed-up library")
    parser.add_argument("--video-mb", type=int, default=250, help="the large video (0 skips)")
    parser.add_argument("--stream-mbps", type=float, default=5.0, help="pace per connection")
    parser.add_argument("--total-mbps", type=float, default=40.0, help="pace of all together")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="work folder (absent or empty); default: temp")
    parser.add_argument("--keep", action="store_true", help="keep the work folder's contents")
    parser.add_argument("--no-icloudpd", action="store_true", help="do not run icloudpd")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.assets < 1 or args.video_mb < 0 or args.stream_mbps <= 0 or args.total_mbps <= 0:
        parser.error("--assets must be >= 1, --video-mb >= 0, the paces > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))  # this checkout's companion, here and in every child
    if args.child:
        return child_main(args.child)
    if args.serve:
        return serve_main(args.serve)
    try:
        with work_folder(args.workdir, args.keep, "companion-icloud-bench-") as workdir:
            run(args, workdir)
    except (CommandFailed, subprocess.CalledProcessError) as exc:
        print(f"benchmark aborted: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
