"""Worker processes that store or check objects in parallel.

Hashing, encrypting and writing one file keeps one core busy; a camera roll is thousands of
independent files, so a backup and a full verify run several files at once, one per worker
process (threads would fight over the GIL: pyrage holds it while it calls back into Python).

The main process keeps every decision and every record: workers only turn a source stream into
a published object (``ObjectStore.put``) or decrypt and re-hash one (``ObjectStore.verify``), and
report back. The durability order is unchanged: a worker publishes the object before it returns,
and only then does the main process queue the record.

Workers are started with ``spawn`` (no inherited locks or threads) and, on Linux, ask the kernel
to kill them when their parent dies, so a killed backup leaves no worker writing into ``tmp/``.
Keys reach them through the pipe that starts them, never through the disk or the environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from companion.errors import IntegrityError, SizeMismatch
from companion.model import Asset
from companion.tap import Tap
from companion.vault import crypto
from companion.vault.hardening import PASSPHRASE_ENV, no_core_dumps, take_from_environment
from companion.vault.objects import ObjectStore, StoredObject, buffer_for, check_plaintext
from companion.vault.unlock import read_marker

Fetch = Callable[[Asset], tuple[Asset, BinaryIO]]
"""Picklable: describes an asset (probe) and opens its bytes, inside a worker."""

T = TypeVar("T")
R = TypeVar("R")

# Below this much work, starting worker processes (about half a second) costs more than it saves.
# Many small files are work too: each costs two fsyncs and an age header, whatever its size.
PARALLEL_MIN_BYTES = 64 * 1000 * 1000
PARALLEL_MIN_ITEMS = 200
MAX_WORKERS = 4

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


def default_workers() -> int:
    """One worker per core, at most four (beyond that the disk, not the CPU, sets the pace)."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def auto_workers(total_bytes: int, items: int = 2) -> int:
    """``default_workers()`` when there is enough work to pay for starting them, else one."""
    if items < 2 or (total_bytes < PARALLEL_MIN_BYTES and items < PARALLEL_MIN_ITEMS):
        return 1
    return default_workers()


@dataclass(frozen=True, slots=True)
class _Setup:
    objects_root: Path
    tmp_dir: Path
    recipient: str
    counter: Any  # a shared integer: bytes read so far, for the progress bar
    parent: int  # the pid of the process that owns the pool


_worker: dict[str, Any] = {}


def _die_with_parent(parent: int) -> None:
    """End this worker as soon as the process that started it is gone.

    A worker holds both ends of its task queue, so it would never see the queue close and would
    wait forever. On Linux the kernel kills it the moment the parent dies (PR_SET_PDEATHSIG); a
    watchdog thread covers other systems, and the parent dying before the kernel was asked.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGKILL)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _deaf_to_stop_signals() -> None:
    """Ignore SIGTERM and SIGHUP, which reach the whole process group too (``timeout``, a closed
    terminal, a shutdown): the main process stops the run as for Ctrl-C (finished work recorded,
    exit 3) and shuts the pool down, and each worker finishes its file instead of dying half-way.
    No worker outlives the main process (``_die_with_parent``)."""
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def _init(setup: _Setup) -> None:
    """Set a worker up before it takes a task: it holds keys, so no core file and no reading
    of its memory by others (``no_core_dumps``), and no passphrase in its environment, even if
    it was started before the command took the passphrase out of its own."""
    take_from_environment(PASSPHRASE_ENV)
    no_core_dumps()
    _die_with_parent(setup.parent)
    _deaf_to_stop_signals()
    _worker["setup"] = setup


def _store(object_key: bytes) -> ObjectStore:
    """This worker's object store for ``object_key`` (keys arrive with the tasks, so a pool can
    start before the passphrase is checked)."""
    stores: dict[bytes, ObjectStore] = _worker.setdefault("stores", {})
    if object_key not in stores:
        setup: _Setup = _worker["setup"]
        stores[object_key] = ObjectStore(
            setup.objects_root, setup.tmp_dir, setup.recipient, crypto.keyed_name(object_key)
        )
    return stores[object_key]


def _count(n: int) -> None:
    counter = _worker["setup"].counter
    with counter.get_lock():
        counter.value += n


class _Counter:
    """Watches a ``Tap``: adds the bytes read to the shared counter, in steps of about a
    megabyte, and what is left at the end."""

    def __init__(self) -> None:
        self._pending = 0

    def __call__(self, data: bytes) -> None:
        self._pending += len(data)
        if self._pending >= 1 << 20 or not data:
            _count(self._pending)
            self._pending = 0


def store_fetched(
    store: ObjectStore, fetch: Fetch, asset: Asset, wrap: Callable[[BinaryIO], BinaryIO]
) -> tuple[Asset, StoredObject]:
    """Fetch one asset and store its bytes; the listed size is trusted once.

    A source whose bytes do not add up to its listing (a phone reporting -1 or a petabyte, a
    file still being written) is read a second time and stored as read: the asset comes back
    with the size actually read, which the caller tells the person about. The listing of a
    phone may lie; its bytes are what there is to keep (docs/design/faulty-sources.md).
    ``wrap`` sees every stream (progress counting). Nothing is recorded here.
    """
    expected: int | None = asset.size
    while True:
        described, stream = fetch(asset)
        with stream:
            try:
                obj = store.put(wrap(stream), expected, asset.path)
            except SizeMismatch:
                if expected is None:  # pragma: no cover - put checks no size then
                    raise
                expected = None
                continue
        if obj.size != described.size:
            described = replace(described, size=obj.size)
        return described, obj


def _put(fetch: Fetch, object_key: bytes, asset: Asset) -> tuple[Asset, StoredObject]:
    def counted(stream: BinaryIO) -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(Tap(stream, _Counter()), buffer_for(asset.size)))

    return store_fetched(_store(object_key), fetch, asset, counted)


def _check(object_key: bytes, identity: str, item: tuple[str, str, int]) -> str | None:
    object_id, sha256, size = item
    try:
        _store(object_key).verify(
            object_id, sha256, size, crypto.Identity.parse(identity), object_id
        )
    except IntegrityError as exc:
        return exc.message
    finally:
        _count(size)
    return None


def _with_plaintext(
    object_key: bytes, identity: str, fn: Callable[[bytes, T], R], item: tuple[str, str, int, T]
) -> R:
    object_id, sha256, size, payload = item
    buffer = io.BytesIO()
    try:
        _store(object_key).decrypt_to(object_id, buffer, crypto.Identity.parse(identity), object_id)
    finally:
        _count(size)
    data = buffer.getvalue()
    check_plaintext(data, sha256, size, object_id)
    return fn(data, payload)


def plaintext_task(
    object_key: bytes, identity: crypto.Identity, fn: Callable[[bytes, T], R]
) -> Callable[[tuple[str, str, int, T]], R]:
    """The task that decrypts one object in memory, checks it against its recorded SHA-256 and
    size, and hands its bytes to ``fn`` (a picklable module-level function): (object_id, sha256,
    size, payload) -> fn(plaintext, payload). The plaintext never leaves the worker's memory."""
    return functools.partial(_with_plaintext, object_key, identity.secret(), fn)


