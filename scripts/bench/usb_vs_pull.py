"""Benchmark: ``companion backup --from usb`` against ``pymobiledevice3 afc pull`` on one phone.

Method
------
1. A simulated iPhone (``companion simulator serve``) runs in a process of its own, started by
   this script and stopped (SIGINT, then SIGKILL) at the end. It speaks usbmuxd, lockdown, TLS
   and AFC exactly like a phone, so every client below runs its unmodified USB stack against it.
   Phones are built once into the simulator cache (``--phone-cache``) and reused.
2. Every child runs with HOME and XDG_DATA_HOME inside the work folder (pair records included),
   so nothing touches the real home. Pairing happens once per simulator, in an untimed warm-up.
3. The page cache cannot be dropped for the phone's files in general, so all of the phone's files
   are read once from disk before the first timed run: every tool starts warm.
4. Throughput (``--size``, default large): each round runs, one after the other,
   ``companion backup --from usb --json`` into a fresh vault (the whole process: connect, list,
   read Photos.sqlite, hash, encrypt, write, catalogue), ``python -m pymobiledevice3 afc pull
   /DCIM DEST`` into a fresh folder, and a raw read loop (this script as a child: AFC
   listdir/stat/fopen/fread(4 MiB)/fclose over every file under /DCIM, bytes discarded; the upper
   bound of what the client stack can move). Both writers end with ``sync`` inside the timed span.
   Each tool keeps its best of ``--rounds`` (default 2) runs. MB/s is the tool's own byte count
   (companion: the report's ``bytes_read``, which includes edit renders under
   PhotoData/Mutations and leaves Recently Deleted out; pull: the size of DEST; raw: bytes read)
   divided by its wall time. Target: companion >= 0.9x the pull's MB/s.
5. ``--usb2`` repeats step 4 with the simulator paced to 32 MB/s (``--link-mbps 32``, a real USB 2
   iPhone): there every tool should be link-bound.
6. No-op re-run (``--count``, default 10,000 tiny assets): a first backup fills a vault (timed for
   information), then a second ``companion backup --from usb`` has nothing to read (listing and
   Photos.sqlite only). It is compared with one ``afc ls -r /DCIM``. The whole command also pays for
   starting Python and unlocking the vault (scrypt; the bench vaults use ``--kdf-work-factor 10``,
   1 MiB, so unlocking is cheap), so the listing alone is timed too, inside a child:
   ``UsbConnector(...).roll()``, connection and pairing check included. Target for both ratios:
   under 0.5x the ``afc ls -r`` command.
7. Peak RSS and CPU time of every child come from ``os.wait4`` (``ru_maxrss`` of the largest
   process in the child's tree, so companion's worker processes count). The phone's CPU time per
   operation is read from ``/proc/PID/stat`` of the simulator. Target: what companion's peak RSS
   adds to the raw AFC reader's (the USB stack itself) stays under half the largest video on the
   phone: videos are streamed, not held.

MB means 10**6 bytes. The simulator and the client share the machine's cores; the first line of
the output says how many there are. A missed target is a measurement, not an error: the exit
status is non-zero only when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchkit import MB, Check, CommandFailed, check_lines, log, run_child, slug, work_folder

CHUNK = 4 << 20  # the largest read AFC serves in one reply
KDF_WORK_FACTOR = 10  # the minimum: unlocking costs 1 MiB and a few ms, not 128 MiB and 0.5 s
PASSPHRASE = "benchmark passphrase, not a secret"
SEED = 7
USB2_MBPS = 32.0
THROUGHPUT_TARGET = 0.9  # companion MB/s / pull MB/s, at least
NOOP_TARGET = 0.5  # companion seconds / afc ls -r seconds, under
RSS_SHARE_TARGET = 0.5  # (companion peak RSS - raw reader's) / largest video, under
BIG_FILE = 50 * MB  # the RSS target applies when the phone has a file at least this big
START_TIMEOUT = 900.0  # a first build of the large phone takes ~100 s
COPY_TIMEOUT = 1800.0
LIST_TIMEOUT = 600.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    seconds: float
    nbytes: int
    peak_rss_mb: float
    cpu_seconds: float
    phone_cpu_seconds: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / MB / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Bench:
    workdir: Path
    env: dict[str, str]
    companion: tuple[str, ...]
    phone_cache: Path
    phone_pid: int = 0  # the running simulator, for its CPU time


REPO = Path(__file__).resolve().parents[2]


def companion_command() -> tuple[str, ...]:
    """This checkout's companion (``PYTHONPATH`` points at it), whatever is installed."""
    return (sys.executable, "-m", "companion")


