"""A private asyncio loop on its own thread, for connectors whose library is asyncio.

Our seams (``Connector.list_assets``, ``open(...).read``) are plain calls; pymobiledevice3 is
asyncio end to end. A connector owns one ``Loop``: coroutines are submitted to it and waited for
with a timeout, because the library has none and a phone that stops answering must not hang a
backup forever. Work queued on the loop (a file read ahead) runs while the caller's thread
hashes and encrypts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


def wait(future: concurrent.futures.Future[T], timeout: float) -> T:
    """The result of a submitted coroutine; ``TimeoutError`` (and the coroutine cancelled)
    after ``timeout`` seconds. Exceptions raised by the coroutine propagate unchanged."""
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


class Loop:
    """An event loop running on a daemon thread until ``close()``."""

    def __init__(self, name: str = "companion-link") -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quietly)
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait for it; ``TimeoutError`` after ``timeout`` seconds
        (the coroutine is then cancelled). Exceptions raised by ``coro`` propagate unchanged."""
        return wait(self.submit(coro), timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the loop and return at once; collect it with ``wait``."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, function: Callable[..., object], *args: object) -> None:
        """Run a plain function on the loop's thread (loop state is not thread-safe)."""
        self._loop.call_soon_threadsafe(function, *args)

    def cancel(self, task: asyncio.Task[Any]) -> None:
        """Cancel a task of this loop from any thread."""
        self._loop.call_soon_threadsafe(task.cancel)

    def close(self) -> None:
        """Cancel what is still running, stop the loop and join its thread."""
        if self._loop.is_closed():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(_cancel_all(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


def _quietly(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """What the loop could not hand to anyone (a reply future of a link that dropped, whose
    caller had already gone): the caller saw the failure itself, so it is only worth a debug
    line, not an error shouted at the person."""
    exc = context.get("exception")
    logger.debug("%s%s", context.get("message", "unhandled"), f": {exc!r}" if exc else "")


async def settle() -> None:
    """Let the loop run what is already due (a dropped link's callbacks) before looking."""
    for _ in range(3):
        await asyncio.sleep(0)
