"""``checklist verify``: what an App Privacy Report says about each line of the checklist.

The report is compared with the checklist made for the same phone (from its facts) or, without
them, with the checklist for the apps the report names, on the newest iOS the content knows.
Each finding gets one sentence in the checklist's language. Apple's own apps (Photos, Camera...)
read the library as part of the system and have no setting to change: they are listed apart, as
system access, and never given a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from companion.checklist.builder import (
    BUNDLE_ID,
    DeviceFacts,
    Words,
    build_checklist,
    check_version,
    facts_from_bundle_ids,
)
from companion.checklist.content import load_content
from companion.checklist.model import Checklist, Lang
from companion.checklist.privacy_report import (
    AppAccess,
    Finding,
    PrivacyReport,
    compare,
    is_system,
    system_apps,
)
from companion.checklist.typography import clean_name, nested


@dataclass(frozen=True, slots=True)
class Verdict:
    finding: Finding
    verdict: str  # the verdict in the checklist's language ("not done", "pas fait"...)
    explanation: str  # one sentence, starting after the app's name


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checklist: Checklist
    report: PrivacyReport
    verdicts: tuple[Verdict, ...]
    summary: str  # the report's period and how many lines were read and skipped
    notes: tuple[str, ...]  # no app read photos; Apple's own apps; no device facts
    from_report: bool
    system: tuple[AppAccess, ...] = ()  # Apple's own apps that read photos: no verdict


def verify_report(
    report: PrivacyReport, facts: DeviceFacts | None, lang: Lang, *, today: date
) -> VerifyResult:
    content = load_content()
    from_report = facts is None
    if facts is None:  # a report's odd ids stay out of the checklist: "not in the checklist"
        newest = f"{content.majors[-1]}.0"
        ids = [
            a.bundle_id
            for a in report.apps
            if BUNDLE_ID.fullmatch(a.bundle_id) and not is_system(a.bundle_id)
        ]
        facts = facts_from_bundle_ids(newest, ids)
    checklist = build_checklist(facts, lang, today=today)
    # names from a phone or a report file are printed to a terminal: cleaned like the checklist's
    names = {a.bundle_id: clean_name(a.bundle_id, limit=80) for a in report.apps}
    names |= {a.bundle_id: clean_name(a.name) or clean_name(a.bundle_id) for a in facts.apps}
    version, _ = check_version(facts.ios, content)
    words = Words(content, version, lang)
    actions = {step.key: nested(step.action, lang) for step in checklist.steps()}
    verdicts = []
    for finding in compare(report, checklist, names):
        action = actions.get(finding.step_key or "", "")
        times = _times(finding.accesses, words)
        verdicts.append(
            Verdict(
                finding,
                words.text(f"verdict_{finding.verdict}"),
                words.text(f"reason_{finding.reason}", times=times, action=action),
            )
        )
    notes = []
    if not report.apps:
        notes.append(words.text("verify_no_report_apps"))
    system = system_apps(report, checklist)
    if system:
        listed = ", ".join(f"{names[a.bundle_id]} ({_times(a.accesses, words)})" for a in system)
        notes.append(words.text("verify_system_apps", names=listed))
    if from_report:
        notes.append(words.text("verify_from_report"))
    summary = _summary(report, words)
    return VerifyResult(
        checklist, report, tuple(verdicts), summary, tuple(notes), from_report, system
    )


def _times(count: int, words: Words) -> str:
    return words.text("times_one" if count == 1 else "times_many", count=str(count))


def _summary(report: PrivacyReport, words: Words) -> str:
    start, end = report.period or (None, None)
    return words.text(
        "verify_period",
        start=_day(start),
        end=_day(end),
        lines=str(report.lines),
        skipped=str(report.skipped),
    )


def _day(when: datetime | None) -> str:
    return when.date().isoformat() if when else "?"