# -- children -------------------------------------------------------------------------------------


def phone_cpu(bench: Bench) -> float:
    """CPU seconds the simulator process has used so far (0 when it is not known)."""
    try:
        fields = Path(f"/proc/{bench.phone_pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def measure(
    bench: Bench,
    name: str,
    cmd: Sequence[str],
    timeout: float,
    *,
    sync: bool = False,
    label: str | None = None,
) -> Result:
    label = label or slug(name)
    log(f"running {name}")
    before = phone_cpu(bench)
    seconds, rss, cpu = run_child(cmd, bench, label, timeout)
    if sync:
        seconds += run_child(["sync"], bench, f"{label}-sync", 120)[0]
    phone = phone_cpu(bench) - before
    log(f"  {name}: {seconds:.2f} s")
    return Result(name, seconds, 0, rss, cpu, phone)


def child_output(bench: Bench, label: str) -> Any:
    return json.loads((bench.workdir / "logs" / f"{label}.out").read_text())


def self_child(mode: str) -> list[str]:
    """This script as a child that runs one in-process measurement (see ``child_main``)."""
    return [sys.executable, str(Path(__file__).resolve()), "--child", mode]


# -- the simulated phone --------------------------------------------------------------------------


def phone_root(bench: Bench, size: str, count: int | None) -> Path:
    """Build (once; cached) the phone the simulator will serve and return its media root."""
    from companion.simulator.phone import cached_phone

    log(f"preparing the simulated phone ({count or size}; built once, then cached)")
    start = time.perf_counter()
    phone = cached_phone(seed=SEED, size=size, count=count, cache_dir=bench.phone_cache)
    log(f"  {phone.assets} assets in {phone.media_root} ({time.perf_counter() - start:.1f} s)")
    return phone.media_root


def warm_up(root: Path) -> tuple[int, int]:
    """Read every file under ``root`` once, so every tool finds them in the page cache."""
    files = largest = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files += 1
            largest = max(largest, path.stat().st_size)
            with path.open("rb") as fh:
                while fh.read(CHUNK):
                    pass
    return files, largest


@contextmanager
def simulator(
    bench: Bench, name: str, size: str, count: int | None, link_mbps: float | None
) -> Iterator[Bench]:
    """Run ``companion simulator serve`` in its own process; yield the bench that talks to it."""
    folder = bench.workdir / name
    folder.mkdir()
    socket_path = folder / "usbmuxd.sock"
    cmd = [*bench.companion, "simulator", "serve", "--listen", str(socket_path)]
    cmd += ["--seed", str(SEED), "--size", size]
    cmd += ["--count", str(count)] if count else []
    cmd += ["--link-mbps", f"{link_mbps:g}"] if link_mbps else []
    # A new simulator forgets earlier pairings: each gets fresh pair records (a fresh data home).
    env = {**bench.env, "XDG_DATA_HOME": str(folder / "data")}
    sim_env = {**env, "XDG_CACHE_HOME": str(bench.phone_cache.parent.parent)}
    (bench.workdir / "logs").mkdir(exist_ok=True)
    with (bench.workdir / "logs" / f"simulator-{name}.err").open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=sim_env)
    try:
        address = _read_address(proc, START_TIMEOUT)
        log(f"simulator {name} (pid {proc.pid}) at {address}")
        env["USBMUXD_SOCKET_ADDRESS"] = address
        yield replace(bench, env=env, phone_pid=proc.pid)
    finally:
        _stop(proc)


def _read_address(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise CommandFailed("the simulator did not print USBMUXD_SOCKET_ADDRESS")
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
        if ready:
            byte = os.read(proc.stdout.fileno(), 1)
            if not byte:
                raise CommandFailed("the simulator closed its output before giving an address")
            line += byte
    key, _, value = line.decode().strip().partition("=")
    if key != "USBMUXD_SOCKET_ADDRESS" or not value:
        raise CommandFailed(f"unexpected first line from the simulator: {line!r}")
    return value


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)
    if proc.stdout is not None:
        proc.stdout.close()


