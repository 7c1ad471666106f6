"""Taking pictures off iCloud Photos for the cleanup (``Remover``), and saying what became of
them (``RemovalChecker``).

iCloud never deletes at once: a picture is moved to Recently Deleted, where it stays 30 days
(its ``dateExpunged``) before it is gone for good. That is what ``remove`` does, and all it
does: a ``records/modify`` of the picture's ``CPLAsset`` setting ``isDeleted`` to 1, as the
Photos app does. Nothing is ever moved to a folder (a quarantine is refused before anything is
touched: Recently Deleted is the quarantine).

One record holds every file of a picture (the original, its Live Photo movie, its edit's
render), so removing one of them removes them all; the others then report ``TRASHED`` without
another request. For each asset, in order:

- the record is read again first: CloudKit saves an update only with the record's current
  change tag, and the file must still be the one listed (same size), else it is left alone
  (``SourceChanged``); a ``CONFLICT`` (the record changed in between) means read and try once
  more;
- modifications are spaced at least ``MIN_INTERVAL_S`` apart: Apple refuses bursts, and a
  cleanup of hundreds of pictures is one. A ``503`` is waited out as every call of the account
  is (``Account``);
- the record is read once more, and what it shows is the ``Removal`` returned: a picture iCloud
  says it moved but still shows in the library is that file's ``SourceUnavailable``.

``removal_states`` only reads: each record as it is now, ``TRASHED`` with the day iCloud will
purge it, ``GONE`` when iCloud no longer has it, else ``PRESENT``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from companion.connectors.base import Removal, RemovalState
from companion.connectors.icloud.account import Account
from companion.connectors.icloud.records import DESIRED_KEYS, PRIMARY, CloudFile, link
from companion.errors import SourceChanged, SourceUnavailable, UsageError
from companion.model import Asset

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 1.0  # between two modifications: Apple refuses bursts
STATE_KEYS = ["recordName", "recordType", "isDeleted", "dateExpunged"]
# To check a picture's file before it is moved (the change tag comes with every record).
CHECK_KEYS = [
    *STATE_KEYS,
    *(key for key in DESIRED_KEYS if key.endswith(("Res", "FileType"))),
]
_RETRIES = 1  # a CONFLICT is read again and tried once more

Find = Callable[[Asset], CloudFile | None]


class Throttle:
    """Spaces calls at least ``interval`` seconds apart, waiting with ``sleep``."""

    def __init__(
        self,
        sleep: Callable[[float], None],
        interval: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sleep = sleep
        self._interval = interval
        self._clock = clock
        self._last: float | None = None

    def __call__(self) -> None:
        if self._last is not None:
            wait = self._last + self._interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last = self._clock()


@dataclass(frozen=True, slots=True)
class _Seen:
    """A picture's records as they are now (None: iCloud no longer has it)."""

    asset: Mapping[str, Any] | None
    master: Mapping[str, Any] | None


def refuse_quarantine(quarantine: Path | None) -> None:
    """iCloud's own Recently Deleted is where removed pictures go; never a folder."""
    if quarantine is not None:
        raise UsageError(
            "iCloud Photos moves removed pictures to its Recently Deleted album, not to a folder",
            hint="Use --delete: each chosen picture goes to Recently Deleted, where it stays 30 "
            "days, then 'companion cleanup --check' confirms.",
        )


def remove(
    account: Account, find: Find, assets: Sequence[Asset], throttle: Throttle
) -> list[Removal]:
    """Move the picture of each of ``assets`` to Recently Deleted; one ``Removal`` per asset,
    in order. A file that could not be moved is a ``SourceUnavailable`` raised once the others
    are done (the first of them, if several failed)."""
    done: list[Removal] = []
    failed: list[SourceUnavailable] = []
    for asset in assets:
        try:
            done.append(_trash(account, _located(find, asset), asset, throttle))
        except SourceUnavailable as exc:
            log.warning("not moved to Recently Deleted: %s", exc.message)
            failed.append(exc)
    if failed:
        raise failed[0]
    return done


