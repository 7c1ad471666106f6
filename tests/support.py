"""Helpers shared by the tests: real vaults, real files, the real command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from companion.connectors.base import Connector
from companion.model import Asset, DeviceInfo
from companion.simulator.media import generate_camera_roll, write_camera_roll
from companion.vault import Vault

PASSPHRASE = "correct horse battery staple"
WORK_FACTOR = 10  # scrypt cost for test vaults: fast; real vaults use 18


def make_roll(root: Path, seed: int = 1, count: int = 12) -> Path:
    write_camera_roll(generate_camera_roll(seed, count, image_size=(320, 240)), root)
    return root


def new_vault(root: Path) -> Vault:
    return Vault.create(root, PASSPHRASE, work_factor=WORK_FACTOR)


def digests(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every regular file under ``root``."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime: a snapshot to compare."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env["COMPANION_PASSPHRASE"] = PASSPHRASE
    env.update(extra)
    return env


def companion(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed command line in a child process, as a person would (in a session of
    its own: no terminal to ask for a passphrase on, so a test that leaves it out fails at once
    instead of waiting at a prompt on the terminal the tests run in)."""
    return subprocess.run(
        [sys.executable, "-m", "companion", *args],
        capture_output=True,
        text=True,
        env=env or cli_env(),
        timeout=timeout,
        check=False,
        start_new_session=True,
    )


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "companion", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env or cli_env(),
    )


class Window:
    """A real connector seen through a window: tests subclass it to watch or disturb ``open``.

    Not a mock: every call reaches the real connector, which talks to real files.
    """

    def __init__(self, inner: Connector) -> None:
        self.inner = inner

    @property
    def source(self) -> str:
        return self.inner.source

    def info(self) -> DeviceInfo:
        return self.inner.info()

    def list_assets(self) -> Iterator[Asset]:
        return self.inner.list_assets()

    def open(self, asset: Asset) -> BinaryIO:
        return self.inner.open(asset)
