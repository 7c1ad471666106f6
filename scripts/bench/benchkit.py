"""What the benchmarks share: running a child and measuring it, checks, the work folder.

Imported by the scripts beside it (``python3 scripts/bench/NAME.py`` puts this folder first on
``sys.path``). MB means 10**6 bytes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MB = 1_000_000


class CommandFailed(Exception):
    """A benchmarked or set-up command exited non-zero or timed out."""


class Workplace(Protocol):
    """Where children run: their log folder's parent and their environment."""

    @property
    def workdir(self) -> Path: ...
    @property
    def env(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    value: float
    unit: str
    target: float | None  # None: shown for information only
    comparison: str  # "<=", "<" or ">="

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        passes = {
            "<=": self.value <= self.target,
            "<": self.value < self.target,
            ">=": self.value >= self.target,
        }
        return "PASS" if passes[self.comparison] else "MISS"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def slug(name: str) -> str:
    """A label as a file name: "x @32 MB/s" -> "x-32-MB-s"."""
    return "-".join("".join(c if c.isalnum() else " " for c in name).split())


def run_child(
    cmd: Sequence[str], bench: Workplace, label: str, timeout: float | None = None
) -> tuple[float, float, float]:
    """Run ``cmd`` to its end; (wall seconds, peak RSS MB, CPU seconds). Output goes to logs/.

    Peak RSS is ``ru_maxrss`` of the largest process in the child's tree (``os.wait4``), so
    worker processes count. A child still running after ``timeout`` seconds is killed.
    """
    logs = bench.workdir / "logs"
    logs.mkdir(exist_ok=True)
    name = slug(label)
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=bench.env)
        timer = threading.Timer(timeout, proc.kill) if timeout is not None else None
        if timer is not None:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer is not None:
                timer.cancel()
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        what = "timed out" if proc.returncode == -signal.SIGKILL else f"exited {proc.returncode}"
        raise CommandFailed(f"{' '.join(cmd)} {what}:\n{tail}")
    return seconds, usage.ru_maxrss * 1024 / MB, usage.ru_utime + usage.ru_stime


@contextmanager
def work_folder(given: Path | None, keep: bool, prefix: str) -> Iterator[Path]:
    """``given`` (absent or empty) or a new temporary folder; emptied (temporary: removed) after."""
    if given is not None and given.exists() and any(given.iterdir()):
        raise SystemExit(f"--workdir {given} is not empty")
    root = (given or Path(tempfile.mkdtemp(prefix=prefix))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    try:
        yield root
    finally:
        if keep:
            log(f"kept {root}")
        elif given is None:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in list(root.iterdir()):
                shutil.rmtree(child, ignore_errors=True)


def check_lines(checks: Sequence[Check], width: int) -> list[str]:
    """The checks table: name, value, target, verdict."""
    lines = [f"{'check':<{width}}{'value':>10}{'target':>14}  result"]
    for c in checks:
        target = "(info)" if c.target is None else f"{c.comparison} {c.target:g}{c.unit}"
        value = f"{c.value:.2f}{c.unit}" if c.unit == "x" else f"{c.value:.1f}{c.unit}"
        lines.append(f"{c.name:<{width}}{value:>10}{target:>14}  {c.verdict}")
    return lines
