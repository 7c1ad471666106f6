"""The App Privacy Report reader and its comparison with the checklist's photo steps.

Every report is generated here, line by line, in the shape the iPhone exports: begin/end pairs
of photo accesses, network activity, other categories and system processes named by path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from itertools import count
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.checklist.model import Checklist, Level, Section, Step
from companion.checklist.privacy_report import (
    AppAccess,
    Finding,
    PrivacyReport,
    compare,
    parse_privacy_report,
    read_privacy_report,
    system_apps,
)
from companion.errors import UsageError

PARIS = timezone(timedelta(hours=1))
START = datetime(2026, 11, 20, 8, 14, 3, 123000, tzinfo=PARIS)
_serial = count(1)

Record = dict[str, object]


def _stamp(when: datetime) -> str:
    """The export's shape: milliseconds and an offset."""
    return when.isoformat(timespec="milliseconds")


def access(
    accessor: str,
    *,
    interval: str | None,
    kind: str = "intervalBegin",
    when: datetime = START,
    category: str = "photos",
    id_type: str = "bundleID",
) -> Record:
    record: Record = {
        "accessor": {"identifier": accessor, "identifierType": id_type},
        "category": category,
        "kind": kind,
        "timeStamp": _stamp(when),
        "type": "access",
    }
    if interval is not None:
        record["identifier"] = interval
    return record


def network(bundle_id: str, when: datetime = START, first: datetime | None = None) -> Record:
    return {
        "domain": "graph.example.com",
        "firstTimeStamp": _stamp(first or when),
        "context": "",
        "timeStamp": _stamp(when),
        "domainType": 2,
        "initiatedType": "AppInitiated",
        "hasApp": True,
        "type": "networkActivity",
        "domainOwner": "",
        "bundleID": bundle_id,
        "hits": 12,
    }


def intervals(
    accessor: str,
    n: int,
    *,
    category: str = "photos",
    id_type: str = "bundleID",
    start: datetime = START,
) -> list[Record]:
    """``n`` access intervals, each a begin and, a few seconds later, an end."""
    records: list[Record] = []
    for i in range(n):
        interval = f"{next(_serial):08X}-0000-4000-8000-000000000000"
        begin = start + timedelta(minutes=7 * i)
        for kind, when in (("intervalBegin", begin), ("intervalEnd", begin + timedelta(seconds=3))):
            records.append(
                access(
                    accessor,
                    interval=interval,
                    kind=kind,
                    when=when,
                    category=category,
                    id_type=id_type,
                )
            )
    return records


def ndjson(records: Iterable[Record | str]) -> list[str]:
    return [item if isinstance(item, str) else json.dumps(item) for item in records]


def write_report(
    path: Path, records: Iterable[Record | str], *, bom: bool = False, newline: str = "\n"
) -> Path:
    text = newline.join(ndjson(records)) + newline
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def typical() -> list[Record]:
    """Three apps read photos (3, 1, 1), one only talks to the network, others use sensors."""
    return [
        *intervals("com.facebook.Facebook", 3),
        network("com.facebook.Facebook"),
        *intervals("com.burbn.instagram", 1),
        *intervals("net.whatsapp.WhatsApp", 1),
        network("com.google.Gmail"),
        *intervals("com.facebook.Facebook", 2, category="camera"),
        *intervals("com.apple.Maps", 4, category="location"),
        *intervals("com.burbn.instagram", 1, category="microphone"),
        *intervals("/usr/libexec/photoanalysisd", 2, id_type="path"),
        *intervals("/usr/libexec/locationd", 1, category="location", id_type="path"),
    ]


# ---------------------------------------------------------------------------------------------
# Reading


def test_counts_per_app_most_first_then_bundle_id() -> None:
    records = typical()
    report = parse_privacy_report(ndjson(records))
    assert [(app.bundle_id, app.accesses) for app in report.apps] == [
        ("com.facebook.Facebook", 3),
        ("com.burbn.instagram", 1),
        ("net.whatsapp.WhatsApp", 1),
    ]
    assert report.lines == len(records)
    assert report.skipped == 0
    assert report.other_categories == {"location": 4, "camera": 2, "microphone": 1}
    assert list(report.other_categories) == ["location", "camera", "microphone"]
    assert report.system_accesses == 2


