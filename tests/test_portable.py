"""What differs between platforms lives in ``companion.portable``: opening without following a
link, durable writes, private files. These run here (Linux); mypy checks the other platforms'
branches (``.ci/run``), and the last test keeps the rest of companion from naming a
platform-only call itself."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import pytest

from companion.portable import durable, files, private

ROOT = Path(__file__).resolve().parent.parent / "companion"
# os calls and flags that one of Linux, macOS or Windows lacks (or where one of them needs more
# than the call, as fsync on macOS): only companion.portable may name them.
PLATFORM_ONLY = re.compile(
    r"\bos\.(O_NOFOLLOW|O_DIRECTORY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC|fchmod|fsync|posix_fadvise|"
    r"set_blocking|getuid|geteuid)\b|\bimport pwd\b|\bfcntl\.F_FULLFSYNC\b"
)


def test_a_link_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "target.jpg"
    target.write_bytes(b"photo")
    link = tmp_path / "link.jpg"
    link.symlink_to(target)
    with pytest.raises(OSError) as refused:
        files.open_no_follow(link)
    assert refused.value.errno == errno.ELOOP
    with pytest.raises(FileExistsError):
        files.create_new(link)  # a link (even a dangling one) is something there
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        files.create_new(dangling)
    assert not (tmp_path / "nowhere").exists()
    fd = files.open_no_follow(target)
    try:
        assert os.read(fd, 10) == b"photo" and os.get_blocking(fd)
    finally:
        os.close(fd)


def test_a_fifo_does_not_hang_the_open(tmp_path: Path) -> None:
    fifo = tmp_path / "IMG_0001.JPG"
    os.mkfifo(fifo)
    fd = files.open_no_follow(fifo)  # no writer: a blocking open would wait forever
    try:
        assert stat.S_ISFIFO(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def test_new_files_are_private_and_durable(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    fd = files.create_new(path, 0o644)
    try:
        os.write(fd, b"key")
        private.make_private(fd)
        durable.sync(fd)
    finally:
        os.close(fd)
    durable.sync_folder(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes() == b"key"
    with pytest.raises(FileExistsError):
        files.create_new(path)
    assert private.owner_name(os.getuid()) and private.owner_name(2**31 - 7) == "uid 2147483641"


def test_only_the_portable_package_names_platform_only_calls() -> None:
    named = []
    for source in sorted(ROOT.rglob("*.py")):
        relative = source.relative_to(ROOT).as_posix()
        if relative.startswith(("portable/", "simulator/")):  # the simulator imports no companion
            continue
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if PLATFORM_ONLY.search(line):
                named.append(f"{relative}:{number}: {line.strip()}")
    assert named == []