# -- the measurements -----------------------------------------------------------------------------


def vault_init(bench: Bench, vault: Path) -> None:
    cmd = [*bench.companion, "vault", "init", "--vault", str(vault)]
    run_child([*cmd, "--kdf-work-factor", str(KDF_WORK_FACTOR)], bench, f"init-{vault.name}", 120)


def companion_backup(bench: Bench, name: str, vault: Path, timeout: float) -> Result:
    cmd = [*bench.companion, "backup", "--from", "usb", "--vault", str(vault), "--json"]
    result = measure(bench, name, cmd, timeout, sync=True)
    report = child_output(bench, slug(name))
    if report.get("failed"):
        raise CommandFailed(f"{name}: files failed: {report['failed']}")
    return replace(result, nbytes=int(report["bytes_read"]), detail=report)


def folder_size(root: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in root.rglob("*") if p.is_file()]
    return len(sizes), sum(sizes)


def pull(bench: Bench, name: str, dest: Path) -> Result:
    dest.mkdir()
    cmd = [sys.executable, "-m", "pymobiledevice3", "afc", "pull", "/DCIM", str(dest)]
    result = measure(
        bench,
        name,
        [*cmd, "--usbmux", bench.env["USBMUXD_SOCKET_ADDRESS"]],
        COPY_TIMEOUT,
        sync=True,
    )
    files, nbytes = folder_size(dest)
    shutil.rmtree(dest)
    return replace(result, nbytes=nbytes, detail={"files": files})


def raw_read(bench: Bench, name: str) -> Result:
    result = measure(bench, name, self_child("raw-read"), COPY_TIMEOUT)
    out = child_output(bench, slug(name))
    return replace(result, nbytes=int(out["bytes"]), detail=out)


def best(results: Sequence[Result]) -> Result:
    return min(results, key=lambda r: r.seconds)


def throughput(bench: Bench, label: str, rounds: int) -> tuple[list[Result], list[Check]]:
    """Best of ``rounds`` for companion backup, afc pull and the raw read loop."""
    log("pairing and warming up (raw listing, untimed)")
    run_child(self_child("raw-list"), bench, f"pair-{label}", LIST_TIMEOUT)
    runs: dict[str, list[Result]] = {}
    names = (f"companion backup{label}", f"afc pull /DCIM{label}", f"raw AFC read{label}")
    for number in range(1, rounds + 1):
        log(f"round {number} of {rounds}{label}")
        vault = bench.workdir / f"vault{slug(label)}-{number}"
        vault_init(bench, vault)
        tag = f" [{number}]"
        results = (
            companion_backup(bench, names[0] + tag, vault, COPY_TIMEOUT),
            pull(bench, names[1] + tag, bench.workdir / f"pull{slug(label)}-{number}"),
            raw_read(bench, names[2] + tag),
        )
        shutil.rmtree(vault)
        for name, result in zip(names, results, strict=True):
            runs.setdefault(name, []).append(replace(result, name=name))
    chosen = [best(runs[name]) for name in names]
    companion, pulled, raw = chosen
    checks = [
        Check(
            f"MB/s companion/pull{label}",
            companion.mb_per_s / pulled.mb_per_s,
            "x",
            THROUGHPUT_TARGET,
            ">=",
        ),
        Check(
            f"MB/s companion/raw read{label}", companion.mb_per_s / raw.mb_per_s, "x", None, ">="
        ),
    ]
    return chosen, checks