def test_apps_without_photo_access_are_not_listed() -> None:
    report = parse_privacy_report(
        ndjson([network("com.google.Gmail"), *intervals("com.apple.Maps", 2, category="location")])
    )
    assert report.apps == ()
    assert report.other_categories == {"location": 2}


def test_intervals_are_distinct_identifiers() -> None:
    app = "com.example.Photos"
    records = [
        access(app, interval="A", kind="intervalBegin"),
        access(app, interval="A", kind="intervalEnd"),
        access(app, interval="A", kind="intervalBegin"),  # a repeated line is the same interval
        access(app, interval="B", kind="intervalBegin"),
        access(app, interval="B", kind="intervalEnd"),
    ]
    (entry,) = parse_privacy_report(ndjson(records)).apps
    assert entry.accesses == 2


def test_begin_without_end_and_end_without_begin_count_once() -> None:
    app = "com.example.Photos"
    records = [
        access(app, interval="OPEN", kind="intervalBegin"),  # still open at export
        access(app, interval="CLOSED", kind="intervalEnd"),  # began before the report's period
    ]
    (entry,) = parse_privacy_report(ndjson(records)).apps
    assert entry.accesses == 2


def test_lines_without_identifier() -> None:
    app = "com.example.Photos"
    records = [
        access(app, interval=None, kind="intervalBegin"),
        access(app, interval=None, kind="intervalBegin"),
        access(app, interval=None, kind="intervalEnd"),  # cannot be paired: not counted
        access(app, interval=""),  # an empty identifier is no identifier
    ]
    report = parse_privacy_report(ndjson(records))
    assert report.apps[0].accesses == 3
    assert report.skipped == 0


def test_period_spans_every_valid_line_across_offsets() -> None:
    tokyo = timezone(timedelta(hours=9))
    earliest = datetime(2026, 11, 14, 0, 30, tzinfo=UTC)
    latest = datetime(2026, 11, 21, 9, 0, tzinfo=tokyo)  # 00:00 UTC
    records = [
        *intervals("com.facebook.Facebook", 2),
        network("com.google.Gmail", when=START, first=earliest),
        access(
            "/usr/libexec/locationd",
            interval="L",
            category="location",
            id_type="path",
            when=latest,
        ),
    ]
    report = parse_privacy_report(ndjson(records))
    assert report.period == (earliest, latest)
    assert report.period[1].utcoffset() == timedelta(hours=9)  # offsets are kept as written
    app = report.apps[0]
    assert app.first == START
    assert app.last == START + timedelta(minutes=7, seconds=3)


def test_timestamps_with_and_without_fraction() -> None:
    lines = [
        json.dumps(access("a.b", interval="1")).replace(_stamp(START), "2026-11-20T08:14:03+01:00"),
        json.dumps(access("a.b", interval="2")).replace(_stamp(START), "2026-11-20T07:14:04.5Z"),
    ]
    report = parse_privacy_report(lines)
    assert report.skipped == 0
    assert report.period == (
        datetime(2026, 11, 20, 7, 14, 3, tzinfo=UTC),
        datetime(2026, 11, 20, 7, 14, 4, 500000, tzinfo=UTC),
    )


def test_empty_input_has_no_period() -> None:
    report = parse_privacy_report([])
    assert report == PrivacyReport(apps=(), lines=0, skipped=0, period=None, other_categories={})


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    records: list[Record | str] = ["", *typical()[:4], "   ", "", *typical()[4:], ""]
    path = write_report(tmp_path / "report.ndjson", records, bom=True, newline="\r\n")
    report = read_privacy_report(path)
    assert report.lines == len(typical())
    assert report.skipped == 0
    assert report == parse_privacy_report(ndjson(typical()))


