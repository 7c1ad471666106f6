"""Read an iPhone's App Privacy Report and hold it against the checklist's photo steps.

The report (Settings > Privacy & Security > App Privacy Report, iOS 15.2 and later) exports as
NDJSON, one JSON object a line. A photo-library access is an interval: an ``intervalBegin`` line
and later an ``intervalEnd`` line that share one ``identifier``. Every other valid line (network
activity, other categories, system processes) only widens the period or feeds a count. Damaged
lines are counted and skipped, never raised: exports are often cut short.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from companion.checklist.model import Checklist, Level, Step
from companion.errors import UsageError

PHOTOS = "photos"
APPLE = "com.apple."  # Apple's own apps: Photos (com.apple.mobileslideshow), Camera...
_MAX_LINE = 1 << 20  # characters; real lines are well under 1 KiB, longer ones are skipped whole
_SNIFF = 4096  # bytes looked at to tell text from binary

EXPORT_HINT = (
    "On the iPhone, open Settings > Privacy & Security > App Privacy Report, tap the Share "
    "button and save the file (App_Privacy_Report_....ndjson) to this computer, with AirDrop "
    "or the Files app. If the report is off, turn it on and use the phone for a few days first: "
    "it keeps the last seven days."
)

Verdict = Literal["confirms", "contradicts", "unknown"]
Reason = Literal[
    "no_access",
    "read_while_add_only",
    "read_while_none",
    "reads_limited_or_full",
    "not_in_checklist",
]


@dataclass(frozen=True, slots=True)
class AppAccess:
    """One app's photo-library access intervals in the report, with the first and last seen."""

    bundle_id: str
    accesses: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class PrivacyReport:
    """What a report holds for the photo check.

    ``apps`` lists apps with at least one photo access, most first. ``system_accesses`` counts
    photo accesses by accessors that are not apps (``identifierType`` other than ``bundleID``).
    """

    apps: tuple[AppAccess, ...]
    lines: int
    skipped: int
    period: tuple[datetime, datetime] | None
    other_categories: dict[str, int]
    system_accesses: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    """One app's verdict: does the report agree with its checklist step?"""

    bundle_id: str
    name: str
    accesses: int
    verdict: Verdict
    step_key: str | None
    reason: Reason


class _Intervals:
    """Intervals of one accessor and category: distinct identifiers, plus lines without one."""

    __slots__ = ("anonymous", "first", "ids", "last")

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.anonymous = 0
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, interval: str | None, kind: object, when: datetime) -> None:
        if interval is not None:
            self.ids.add(interval)
        elif kind != "intervalEnd":  # an end without an identifier cannot be paired: not counted
            self.anonymous += 1
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)

    @property
    def count(self) -> int:
        return len(self.ids) + self.anonymous


class _Tally:
    """Takes lines one at a time: memory grows with the intervals, not with the file."""

    def __init__(self) -> None:
        self.lines = 0
        self.skipped = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.apps: dict[str, _Intervals] = {}
        self.others: dict[str, _Intervals] = {}
        self.system = _Intervals()

    def feed(self, line: str) -> None:
        text = line.lstrip("\ufeff").strip()
        if not text:
            return
        self.lines += 1
        if not self._record(text):
            self.skipped += 1

    def skip(self) -> None:
        self.lines += 1
        self.skipped += 1

    def _record(self, text: str) -> bool:
        try:
            value: object = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: deeply nested brackets
            return False
        if not isinstance(value, dict):
            return False
        when = _timestamp(value.get("timeStamp"))
        line_type = value.get("type")
        if when is None or not isinstance(line_type, str):
            return False
        if line_type == "access" and not self._access(value, when):
            return False
        self._widen(when)
        if line_type == "networkActivity" and (first := _timestamp(value.get("firstTimeStamp"))):
            self._widen(first)
        return True

    def _access(self, value: dict[Any, Any], when: datetime) -> bool:
        accessor = value.get("accessor")
        category = value.get("category")
        if not isinstance(accessor, dict) or not isinstance(category, str) or not category:
            return False
        who = accessor.get("identifier")
        who_type = accessor.get("identifierType")
        if not isinstance(who, str) or not who or not isinstance(who_type, str):
            return False
        interval = value.get("identifier")
        interval = interval if isinstance(interval, str) and interval else None
        kind = value.get("kind")
        if who_type == "bundleID":
            table, key = (self.apps, who) if category == PHOTOS else (self.others, category)
            table.setdefault(key, _Intervals()).add(interval, kind, when)
        elif category == PHOTOS:
            self.system.add(interval, kind, when)
        return True

    def _widen(self, when: datetime) -> None:
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)

    def report(self) -> PrivacyReport:
        apps = sorted(
            (
                AppAccess(bundle_id, tally.count, tally.first, tally.last)
                for bundle_id, tally in self.apps.items()
                if tally.count
            ),
            key=lambda app: (-app.accesses, app.bundle_id),
        )
        others = sorted(
            ((category, tally.count) for category, tally in self.others.items() if tally.count),
            key=lambda item: (-item[1], item[0]),
        )
        period = None if self.first is None or self.last is None else (self.first, self.last)
        return PrivacyReport(
            apps=tuple(apps),
            lines=self.lines,
            skipped=self.skipped,
            period=period,
            other_categories=dict(others),
            system_accesses=self.system.count,
        )


