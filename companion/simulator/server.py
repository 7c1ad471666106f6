"""``Simulator``: runs the simulated iPhone's usbmuxd and services on a background event loop.

The host side (pymobiledevice3, libimobiledevice, the ``usb:`` connector) only ever talks to
usbmuxd; each device port (lockdownd on 62078, and the ports StartService hands out) is reached
through a usbmux Connect on that one listening socket, exactly as with a phone on a cable. The
servers run with asyncio in one thread of their own, so the simulator works beside a client that
runs its own event loop in another thread, or alone in its own process (``serve_forever``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import shutil
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from companion.simulator.afc import serve_afc
from companion.simulator.device import Device, Faults, PhoneContent, Stats, TrustStore
from companion.simulator.foreground import serve_until_stopped
from companion.simulator.installation_proxy import serve_installation_proxy
from companion.simulator.lockdown import serve_lockdown
from companion.simulator.usbmuxd import serve_usbmux

log = logging.getLogger(__name__)

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class Simulator:
    """A simulated iPhone on a simulated USB cable; a context manager.

    ``phone`` gives the content (``media_root``, ``device`` values, ``apps``). ``listen`` is
    "HOST:PORT" (TCP, port 0 picks a free one) or a unix socket path; by default a unix socket in
    a private temporary folder. ``state_dir`` keeps trusted hosts, usbmuxd pair records and the
    device key between runs (None: memory only). Put ``address`` in USBMUXD_SOCKET_ADDRESS.
    """

    def __init__(
        self,
        phone: PhoneContent,
        *,
        listen: str | None = None,
        faults: Faults | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.faults = faults if faults is not None else Faults()
        self.udid = str(phone.device["UniqueDeviceID"])
        self.address = ""
        self._listen = listen
        self._device = Device(
            phone,
            self.faults,
            TrustStore(state_dir),
            services={
                "com.apple.afc": serve_afc,
                "com.apple.mobile.installation_proxy": serve_installation_proxy,
            },
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._private_dir: Path | None = None
        self._socket_path: Path | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def stats(self) -> Stats:
        """AFC file bytes served, usbmux connections and device connections since creation."""
        return self._device.stats()

    def start(self) -> Simulator:
        """Start listening; returns once the socket accepts connections."""
        if self._thread is not None:
            return self
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main(ready)), name="simulated-iphone", daemon=True
        )
        self._thread.start()
        try:
            self.address = ready.result(timeout=_START_TIMEOUT)
        except BaseException:
            self._thread.join(_STOP_TIMEOUT)
            self._thread = None
            self._cleanup_files()
            raise
        log.info("simulated iPhone %s listening at %s", self.udid, self.address)
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket, and join the thread."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        thread.join(_STOP_TIMEOUT)
        self._thread = None
        self._cleanup_files()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def tap_trust(self) -> None:
        """The person taps Trust on the pending dialog: the next Pair from a new host succeeds."""
        self._on_loop(lambda device: setattr(device, "trust_tapped", True))

    def unlock(self) -> None:
        """The person unlocks the phone."""
        self.faults.locked = False

    def unplug(self) -> None:
        """Pull the cable: connections drop, usbmux listeners hear Detached."""
        self._on_loop(Device.unplug)

    def plug(self) -> None:
        """Plug the cable back in: listeners hear Attached (with a new DeviceID)."""
        self._on_loop(Device.plug)

    def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Run in the foreground until SIGINT or SIGTERM (call from the main thread); ``ready``
        announces the address once the signals are caught (``serve_until_stopped``)."""
        serve_until_stopped(self.start, self.stop, ready)

    def _on_loop(self, action: Callable[[Device], None]) -> None:
        """Run ``action`` on the simulator's loop (or directly when it is not running)."""
        loop = self._loop
        if loop is None or self._thread is None or threading.current_thread() is self._thread:
            action(self._device)
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            try:
                action(self._device)
            except Exception as error:  # handed to the caller's thread
                done.set_exception(error)
            else:
                done.set_result(None)

        loop.call_soon_threadsafe(run)
        done.result(timeout=_STOP_TIMEOUT)

    async def _main(self, ready: concurrent.futures.Future[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await self._open_server()
        except BaseException as error:
            ready.set_exception(error)
            return
        address = self._address_of(server)
        ready.set_result(address)
        try:
            await self._stopping.wait()
        finally:
            server.close()
            # Aborting the sockets ends every handler at its next read or write.
            for writer in list(self._connections.values()):
                writer.transport.abort()
            if self._connections:
                _, stuck = await asyncio.wait(list(self._connections), timeout=_STOP_TIMEOUT / 2)
                for task in stuck:
                    task.cancel()
            await server.wait_closed()
            self._loop = None

    async def _open_server(self) -> asyncio.Server:
        listen = self._listen
        if listen is None and sys.platform == "win32":
            listen = "127.0.0.1:0"  # no Unix sockets: TCP on loopback, as Apple's service there
        if listen is not None and ":" in listen:
            host, _, port = listen.rpartition(":")
            return await asyncio.start_server(self._client, host, int(port))
        if sys.platform == "win32":
            raise ValueError(f"{listen!r}: give HOST:PORT here (there are no Unix sockets)")
        else:  # noqa: RET506 - the else keeps mypy --platform win32 from calling the rest unreachable
            if listen is None:
                self._private_dir = Path(tempfile.mkdtemp(prefix="simulated-iphone-"))
                path = self._private_dir / "usbmuxd"
            else:
                path = Path(listen)
                if path.is_socket():
                    path.unlink()  # a socket left by an earlier run that was killed
            server = await asyncio.start_unix_server(self._client, path)
            self._socket_path = path
            return server

    def _address_of(self, server: asyncio.Server) -> str:
        if self._socket_path is not None:
            return str(self._socket_path)
        host, port = server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            await serve_usbmux(self._device, serve_lockdown, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels, for a handler that ignored its aborted socket: end quietly
            # (asyncio would log a cancelled connection task as an error).
            pass
        except Exception:
            log.exception("simulated iPhone: a connection failed")
        finally:
            del self._connections[task]
            writer.close()  # flushes a last reply; stop() aborts instead

    def _cleanup_files(self) -> None:
        if self._socket_path is not None:
            self._socket_path.unlink(missing_ok=True)
            self._socket_path = None
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            self._private_dir = None