def test_bom_and_crlf_given_as_strings() -> None:
    lines = [line + "\r\n" for line in ndjson(typical())]
    lines[0] = "\ufeff" + lines[0]
    report = parse_privacy_report([*lines, "\r\n", "\n"])
    assert report.lines == len(lines)
    assert report.skipped == 0


def _without(record: Record, key: str) -> str:
    return json.dumps({k: v for k, v in record.items() if k != key})


def _with(record: Record, key: str, value: object) -> str:
    return json.dumps({**record, key: value})


_ONE = access("a.b", interval="1")
MALFORMED = {
    "not json": "this is not json",
    "json array": json.dumps([_ONE]),
    "json string": json.dumps("photos"),
    "json number": "42",
    "json null": "null",
    "no accessor": _without(_ONE, "accessor"),
    "accessor not an object": _with(_ONE, "accessor", "a.b"),
    "accessor without identifier": _with(_ONE, "accessor", {"identifierType": "bundleID"}),
    "accessor without type": _with(_ONE, "accessor", {"identifier": "a.b"}),
    "no category": _without(_ONE, "category"),
    "category not a string": _with(_ONE, "category", ["photos"]),
    "no type": _without(_ONE, "type"),
    "no timestamp": _without(network("a.b"), "timeStamp"),
    "bad timestamp": _with(_ONE, "timeStamp", "yesterday"),
    "timestamp not a string": _with(_ONE, "timeStamp", 1700000000),
    "naive timestamp": _with(_ONE, "timeStamp", "2026-11-20T08:14:03"),
    "truncated": json.dumps(_ONE)[:57],
    "huge integer": "1" * 5000,
    "nested brackets": "[" * 100_000,
    "garbage megabyte": ("\x01garbage{" * 120_000)[:1_000_000],
}


@pytest.mark.parametrize("line", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_line_is_skipped_and_counted(line: str) -> None:
    good = intervals("com.facebook.Facebook", 1)
    report = parse_privacy_report([*ndjson(good[:1]), line, *ndjson(good[1:])])
    assert report.lines == 3
    assert report.skipped == 1
    end = START + timedelta(seconds=3)
    assert report.apps == (AppAccess("com.facebook.Facebook", 1, START, end),)
    assert report.period == (START, end)


def test_malformed_lines_in_a_file_with_a_truncated_last_line(tmp_path: Path) -> None:
    valid = typical()
    lines = [*ndjson(valid[:5]), *MALFORMED.values(), *ndjson(valid[5:])]
    last = json.dumps(access("com.example.Cut", interval="CUT"))[:-20]  # export cut short
    path = tmp_path / "report.ndjson"
    path.write_text("\n".join([*lines, last]), encoding="utf-8")  # and no final newline
    report = read_privacy_report(path)
    assert report.lines == len(valid) + len(MALFORMED) + 1
    assert report.skipped == len(MALFORMED) + 1
    assert report.apps == parse_privacy_report(ndjson(valid)).apps  # the cut line adds nothing


def test_over_long_line_is_skipped_without_reading_it_whole(tmp_path: Path) -> None:
    valid = ndjson(typical())
    path = tmp_path / "report.ndjson"
    with path.open("w", encoding="utf-8") as out:
        out.write(valid[0] + "\n")
        out.write("x" * (3 * (1 << 20) + 17) + "\n")  # longer than any line the reader keeps
        out.write("\n".join(valid[1:]) + "\n")
    report = read_privacy_report(path)
    assert report.lines == len(valid) + 1
    assert report.skipped == 1
    assert report.apps == parse_privacy_report(valid).apps


def test_an_isolated_bad_byte_spoils_only_its_line(tmp_path: Path) -> None:
    valid = ndjson(typical())
    path = tmp_path / "report.ndjson"
    path.write_bytes(("\n".join(valid) + "\n").encode() + b'{"type": \xff\xfe}\n')
    report = read_privacy_report(path)
    assert report.lines == len(valid) + 1
    assert report.skipped == 1


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n\r\n   \n",
        b'{"name": "companion", "version": "0.1.0"}\n[1, 2, 3]\n',
        b"date,app,photos\n2026-11-20,Facebook,3\n",
    ],
    ids=["empty", "blank", "other json", "csv"],
)
def test_no_valid_line_is_a_usage_error_with_a_hint(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "report.ndjson"
    path.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        read_privacy_report(path)
    assert "does not look like an App Privacy Report" in caught.value.message
    assert "App Privacy Report" in caught.value.hint
    assert "Share" in caught.value.hint


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        read_privacy_report(tmp_path / "absent.ndjson")
    assert "no such file" in caught.value.message
    assert "Settings > Privacy & Security > App Privacy Report" in caught.value.hint


def test_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        read_privacy_report(tmp_path)
    assert "folder" in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40,
        b"\xff\xd8\xff\xe0" + bytes(range(255, -1, -1)) * 40,
        "\ufeff".encode("utf-16-le") + json.dumps(network("a.b")).encode("utf-16-le"),
    ],
    ids=["png", "jpeg", "utf-16"],
)
def test_binary_file_is_a_usage_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "report.ndjson"
    path.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        read_privacy_report(path)
    assert "not a text file" in caught.value.message
    assert caught.value.hint


