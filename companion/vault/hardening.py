"""Keep an unlocked vault's secrets inside the processes that hold them.

An unlocked vault has its keys in memory: the main process's and its workers'. A crash, or a
``gcore`` run by anything of the same user, would copy that memory into a core file that
outlives the run, often where others can read it (systemd-coredump, apport, a ``core`` file in
the working folder). ``no_core_dumps`` turns that off for the process that calls it: the core
size limit becomes 0 (soft and hard, and the processes it starts inherit it), and on Linux the
process is marked not dumpable, which also keeps other processes of the same user from
attaching to it or reading its memory and ``/proc/<pid>/environ``. That mark does not survive
``exec``, so each worker process sets it again.

A passphrase given in ``COMPANION_PASSPHRASE`` is taken out of the environment as soon as it is
read (``take_from_environment``): the processes companion starts do not inherit it, and on Linux
its bytes in the environment the process was started with (what ``/proc/<pid>/environ`` shows,
whatever ``os.environ`` says) are overwritten.

Nothing here may stop a run: a piece the system lacks is skipped, and logged at debug level.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

# The variable the command line reads the passphrase from (companion/cli/common.py).
PASSPHRASE_ENV = "COMPANION_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)

_PR_SET_DUMPABLE = 4
# Fields 50 and 51 of /proc/<pid>/stat (proc(5)): where the environment the process was started
# with lies in its memory; counted here from field 3, the first after the command's name.
_ENV_START, _ENV_END = 50 - 3, 51 - 3


def no_core_dumps() -> None:
    """No core file of this process, and (Linux) no reading of its memory by another process
    of the same user. Call it before a key is in memory; it never fails."""
    _no_core_limit()
    _not_dumpable()


def _no_core_limit() -> None:
    if sys.platform != "win32":  # Windows: no core files to turn off
        import resource

        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (OSError, ValueError) as exc:
            log.debug("could not set the core size limit to 0: %s", exc)


def _not_dumpable() -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
                errno_text = os.strerror(ctypes.get_errno())
                log.debug("prctl(PR_SET_DUMPABLE, 0) failed: %s", errno_text)
        except (OSError, AttributeError) as exc:
            log.debug("cannot mark the process not dumpable: %s", exc)


def take_from_environment(name: str) -> str | None:
    """The value of the environment variable ``name`` (None if unset), removed from this
    process's environment: from ``os.environ`` and the C environment, which is what child
    processes inherit, and (Linux) from the environment the process was started with."""
    value = os.environ.pop(name, None)
    if sys.platform.startswith("linux"):
        _scrub_initial_environment(os.fsencode(name) + b"=")
    return value


def _scrub_initial_environment(prefix: bytes) -> None:
    """Overwrite with zero bytes every ``NAME=value`` of the environment block the kernel gave
    this process at start. Nothing points there once the variable is unset (the C environment
    no longer lists it; ``os.environ`` holds copies), but ``/proc/<pid>/environ`` reads it."""
    try:
        fields = Path("/proc/self/stat").read_bytes().rsplit(b")", 1)[1].split()
        start, end = int(fields[_ENV_START]), int(fields[_ENV_END])
    except (OSError, IndexError, ValueError) as exc:
        log.debug("cannot find the process's environment block: %s", exc)
        return
    if not 0 < start < end:
        return
    offset = start
    for entry in ctypes.string_at(start, end - start).split(b"\0"):
        if entry.startswith(prefix):
            ctypes.memset(offset, 0, len(entry))
        offset += len(entry) + 1