def put_task(fetch: Fetch, object_key: bytes) -> Callable[[Asset], tuple[Asset, StoredObject]]:
    """The task that stores one asset fetched by ``fetch`` (picklable)."""
    return functools.partial(_put, fetch, object_key)


def check_task(
    object_key: bytes, identity: crypto.Identity
) -> Callable[[tuple[str, str, int]], str | None]:
    """The task that decrypts and re-hashes one object: (object_id, sha256, size) -> reason."""
    return functools.partial(_check, object_key, identity.secret())


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (it frees the shared counter's semaphore) deaf to
    SIGHUP. It ignores SIGINT and SIGTERM itself, but a closed terminal's SIGHUP reaches the whole
    process group, and a tracker that died is started again with a traceback per semaphore."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import resource_tracker

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL if previous is None else previous)


class WorkerPool:
    """A pool of worker processes bound to one vault's object folder.

    It holds no key: tasks carry the keys they need (``put_task``, ``check_task``), so a pool can
    be started before the passphrase is checked, while scrypt runs (``for_vault``).
    """

    def __init__(self, objects_root: Path, tmp_dir: Path, recipient: str, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        _start_resource_tracker()
        self._counter = context.Value("q", 0)
        self._seen = 0
        setup = _Setup(objects_root, tmp_dir, recipient, self._counter, os.getpid())
        self._workers = workers
        self._executor = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init, initargs=(setup,)
        )
        self._start_deaf_to_ctrl_c()

    @classmethod
    def for_vault(cls, root: Path, workers: int) -> WorkerPool:
        """A pool for the vault at ``root``, started from its public marker alone: begin it
        before unlocking, and the workers start while scrypt runs."""
        return cls(root / "objects", root / "tmp", read_marker(root), workers)

    def _start_deaf_to_ctrl_c(self) -> None:
        """Start every worker now, with SIGINT ignored, which they inherit.

        Ctrl-C in a terminal reaches the whole process group. The main process handles it (stops
        submitting, records what is finished, exits 3); workers that also received it would die
        mid-import with a traceback each. An ignored signal survives exec, and Python leaves an
        inherited SIG_IGN alone, so workers never see it. Each submit starts one worker while none
        is idle, hence one no-op task per worker.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for _ in range(self._workers):
                self._executor.submit(int)
        finally:
            signal.signal(signal.SIGINT, previous)

    def _bytes_since_last(self) -> int:
        value = int(self._counter.value)
        delta, self._seen = value - self._seen, value
        return delta

    def run(
        self, fn: Callable[[T], R], items: Iterable[T], on_bytes: Callable[[int], None]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Apply ``fn`` to each item in the workers; yield (item, result or exception) as each
        finishes. At most two items per worker are in flight, so memory stays bounded."""
        todo = iter(items)
        running: dict[Future[R], T] = {}
        try:
            while True:
                while len(running) < 2 * self._workers and (item := next(todo, None)) is not None:
                    running[self._executor.submit(fn, item)] = item
                if not running:
                    return
                done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                on_bytes(self._bytes_since_last())
                for future in done:
                    item = running.pop(future)
                    error = future.exception()
                    yield item, (error if error is not None else future.result())
        finally:
            for future in running:
                future.cancel()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