# ---------------------------------------------------------------------------------------------
# Comparing with the checklist


def photo_step(key: str, bundle_id: str, *levels: Level) -> Step:
    return Step(
        key=key,
        action="Set Photos to the recommended level",
        why="The app sees only what it needs.",
        path=("Settings", "Privacy & Security", "Photos"),
        bundle_id=bundle_id,
        levels=levels,
    )


def checklist(*steps: Step) -> Checklist:
    plain = Step(key="general.ios", action="Update iOS", why="Fixes.")
    return Checklist(
        lang="en",
        title="Photo permissions",
        subtitle="iPhone, iOS 18.1",
        intro="",
        notice=None,
        sections=(
            Section(key="general", title="General", intro="", steps=(plain,)),
            Section(key="apps", title="Apps", intro="", steps=steps),
        ),
        footnote="",
        words={},
        ios_version="18.1",
        generated="2026-11-27",
    )


def report_of(**accesses: int) -> PrivacyReport:
    """A report where each keyword (dots written as ``__``) read the library that many times."""
    records = [
        record for app, n in accesses.items() for record in intervals(app.replace("__", "."), n)
    ]
    return parse_privacy_report([*ndjson(records), json.dumps(network("com.google.Gmail"))])


def one(findings: list[Finding], bundle_id: str) -> Finding:
    (found,) = [finding for finding in findings if finding.bundle_id == bundle_id]
    return found


@pytest.mark.parametrize("level", ["none", "add_only", "limited", "full"])
def test_no_access_confirms_whatever_the_level(level: Level) -> None:
    steps = checklist(photo_step("apps.x", "com.x", level))
    findings = compare(report_of(com__other__App=2), steps)
    assert one(findings, "com.x") == Finding("com.x", "com.x", 0, "confirms", "apps.x", "no_access")


def test_read_while_add_only_contradicts() -> None:
    steps = checklist(photo_step("apps.fb", "com.facebook.Facebook", "add_only", "limited"))
    findings = compare(report_of(com__facebook__Facebook=3), steps)
    fb = "com.facebook.Facebook"
    assert findings == [Finding(fb, fb, 3, "contradicts", "apps.fb", "read_while_add_only")]


def test_read_while_none_contradicts() -> None:
    steps = checklist(photo_step("apps.game", "com.example.Game", "none"))
    (finding,) = compare(report_of(com__example__Game=1), steps)
    assert (finding.verdict, finding.reason) == ("contradicts", "read_while_none")


@pytest.mark.parametrize("levels", [("limited", "full"), ("full",)])
def test_read_while_limited_or_full_is_unknown(levels: tuple[Level, ...]) -> None:
    steps = checklist(photo_step("apps.wa", "net.whatsapp.WhatsApp", *levels))
    (finding,) = compare(report_of(net__whatsapp__WhatsApp=5), steps)
    assert (finding.verdict, finding.reason, finding.step_key) == (
        "unknown",
        "reads_limited_or_full",
        "apps.wa",
    )