def noop(bench: Bench, count: int, rounds: int) -> tuple[list[Result], list[Check]]:
    """A no-op re-run and the listing alone against ``afc ls -r /DCIM``."""
    log("pairing and warming up (raw listing, untimed)")
    run_child(self_child("raw-list"), bench, "pair-noop", LIST_TIMEOUT)
    vault = bench.workdir / "vault-noop"
    vault_init(bench, vault)
    first = companion_backup(bench, "companion backup (first, fills the vault)", vault, 1800)
    ls_cmd = [sys.executable, "-m", "pymobiledevice3", "afc", "ls", "-r", "/DCIM"]
    ls_cmd += ["--usbmux", bench.env["USBMUXD_SOCKET_ADDRESS"]]
    runs: dict[str, list[Result]] = {}
    names = (
        "companion backup (no-op)",
        "afc ls -r /DCIM",
        "companion listing in-process",
        "raw listing in-process",
    )
    for number in range(1, rounds + 1):
        tag = f" [{number}]"
        again = companion_backup(bench, names[0] + tag, vault, LIST_TIMEOUT)
        if again.detail.get("new") or again.detail.get("skipped", 0) < count:
            raise CommandFailed(f"the no-op re-run was not a no-op: {again.detail}")
        listed = measure(bench, names[1] + tag, ls_cmd, LIST_TIMEOUT)
        lines = (bench.workdir / "logs" / f"{slug(names[1] + tag)}.out").read_text().splitlines()
        listed = replace(listed, detail={"lines": len(lines)})
        inproc = []
        for name, mode in ((names[2], "roll"), (names[3], "raw-list")):
            result = measure(bench, name + tag, self_child(mode), LIST_TIMEOUT)
            out = child_output(bench, slug(name + tag))
            inproc.append(replace(result, seconds=float(out["seconds"]), detail=out))
        for name, result in zip(names, (again, listed, *inproc), strict=True):
            runs.setdefault(name, []).append(replace(result, name=name))
    chosen = [best(runs[name]) for name in names]
    again, listed, roll, raw_list = chosen
    checks = [
        Check(
            "no-op: companion backup / afc ls -r",
            again.seconds / listed.seconds,
            "x",
            NOOP_TARGET,
            "<",
        ),
        Check(
            "no-op: companion listing / afc ls -r",
            roll.seconds / listed.seconds,
            "x",
            NOOP_TARGET,
            "<",
        ),
        Check("no-op: raw listing / afc ls -r", raw_list.seconds / listed.seconds, "x", None, "<"),
    ]
    return [first, *chosen], checks


# -- in-process children --------------------------------------------------------------------------


def child_main(mode: str) -> int:
    """Run one in-process measurement against $USBMUXD_SOCKET_ADDRESS; print JSON on stdout."""
    import asyncio

    address = os.environ["USBMUXD_SOCKET_ADDRESS"]
    if mode == "roll":
        from companion.connectors.base import ConnectOptions
        from companion.connectors.usb import UsbOptions
        from companion.connectors.usb.connector import UsbConnector

        start = time.perf_counter()
        options = ConnectOptions(per_connector=(UsbOptions(usbmux_address=address),))
        with UsbConnector(None, options) as connector:
            roll = connector.roll()
            seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "assets": len(roll.assets)}))
        return 0
    print(json.dumps(asyncio.run(_raw(address, mode == "raw-read"))))
    return 0


async def _raw(address: str, read: bool) -> dict[str, Any]:
    """List /DCIM (listdir + stat, one request at a time) and optionally read every file."""
    from pymobiledevice3.lockdown import create_using_usbmux  # noqa: TID251 - the peer's stack
    from pymobiledevice3.services.afc import AfcService  # noqa: TID251

    start = time.perf_counter()
    lockdown = await create_using_usbmux(
        usbmux_address=address, autopair=True, pairing_records_cache_folder=None
    )
    files = nbytes = 0
    try:
        async with AfcService(lockdown) as afc:
            pending = ["/DCIM"]
            while pending:
                folder = pending.pop()
                for name in sorted(await afc.listdir(folder)):
                    if name in (".", ".."):
                        continue
                    path = f"{folder}/{name}"
                    st = await afc.stat(path)
                    if st["st_ifmt"] == "S_IFDIR":
                        pending.append(path)
                        continue
                    files += 1
                    if not read:
                        continue
                    handle = await afc.fopen(path)
                    while chunk := await afc.fread(handle, CHUNK):
                        nbytes += len(chunk)
                    await afc.fclose(handle)
    finally:
        await lockdown.close()
    return {"seconds": time.perf_counter() - start, "files": files, "bytes": nbytes}


# -- output ---------------------------------------------------------------------------------------


def format_table(results: Sequence[Result], checks: Sequence[Check]) -> list[str]:
    head = f"{'operation':<44}{'seconds':>9}{'MB':>9}{'MB/s':>8}{'RSS MB':>8}{'CPU s':>7}"
    lines = [f"{head}{'phone CPU s':>12}"]
    for r in results:
        lines.append(
            f"{r.name:<44}{r.seconds:>9.2f}{r.nbytes / MB:>9.1f}{r.mb_per_s:>8.1f}"
            f"{r.peak_rss_mb:>8.1f}{r.cpu_seconds:>7.2f}{r.phone_cpu_seconds:>12.2f}"
        )
    return [*lines, "", *check_lines(checks, 46)]


