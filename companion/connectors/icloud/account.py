"""One Apple ID's iCloud Photos library: signed in once, asked through pyicloud's session.

The Photos database is CloudKit (``records/query``, ``records/lookup``, and ``records/modify``
for the cleanup's moves to Recently Deleted); its requests carry the web session's cookies,
which pyicloud's session holds, so they go through it. Before the first one, pyicloud's
``photos`` runs the web access handshake (where Advanced Data Protection says no) and checks that
the library is indexed.

Every call is kept going through what iCloud does to long runs:

- ``503`` (iCloud asks to slow down): waited out as ``Retry-After`` says, a bounded number of
  times (``signin.with_backoff``), then a clear error;
- an expired web session (``421``): renewed once with the stored session token (a new web
  session, no password, no code), the handshake run again, and the call repeated; if that
  fails, or the session expires again, a clear error telling to sign in.

``start`` begins signing in with the stored session in the background (``Preparable``: while
the vault is unlocked); anything that needs the person (a password, a code) waits for the
first real use, in the caller's thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from companion.connectors.base import ConnectOptions
from companion.connectors.icloud import translate as tr
from companion.connectors.icloud.options import IcloudOptions
from companion.connectors.icloud.records import DESIRED_KEYS
from companion.connectors.icloud.signin import (
    make_service,
    resume,
    sign_in,
    tighten,
    with_backoff,
)
from companion.errors import CompanionError, DeviceError

log = logging.getLogger(__name__)
T = TypeVar("T")

ZONE = {"zoneName": "PrimarySync", "zoneType": "REGULAR_CUSTOM_ZONE"}
PAGE = 200  # records per listing page: the most iCloud gives (two per picture)


class Account:
    """An Apple ID's Photos library. Thread-safe: one call at a time."""

    def __init__(
        self,
        apple_id: str,
        icloud: IcloudOptions,
        options: ConnectOptions,
        sleep: Callable[[float], None],
    ) -> None:
        self.apple_id = apple_id
        self.folder: Path = icloud.account_folder(apple_id)
        self._icloud = icloud
        self._options = options
        self._sleep = sleep
        self._lock = threading.RLock()
        self._service: Any = None
        self._endpoint: str | None = None
        self._params: dict[str, Any] = {}
        self._starting: threading.Thread | None = None

    def start(self) -> None:
        """Begin signing in with the stored session, in the background; returns at once."""
        if self._starting is None and self._endpoint is None:
            self._starting = threading.Thread(
                target=self._resume_quietly, name="companion-icloud", daemon=True
            )
            self._starting.start()

    def _resume_quietly(self) -> None:
        try:
            self.resume()
        except Exception as exc:  # told again, properly, at the first real use
            log.debug("signing in early did not work: %s", type(exc).__name__)

    def resume(self, *, ready: bool = True) -> bool:
        """Whether the stored session signs in (no password, no code: nobody is asked); if it
        does, and with ``ready``, the library is made ready too."""
        with self._lock:
            if self._endpoint is not None:
                return True
            try:
                service = make_service(self.apple_id, self.folder, self._icloud)
                if not resume(service, self._sleep):
                    return False
                self._service = service
                if ready:
                    self._call(self._ready, renew=False)
            except CompanionError:
                self._service = None
                raise
            except Exception as exc:
                self._service = None
                raise tr.translate(exc, self.apple_id) from exc
            finally:
                tighten(self.folder)
            return True

    def open(self) -> None:
        """Signed in, web access granted, the library indexed: ready for queries."""
        with self._lock:
            if self._endpoint is not None:
                return
            if self._service is None:
                self._service = sign_in(
                    self.apple_id, self.folder, self._icloud, self._options, self._sleep
                )
            self._call(self._ready, renew=True)

    def _ready(self) -> None:
        photos = self._service.photos  # the web access handshake, then the indexing check
        self._endpoint = str(photos.service_endpoint)
        self._params = dict(photos.params)

    def query(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """One ``records/query`` answer (a page of an index)."""
        return self._cloudkit("records/query", body)

    def zones(self) -> list[dict[str, Any]]:
        """The zones of the Photos database: the person's library (``PrimarySync``) and each
        shared library they take part in (``SharedSync-...``), as iCloud names them."""
        answer = self._cloudkit("zones/list", {})
        zones = answer.get("zones")
        return [z for z in zones or () if isinstance(z, dict) and isinstance(z.get("zoneID"), dict)]

    def lookup(
        self,
        names: Sequence[str],
        keys: Sequence[str] = DESIRED_KEYS,
        zone: Mapping[str, Any] = ZONE,
    ) -> list[dict[str, Any]]:
        """The records of these names, as they are now, with the fields ``keys``; a name iCloud
        no longer has gives an entry with a ``serverErrorCode``."""
        body = {
            "records": [{"recordName": name} for name in names],
            "zoneID": dict(zone),
            "desiredKeys": list(keys),
        }
        return _records(self._cloudkit("records/lookup", body))

    def modify(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One ``records/modify`` of these records (each with its ``recordChangeTag``), not
        atomic: one entry per record, the record as saved or its ``serverErrorCode``."""
        body = {
            "operations": [{"operationType": "update", "record": dict(r)} for r in records],
            "zoneID": ZONE,
            "atomic": False,
        }
        return _records(self._cloudkit("records/modify", body))

    def _cloudkit(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.open()

            def post() -> dict[str, Any]:
                response = self._service.session.post(
                    f"{self._endpoint}/{operation}", params=self._params, json=body
                )
                answer = response.json()
                if not isinstance(answer, dict):
                    raise DeviceError(f"iCloud answered {operation} with no records")
                return answer

            return self._call(post, renew=True)

    def _call(self, call: Callable[[], T], *, renew: bool) -> T:
        """``call()`` through throttling, and through one renewal of an expired session."""
        renewed = not renew
        while True:
            try:
                return with_backoff(call, self._sleep)
            except CompanionError:
                raise
            except Exception as exc:
                if not tr.is_expired(exc):
                    raise tr.translate(exc, self.apple_id) from exc
                if renewed:
                    raise tr.expired(self.apple_id) from exc
                log.info("the iCloud web session expired; renewing it")
                self._renew()
                renewed = True
            finally:
                tighten(self.folder)

    def _renew(self) -> None:
        """A new web session from the stored session token (no password, no code), and the
        web access handshake again."""
        service = self._service
        try:
            with_backoff(service.authenticate, self._sleep)
        except CompanionError:
            raise
        except Exception as exc:
            raise tr.expired(self.apple_id) from exc
        if service.requires_2fa or not service.is_trusted_session:
            raise tr.expired(self.apple_id)
        try:
            with_backoff(self._ready, self._sleep)
        except CompanionError:
            raise
        except Exception as exc:
            raise tr.translate(exc, self.apple_id) from exc

    def close(self) -> None:
        """Close pyicloud's connections (the session stays kept on disk)."""
        with self._lock:
            if self._service is not None:
                self._service.session.close()

    def forget(self) -> None:
        """Sign out on this computer: remove the session files and their folder (the next use
        signs in afresh, with a code)."""
        with self._lock:
            service = self._service or make_service(self.apple_id, self.folder, self._icloud)
            service.session.clear_persistence(remove_files=True)
            self._service = None
            self._endpoint = None
            with contextlib.suppress(OSError):
                self.folder.rmdir()


def _records(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    records = answer.get("records")
    if not isinstance(records, list):
        return []
    return [record for record in records if isinstance(record, dict)]