def test_app_without_a_step_is_unknown() -> None:
    findings = compare(report_of(com__example__New=4), checklist())
    assert findings == [
        Finding("com.example.New", "com.example.New", 4, "unknown", None, "not_in_checklist")
    ]


def test_system_processes_and_other_categories_are_not_findings() -> None:
    records = [
        *intervals("/usr/libexec/photoanalysisd", 3, id_type="path"),
        *intervals("com.example.Cam", 2, category="camera"),
    ]
    report = parse_privacy_report(ndjson(records))
    assert compare(report, checklist(photo_step("apps.cam", "com.example.Cam", "none"))) == [
        Finding("com.example.Cam", "com.example.Cam", 0, "confirms", "apps.cam", "no_access")
    ]


def test_apples_own_apps_are_system_access_never_a_verdict() -> None:
    report = report_of(com__apple__mobileslideshow=12, com__apple__camera=1, com__example__New=2)
    steps = checklist(photo_step("apps.x", "com.example.X", "none"))
    findings = compare(report, steps)
    assert [(f.bundle_id, f.verdict) for f in findings] == [
        ("com.example.New", "unknown"),
        ("com.example.X", "confirms"),
    ]
    assert [(a.bundle_id, a.accesses) for a in system_apps(report, steps)] == [
        ("com.apple.mobileslideshow", 12),
        ("com.apple.camera", 1),
    ]


def test_an_apple_app_with_a_line_in_the_checklist_is_judged() -> None:
    """An Apple app the person installed from the App Store and that asks for photos (iMovie)
    has a photo line when the checklist comes from the phone: it gets its verdict."""
    report = report_of(com__apple__iMovie=2, com__apple__mobileslideshow=1)
    steps = checklist(photo_step("apps.imovie", "com.apple.iMovie", "none"))
    (finding,) = compare(report, steps)
    assert (finding.bundle_id, finding.verdict) == ("com.apple.iMovie", "contradicts")
    assert [a.bundle_id for a in system_apps(report, steps)] == ["com.apple.mobileslideshow"]


def test_names_and_order() -> None:
    steps = checklist(
        photo_step("apps.quiet", "com.example.Quiet", "add_only"),
        photo_step("apps.fb", "com.facebook.Facebook", "add_only"),
        photo_step("apps.game", "com.example.Game", "none"),
        photo_step("apps.wa", "net.whatsapp.WhatsApp", "limited"),
        photo_step("apps.ig", "com.burbn.instagram", "limited"),
        photo_step("apps.calm", "com.example.Calm", "none"),
    )
    report = report_of(
        com__facebook__Facebook=3,
        com__example__Game=3,
        net__whatsapp__WhatsApp=1,
        com__burbn__instagram=6,
        com__example__New=1,
    )
    names = {
        "com.facebook.Facebook": "Facebook",
        "com.example.Game": "A Game",
        "net.whatsapp.WhatsApp": "WhatsApp",
        "com.burbn.instagram": "Instagram",
        "com.example.Quiet": "Quiet",
        "com.example.Calm": "Calm",
    }
    findings = compare(report, steps, names)
    assert [(f.name, f.verdict, f.accesses) for f in findings] == [
        ("A Game", "contradicts", 3),  # equal accesses: by name
        ("Facebook", "contradicts", 3),
        ("Instagram", "unknown", 6),
        ("WhatsApp", "unknown", 1),  # equal accesses: by name, the bundle id when no name
        ("com.example.New", "unknown", 1),
        ("Calm", "confirms", 0),
        ("Quiet", "confirms", 0),
    ]


def test_one_finding_per_app_the_first_step_with_levels_decides() -> None:
    steps = checklist(
        Step(key="apps.fb.note", action="Note", why="", bundle_id="com.facebook.Facebook"),
        photo_step("apps.fb", "com.facebook.Facebook", "add_only"),
        photo_step("apps.fb.again", "com.facebook.Facebook", "full"),
    )
    (finding,) = compare(report_of(com__facebook__Facebook=2), steps)
    assert (finding.step_key, finding.verdict) == ("apps.fb", "contradicts")