def removal_states(
    account: Account, records: Sequence[str | None], assets: Sequence[Asset]
) -> list[Removal]:
    """What became of each of ``assets``, whose picture's record names are ``records`` (None:
    no record of it could be found, so it is gone)."""
    wanted = sorted({name for name in records if name is not None})
    found = {
        str(record.get("recordName")): record
        for record in (account.lookup(wanted, STATE_KEYS) if wanted else [])
    }
    return [
        _state(asset, found.get(name) if name is not None else None)
        for asset, name in zip(assets, records, strict=True)
    ]


def _located(find: Find, asset: Asset) -> CloudFile:
    file = find(asset)
    if file is None:
        raise SourceUnavailable(
            f"{asset.path} is not in the iCloud Photos library",
            hint="It may have been deleted since it was listed; list the library again.",
        )
    return file


def _trash(account: Account, file: CloudFile, asset: Asset, throttle: Throttle) -> Removal:
    if file.zone != PRIMARY:
        raise SourceUnavailable(
            f"{asset.path} is in an iCloud Shared Library: moving it to Recently Deleted would "
            "take it from everyone who shares it; it was left where it is",
            hint="If it is yours to remove, remove it in Photos on the iPhone.",
        )
    for attempt in range(_RETRIES + 1):
        seen = _read(account, file)
        _check_unchanged(seen, file, asset)
        assert seen.asset is not None
        if _value(seen.asset, "isDeleted") == 1:
            return _state(asset, seen.asset)  # another file of the picture took it already
        throttle()
        (answer,) = account.modify([_deletion(seen.asset)])
        code = answer.get("serverErrorCode")
        if code is None:
            return _confirmed(account, file, asset)
        if code != "CONFLICT" or attempt == _RETRIES:
            raise SourceUnavailable(
                f"iCloud did not move {asset.path} to Recently Deleted: "
                f"{answer.get('reason') or code}",
                hint="Run the cleanup again later; what was moved stays moved.",
            )
        log.info("%s changed meanwhile; reading it again", asset.path)
    raise AssertionError("unreachable")


def _read(account: Account, file: CloudFile) -> _Seen:
    found = {
        r.get("recordName"): r
        for r in account.lookup([file.record, file.master], CHECK_KEYS)
        if "serverErrorCode" not in r
    }
    return _Seen(found.get(file.record), found.get(file.master))


def _check_unchanged(seen: _Seen, file: CloudFile, asset: Asset) -> None:
    """The picture is still there with this file at the listed size; else it is left alone."""
    if seen.asset is None or seen.master is None:
        raise SourceUnavailable(
            f"{asset.path} is no longer in the iCloud Photos library",
            hint="It was deleted meanwhile; 'companion cleanup --check' says where it is.",
        )
    now = link(seen.asset, seen.master, file.role)
    if now is None or now.size != asset.size:
        raise SourceChanged(
            f"{asset.path} changed in iCloud since it was listed; it was left where it is",
            hint="Back it up again and verify the vault before removing it.",
        )


def _deletion(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "recordName": record.get("recordName"),
        "recordType": "CPLAsset",
        "recordChangeTag": record.get("recordChangeTag"),
        "fields": {"isDeleted": {"value": 1, "type": "INT64"}},
    }


def _confirmed(account: Account, file: CloudFile, asset: Asset) -> Removal:
    """The picture as iCloud shows it after the move: it must be in Recently Deleted."""
    (record,) = account.lookup([file.record], STATE_KEYS) or [{}]
    removal = _state(asset, record)
    if removal.state is RemovalState.PRESENT:
        raise SourceUnavailable(
            f"iCloud accepted moving {asset.path} to Recently Deleted but still shows it",
            hint="Look in Photos on icloud.com; run the cleanup again later.",
        )
    return removal


def _state(asset: Asset, record: Mapping[str, Any] | None) -> Removal:
    if record is None or "serverErrorCode" in record:
        return Removal(asset, RemovalState.GONE)
    if _value(record, "isDeleted") == 1:
        return Removal(asset, RemovalState.TRASHED, purge_on=_day(_value(record, "dateExpunged")))
    return Removal(asset, RemovalState.PRESENT)


def _day(millis: object) -> date | None:
    if not isinstance(millis, int | float):
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def _value(record: Mapping[str, Any], name: str) -> Any:
    field = record.get("fields", {}).get(name)
    return field.get("value") if isinstance(field, dict) else None