def _timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp with an offset; naive ones are rejected (they cannot be ordered)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def parse_privacy_report(lines: Iterable[str]) -> PrivacyReport:
    """Tally report lines (with or without their line endings); never raises for bad lines."""
    tally = _Tally()
    for line in lines:
        tally.feed(line)
    return tally.report()


def _read_lines(stream: io.TextIOBase) -> Iterator[str | None]:
    """The stream's lines; ``None`` for a line longer than ``_MAX_LINE``, drained unread."""
    while line := stream.readline(_MAX_LINE):
        if len(line) < _MAX_LINE or line.endswith("\n"):
            yield line
            continue
        while (rest := stream.readline(_MAX_LINE)) and not rest.endswith("\n"):
            pass
        yield None


def _is_text(head: bytes) -> bool:
    """Whether the first bytes are UTF-8 without NUL (a cut multi-byte character is fine)."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def read_privacy_report(path: Path) -> PrivacyReport:
    """Read an exported report line by line; ``UsageError`` if it is not one at all."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not an App Privacy Report file", hint=EXPORT_HINT)
    tally = _Tally()
    try:
        with path.open("rb") as raw:
            if not _is_text(raw.peek(_SNIFF)[:_SNIFF]):
                raise UsageError(
                    f"{path} is not a text file, so not an App Privacy Report", hint=EXPORT_HINT
                )
            # Isolated bad bytes become U+FFFD and spoil only their own line.
            with io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace") as text:
                for line in _read_lines(text):
                    if line is None:
                        tally.skip()
                    else:
                        tally.feed(line)
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}", hint=EXPORT_HINT) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}", hint=EXPORT_HINT) from exc
    report = tally.report()
    if report.lines == report.skipped:
        detail = (
            f"none of its {report.lines} lines is a report entry" if report.lines else "it is empty"
        )
        raise UsageError(
            f"{path} does not look like an App Privacy Report: {detail}", hint=EXPORT_HINT
        )
    return report


_VERDICT_ORDER: dict[Verdict, int] = {"contradicts": 0, "unknown": 1, "confirms": 2}


def _judge(best: Level | None, accesses: int) -> tuple[Verdict, Reason]:
    """The verdict for an app that has a checklist step recommending ``best`` first."""
    if accesses == 0:
        return "confirms", "no_access"
    if best == "add_only":
        return "contradicts", "read_while_add_only"
    if best == "none":
        return "contradicts", "read_while_none"
    # limited or full, or a step without levels: the report cannot tell Limited from Full
    return "unknown", "reads_limited_or_full"


def _photo_steps(checklist: Checklist) -> dict[str, Step]:
    """Bundle id -> its photo step; when several steps name one app, the first with levels."""
    steps: dict[str, Step] = {}
    for step in checklist.steps():
        if not step.bundle_id:
            continue
        known = steps.get(step.bundle_id)
        if known is None or (step.levels and not known.levels):
            steps[step.bundle_id] = step
    return steps


def is_system(bundle_id: str) -> bool:
    """Whether an accessor is one of Apple's own apps (case aside, as bundle ids compare)."""
    return bundle_id.casefold().startswith(APPLE)


def system_apps(report: PrivacyReport, checklist: Checklist) -> tuple[AppAccess, ...]:
    """Apple's own apps that read the library and have no line in the checklist: system access,
    with no setting to check, so never given a verdict. (An Apple app the person installed and
    that asks for photos, such as iMovie, has a line when the list comes from the phone.)"""
    steps = _photo_steps(checklist)
    return tuple(a for a in report.apps if is_system(a.bundle_id) and a.bundle_id not in steps)


def compare(
    report: PrivacyReport, checklist: Checklist, names: Mapping[str, str] | None = None
) -> list[Finding]:
    """One finding per app that has a photo step or read the library, most worrying first;
    Apple's own apps without a step are left out (``system_apps`` lists them).

    Bundle ids match exactly. When several steps name one app, the first with levels decides.
    """
    names = names or {}
    steps = _photo_steps(checklist)
    counts = {app.bundle_id: app.accesses for app in report.apps}
    findings: list[Finding] = []
    for bundle_id, step in steps.items():
        accesses = counts.get(bundle_id, 0)
        verdict, reason = _judge(step.levels[0] if step.levels else None, accesses)
        name = names.get(bundle_id, bundle_id)
        findings.append(Finding(bundle_id, name, accesses, verdict, step.key, reason))
    for app in report.apps:
        if app.bundle_id not in steps and not is_system(app.bundle_id):
            name = names.get(app.bundle_id, app.bundle_id)
            findings.append(
                Finding(app.bundle_id, name, app.accesses, "unknown", None, "not_in_checklist")
            )
    findings.sort(key=lambda f: (_VERDICT_ORDER[f.verdict], -f.accesses, f.name, f.bundle_id))
    return findings