def test_step_without_levels_cannot_be_judged() -> None:
    steps = checklist(Step(key="apps.x", action="Check", why="", bundle_id="com.x"))
    (finding,) = compare(report_of(com__x=1), steps)
    assert (finding.verdict, finding.reason, finding.step_key) == (
        "unknown",
        "reads_limited_or_full",
        "apps.x",
    )


def test_empty_report_confirms_every_step() -> None:
    steps = checklist(photo_step("apps.a", "com.a", "none"), photo_step("apps.b", "com.b", "full"))
    findings = compare(parse_privacy_report([]), steps)
    assert [(f.bundle_id, f.verdict) for f in findings] == [
        ("com.a", "confirms"),
        ("com.b", "confirms"),
    ]


# ---------------------------------------------------------------------------------------------
# Properties


def _non_blank(lines: Iterable[str]) -> int:
    return sum(1 for line in lines if line.lstrip("\ufeff").strip())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=30))
def test_arbitrary_text_never_raises(lines: list[str]) -> None:
    report = parse_privacy_report(lines)
    assert report.lines == _non_blank(lines)
    assert 0 <= report.skipped <= report.lines


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
_KEYS = ["accessor", "category", "identifier", "identifierType", "kind", "timeStamp", "type"]


_LIKELY = st.sampled_from(
    [
        "access",
        "photos",
        "bundleID",
        "intervalEnd",
        "2026-11-20T08:14:03.123+01:00",
        {"identifier": "a.b", "identifierType": "bundleID"},
    ]
)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(_KEYS), _JSON | _LIKELY, max_size=7), max_size=20))
def test_report_shaped_json_never_raises(objects: list[dict[str, object]]) -> None:
    lines = [json.dumps(obj) for obj in objects]
    report = parse_privacy_report(lines)
    assert report.lines == len(lines)
    assert sum(app.accesses for app in report.apps) <= report.lines - report.skipped


_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_ACCESS = st.builds(
    lambda app, interval, kind, when, category, id_type: access(
        app, interval=interval, kind=kind, when=when, category=category, id_type=id_type
    ),
    st.sampled_from(["com.a", "com.b", "org.c"]),
    st.sampled_from(["I1", "I2", "I3", "I4"]),
    st.sampled_from(["intervalBegin", "intervalEnd"]),
    st.datetimes(timezones=_OFFSETS),
    st.sampled_from(["photos", "photos", "camera", "location"]),
    st.sampled_from(["bundleID", "bundleID", "path"]),
)
_GARBAGE = st.text(max_size=60).map(lambda text: "#" + text)  # never JSON, never blank


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ACCESS, _GARBAGE), max_size=40))
def test_valid_and_garbage_lines_add_up(items: list[Record | str]) -> None:
    records = [item for item in items if not isinstance(item, str)]
    report = parse_privacy_report(ndjson(items))
    assert report.lines == len(items)
    assert report.skipped == len(items) - len(records)
    expected: dict[str, set[object]] = {}
    for record in records:
        who = record["accessor"]
        assert isinstance(who, dict)
        if record["category"] == "photos" and who["identifierType"] == "bundleID":
            expected.setdefault(who["identifier"], set()).add(record["identifier"])
    assert {app.bundle_id: app.accesses for app in report.apps} == {
        app: len(ids) for app, ids in expected.items()
    }
    if records:
        stamps = [datetime.fromisoformat(str(record["timeStamp"])) for record in records]
        assert report.period == (min(stamps), max(stamps))
    else:
        assert report.period is None


def test_accepts_any_iterable_of_lines() -> None:
    report = parse_privacy_report(line for line in ndjson(typical()))
    assert report.apps[0] == AppAccess(
        "com.facebook.Facebook", 3, START, START + timedelta(minutes=14, seconds=3)
    )