# -- entry point ----------------------------------------------------------------------------------


def default_phone_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "companion" / "simulator"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: --size medium")
    parser.add_argument(
        "--size", choices=("small", "medium", "large"), help="throughput phone (default large)"
    )
    parser.add_argument("--usb2", action="store_true", help="also at 32 MB/s (a USB 2 iPhone)")
    parser.add_argument(
        "--count", type=int, default=10_000, help="no-op phone's assets (default 10000; 0 skips)"
    )
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the throughput comparison"
    )
    parser.add_argument("--rounds", type=int, default=2, help="keep the best of N (default 2)")
    parser.add_argument("--workdir", type=Path, help="work folder (absent or empty); default: temp")
    parser.add_argument("--keep", action="store_true", help="keep the work folder's contents")
    parser.add_argument(
        "--phone-cache",
        type=Path,
        default=default_phone_cache(),
        help="where simulated phones are built once (default: the companion simulator cache)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.count < 0:
        parser.error("--rounds must be >= 1 and --count >= 0")
    args.size = args.size or ("medium" if args.quick else "large")
    return args


def make_bench(workdir: Path, phone_cache: Path) -> Bench:
    home = workdir / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "COMPANION_PASSPHRASE": PASSPHRASE,
        "PYTHONDONTWRITEBYTECODE": "1",
        # children import companion from this checkout, not from wherever it is installed
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    for name in ("COMPANION_VAULT", "USBMUXD_SOCKET_ADDRESS", "PYMOBILEDEVICE3_USBMUX"):
        env.pop(name, None)
    return Bench(workdir, env, companion_command(), phone_cache.resolve())


def run(args: argparse.Namespace, workdir: Path) -> None:
    bench = make_bench(workdir, args.phone_cache)
    results: list[Result] = []
    checks: list[Check] = []
    header = [f"machine: {os.cpu_count()} cores, shared by the simulated phone and the client"]
    header.append(
        f"vaults: --kdf-work-factor {KDF_WORK_FACTOR}; best of {args.rounds} runs per operation"
    )
    if not args.no_throughput:
        root = phone_root(bench, args.size, None)
        log("warm-up: reading every file of the phone once")
        files, largest = warm_up(root)
        header.append(
            f"throughput phone: --size {args.size}, {files} files on disk, largest "
            f"{largest / MB:.1f} MB; page cache warm (phone files read once before)"
        )
        links: list[tuple[str, float | None]] = [("", None)]
        links += [(f" @{USB2_MBPS:g} MB/s", USB2_MBPS)] if args.usb2 else []
        for label, rate in links:
            with simulator(bench, f"phone{slug(label) or '-full'}", args.size, None, rate) as b:
                found, found_checks = throughput(b, label, args.rounds)
            results += found
            checks += found_checks
        companion_rss = max(r.peak_rss_mb for r in results if r.name.startswith("companion"))
        floor = min(r.peak_rss_mb for r in results if r.name.startswith("raw AFC read"))
        checks.append(
            Check(
                f"companion extra RSS / largest file ({largest / MB:.0f} MB)",
                (companion_rss - floor) * MB / largest,
                "x",
                # only a phone with big videos (large) shows whether they are streamed
                RSS_SHARE_TARGET if largest >= BIG_FILE else None,
                "<",
            )
        )
    if args.count:
        phone_root(bench, "small", args.count)
        header.append(f"no-op phone: --count {args.count}")
        with simulator(bench, "phone-noop", "small", args.count, None) as b:
            found, found_checks = noop(b, args.count, args.rounds)
        results += found
        checks += found_checks
    print("\n".join(header))
    print()
    print("\n".join(format_table(results, checks)))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))  # this checkout's companion, here and in every child
    if args.child:
        return child_main(args.child)
    try:
        with work_folder(args.workdir, args.keep, "companion-usb-bench-") as workdir:
            run(args, workdir)
    except (CommandFailed, subprocess.CalledProcessError) as exc:
        print(f"benchmark aborted: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
