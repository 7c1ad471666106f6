"""The checklist library: content checks, versions, app rules, hostile names, typography,
renderers, output helpers and the App Privacy Report verdicts. No subprocess, no simulator."""

from __future__ import annotations

import copy
import errno
import json
import os
import re
import stat
import tomllib
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.checklist.builder import (
    VERSION_HINT,
    DeviceFacts,
    build_checklist,
    check_version,
    facts_from_bundle_ids,
)
from companion.checklist.content import ContentError, load_content, parse_content, parse_version
from companion.checklist.model import LANGS, Checklist, Lang, Link, Section, Step
from companion.checklist.output import default_lang, default_paper, render, write_document
from companion.checklist.privacy_report import PrivacyReport, parse_privacy_report
from companion.checklist.render_text import render_html, render_markdown
from companion.checklist.typography import typeset
from companion.checklist.verify import verify_report
from companion.errors import CompanionError, UsageError
from companion.model import AppInfo, DeviceInfo

NBSP, NNBSP = "\u00a0", "\u202f"
TODAY = date(2026, 11, 1)
FB, IG, GPHOTOS = "com.facebook.Facebook", "com.burbn.instagram", "com.google.photos"
DROPBOX, CANVA = "com.getdropbox.Dropbox", "com.canva.canvaeditor"
NAMES = ("ios", "labels", "general", "apps", "text")
Breaker = Callable[[dict[str, Any]], object]


def reader(bundle_id: str, name: str, usage: str = "To edit photos.") -> AppInfo:
    return AppInfo(bundle_id, name, photo_usage=usage, photo_add_usage="To save photos.")


def saver(bundle_id: str, name: str) -> AppInfo:
    return AppInfo(bundle_id, name, photo_add_usage="To save photos.")


def build(
    ios: str = "17.5", apps: Iterable[AppInfo] = (), lang: Lang = "en", **kw: Any
) -> Checklist:
    device = kw.pop("device", None)
    return build_checklist(DeviceFacts(ios, tuple(apps), device), lang, today=TODAY, **kw)


def steps(checklist: Checklist) -> dict[str, Step]:
    return {s.key: s for s in checklist.steps()}


def no_control(text: str) -> bool:
    return not any(unicodedata.category(c).startswith("C") for c in text)


# -- Content ----------------------------------------------------------------------------------

_FILES = resources.files("companion.checklist") / "content"
DOCS = {n: tomllib.loads((_FILES / f"{n}.toml").read_text(encoding="utf-8")) for n in NAMES}


def itm(d: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in d["general"]["item"] if i["id"] == item_id)


def ent(d: dict[str, Any], bundle_id: str) -> dict[str, Any]:
    return next(a for a in d["apps"]["app"] if a["bundle_id"] == bundle_id)


def labels(d: dict[str, Any], item_id: str) -> list[str]:
    return itm(d, item_id)["path"][0]["labels"]  # type: ignore[no-any-return]


def parse_broken(break_it: Breaker) -> None:
    docs = copy.deepcopy(DOCS)
    break_it(docs)
    parse_content(*(docs[n] for n in NAMES))


def test_shipped_content_loads_and_is_complete() -> None:
    content = load_content()
    parse_broken(lambda d: None)  # the TOML read here is what load_content reads
    assert content.majors == (14, 15, 16, 17, 18, 26)
    assert {FB, GPHOTOS, CANVA} <= set(content.apps)
    for key, label in content.labels.items():
        for variant in label.variants:
            assert all(variant.text[lang].strip() for lang in LANGS), key
            assert variant.confirmed <= set(LANGS) and variant.source.url.startswith("https://")
    for item in content.items:
        path = item.path_at(item.since)
        assert path and all(content.labels[k].at(item.since) for k in path), item.id
    assert all(text[lang] for text in content.text.values() for lang in LANGS)
    assert all(len(content.text["months"][lang].split()) == 12 for lang in LANGS)
    assert {app.level for app in content.apps.values()} <= {"none", "limited"}


BROKEN: dict[str, tuple[Breaker, str]] = {
    "unknown path label": (lambda d: labels(d, "tracking").append("x"), "unknown label 'x'"),
    "label too new": (lambda d: labels(d, "tracking").insert(1, "apps"), "'apps' does not exist"),
    "item placeholder": (
        lambda d: itm(d, "tracking")["why"].update(fr="{nope}"),
        "'tracking': unknown",
    ),
    "text placeholder": (lambda d: d["text"]["intro"].update(en="Hi {nope}"), "intro: unknown"),
    "app placeholder": (lambda d: ent(d, FB)["why"].update(en="{nope}"), f"{FB!r}: unknown"),
    "text without fr": (lambda d: d["text"]["title"].pop("fr"), "title: needs"),
    "label without fr": (lambda d: d["labels"]["privacy"][1].pop("fr"), "label privacy"),
    "item without fr": (lambda d: itm(d, "safety-check")["action"].pop("fr"), "'safety-check'"),
    "link without fr": (lambda d: d["general"]["links"]["tracking"].pop("fr"), "link tracking"),
    "unknown link": (lambda d: itm(d, "tracking").update(link="nowhere"), "unknown link 'nowhere'"),
    "labels out of order": (lambda d: d["labels"]["level_limited"].reverse(), "level_limited"),
    "app level full": (lambda d: ent(d, FB).update(level="full"), f"{FB!r}: level"),
    "app level missing": (lambda d: ent(d, CANVA).pop("level"), f"{CANVA!r}: level"),
    "app declares write": (lambda d: ent(d, FB).update(declares=["write"]), f"{FB!r}: declares"),
    "path too late": (lambda d: itm(d, "lock-hidden-album")["path"].pop(0), "album': needs a path"),
    "bad since": (lambda d: d["labels"]["settings"][0].update(since="14.x"), "label settings"),
}


@pytest.mark.parametrize(("break_it", "named"), list(BROKEN.values()), ids=list(BROKEN))
def test_parse_content_rejects_broken_content(break_it: Breaker, named: str) -> None:
    with pytest.raises(ContentError) as exc:
        parse_broken(break_it)
    assert named in str(exc.value)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: ent(d, FB)["setting"][0]["action"].update(en="Turn off {nobody}"),
        lambda d: ent(d, FB)["setting"][0]["path"].pop("fr"),
    ],
    ids=["setting placeholder", "setting path without fr"],
)
def test_parse_content_checks_app_settings(break_it: Breaker) -> None:
    with pytest.raises(ContentError, match=FB):
        parse_broken(break_it)


# -- Versions ---------------------------------------------------------------------------------


NO_IOS = "Apple went from iOS 18 to iOS 26. " + VERSION_HINT
TOO_OLD = "iOS 13.7 has no per-app photo access levels (they came with iOS 14)"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("19", "there is no iOS 19", NO_IOS),
        ("21.1", "there is no iOS 21", NO_IOS),
        ("25.0.1", "there is no iOS 25", NO_IOS),
        ("13.7", TOO_OLD, "Update the iPhone to iOS 14 or later; until then, deny Photos to apps"),
        *[(t, f"not an iOS version: {t!r}", VERSION_HINT) for t in ("abc", "17.", "", "1.2.3.4")],
        *[(t, f"not an iOS version: {t!r}", VERSION_HINT) for t in ("17.5a", "1000", ".5")],
    ],
)
def test_version_usage_errors(text: str, message: str, hint: str) -> None:
    with pytest.raises(UsageError) as exc:
        build(text)
    assert exc.value.message == message and exc.value.hint.startswith(hint)


def test_newer_ios_builds_and_says_what_it_knows() -> None:
    assert check_version("27.0") == ((27, 0), True)
    assert check_version("26.1") == ((26, 1), False)
    checklist = build("27.0")
    assert checklist.intro.endswith(
        " This checklist knows iOS up to 26; on iOS 27.0 a label may have moved: use the "
        "Settings search field."
    )
    assert "general.enhanced-visual-search" in steps(checklist)
    assert "knows iOS up to" not in build("26.0").intro


@pytest.mark.parametrize(
    ("ios", "limited", "privacy"),
    [
        ("14.0", "Selected Photos", "Privacy"),
        ("15.1", "Selected Photos", "Privacy"),
        ("16.0", "Selected Photos", "Privacy & Security"),
        ("17.0", "Limited Access", "Privacy & Security"),
        ("26.1", "Limited Access", "Privacy & Security"),
    ],
)
def test_photo_line_labels_follow_the_version(ios: str, limited: str, privacy: str) -> None:
    facebook = steps(build(ios, [reader(FB, "Facebook")]))[f"photos.{FB}"]
    assert facebook.action == f"Set Facebook to {limited} or None"
    assert facebook.path == ("Settings", privacy, "Photos", "Facebook")


@pytest.mark.parametrize(
    ("key", "before", "since"),
    [
        ("general.tracking", "14.4", "14.5"),
        ("verify.app-privacy-report", "15.1", "15.2"),
        ("verify.safety-check", "15.7", "16.0"),
        ("general.shared-library", "16.0", "16.1"),
        ("general.enhanced-visual-search", "17.7.2", "18.0"),
    ],
)
def test_steps_appear_with_their_version(key: str, before: str, since: str) -> None:
    assert key not in steps(build(before))
    assert key in steps(build(since)) and key in steps(build("26.1"))


@pytest.mark.parametrize(("ios", "apps"), [("16.0", ()), ("18.0", ("apps",)), ("26.1", ("apps",))])
def test_photos_settings_moved_under_apps_in_18(ios: str, apps: tuple[str, ...]) -> None:
    lock = next(i for i in load_content().items if i.id == "lock-hidden-album")
    assert lock.path_at(parse_version(ios)) == ("settings", *apps, "photos", "use_face_id")
    if apps:
        evs = steps(build(ios))["general.enhanced-visual-search"]
        assert " › ".join(evs.path) == "Settings › Apps › Photos › Enhanced Visual Search"


def test_verify_section_is_left_out_before_it_has_steps() -> None:
    assert [s.key for s in build("15.1").sections] == ["photos", "general"]
    assert [s.key for s in build("15.2").sections] == ["photos", "general", "verify"]


@pytest.mark.parametrize("ios", ["16.0", "17.5", "18.0"])
def test_unconfirmed_french_label_prints_a_search(ios: str) -> None:
    english = steps(build(ios))["verify.safety-check"]  # "Safety Check" is confirmed in English
    assert english.path == ("Settings", "Privacy & Security", "Safety Check")
    assert english.search is None
    french = steps(build(ios, lang="fr"))["verify.safety-check"]
    assert french.path == ()
    assert french.search == f"Cherchez «{NBSP}Contrôle de sécurité{NBSP}» dans les Réglages"
    face_id = steps(build(ios, lang="fr"))["general.lock-hidden-album"]  # confirmed in neither
    assert (
        face_id.path == () and face_id.search is not None and "Utiliser Face ID" in face_id.search
    )


# -- Usage-key rules --------------------------------------------------------------------------


def test_reader_add_only_and_neither() -> None:
    apps = [
        reader("com.example.reader", "Reader"),
        saver("com.example.saver", "Saver"),
        AppInfo("com.example.calc", "CalcPad", camera_usage="Scan."),
        AppInfo("com.apple.camera", "SysCam", system=True, photo_usage="Everything."),
    ]
    checklist = build("17.5", apps)
    read, add = checklist.sections[0].steps
    assert read.action == "Set Reader to Limited Access or None"
    assert read.bundle_id == "com.example.reader" and read.levels == ("limited", "none")
    assert add.action == "Set Saver to Add Photos Only: that is enough"
    assert add.why == "It only saves photos; it never needs to see the ones you have."
    assert (add.bundle_id, add.levels) == ("com.example.saver", ("add_only", "none"))
    text = render_markdown(checklist)
    assert "CalcPad" not in text and "SysCam" not in text


def test_known_app_declaring_only_add_gets_no_in_app_steps() -> None:
    checklist = build("17.5", [saver(FB, "Facebook")])
    (only,) = checklist.steps()[:1]
    assert only.action == "Set Facebook to Add Photos Only: that is enough"
    assert only.levels == ("add_only", "none")
    assert "apps" not in [s.key for s in checklist.sections]
    assert "Inside the apps" not in render_markdown(checklist)


def test_known_readers_get_content_reason_and_in_app_steps() -> None:
    checklist = build("17.5", [reader(GPHOTOS, "Google Photos"), reader(FB, "Facebook")])
    facebook, google = checklist.sections[0].steps
    assert (google.action, google.levels) == ("Set Google Photos to None", ("none", "limited"))
    assert google.why.startswith("Unless it is the backup you chose: with Full Access")
    assert facebook.why == (
        "Its Camera roll sharing suggestions, once allowed, select media from your camera roll "
        "(by time, location or themes) and upload it to Meta’s cloud on an ongoing basis; with "
        "Full Access the app can read every photo."
    )
    assert facebook.link is not None and facebook.link.url.endswith("/iph251e92810/ios")
    assert google.link is None  # only the first photo line carries the link
    in_app = checklist.sections[1].steps
    assert [s.key for s in in_app] == [f"app.{FB}.camera-roll-sharing", f"app.{GPHOTOS}.backup"]
    assert in_app[0].action == "Facebook: Turn off both Camera roll sharing suggestions toggles"
    assert in_app[0].path[:2] == ("Facebook", "Menu")
    assert all(s.bundle_id is None and s.levels == () for s in in_app)


def test_french_in_app_step_searches_when_unconfirmed() -> None:
    step = steps(build("17.5", [reader(FB, "Facebook")], "fr"))[f"app.{FB}.camera-roll-sharing"]
    assert step.action.startswith(f"Facebook{NBSP}: ") and step.path == ()
    assert step.search == (
        f"Dans Facebook, cherchez «{NBSP}Suggestions de partage de la pellicule{NBSP}»"
    )
    assert step.action == (
        f"Facebook{NBSP}: désactivez les deux boutons "
        f"«{NBSP}Suggestions de partage de la pellicule{NBSP}»"
    )


def test_unknown_reader_quotes_its_usage_string_truncated() -> None:
    usage = "We use your photos to make collages and " + "x" * 300
    (step,) = build("17.5", [reader("com.example.collage", "Collage", usage)]).steps()[:1]
    assert step.why.startswith(
        "It can ask for your whole library; Limited Access shows it only the photos you pick. "
        "It says it needs them to: “We use your photos to make collages and xxx"
    )
    quoted = step.why.split("“", 1)[1]
    assert quoted.endswith("x…”") and len(quoted) == 110 + 1


def test_uninstalled_known_apps_never_appear() -> None:
    text = render_markdown(build("18.0", [reader(FB, "Facebook"), reader(CANVA, "Canva")]))
    for absent in ("TikTok", "Threads", "Snapchat", "OneDrive", "WhatsApp", "Google Photos"):
        assert absent not in text


def test_order_is_risk_then_name_case_insensitively() -> None:
    known = [reader(b, n) for b, n in ((CANVA, "Canva"), (GPHOTOS, "Google Photos"))]
    known += [reader(DROPBOX, "Dropbox"), reader(IG, "Instagram"), reader(FB, "Facebook")]
    unknown = [reader(f"com.x.u{i}", n) for i, n in enumerate(("Zeta", "app 10", "App 9"))]
    apps = [saver("com.example.aaa", "aaa saver"), *unknown, *known]
    names = [s.action.split(" to ")[0][4:] for s in build("17.5", apps).sections[0].steps]
    expected = "Facebook,Instagram,Dropbox,Google Photos,Canva,App 9,app 10,Zeta,aaa saver"
    assert names == expected.split(",")


def test_many_unknown_apps_print_as_one_group() -> None:
    apps = [reader(f"com.example.r{i}", f"R{i}") for i in range(5)]
    apps += [saver(f"com.example.s{i}", f"S{i}") for i in range(4)]
    checklist = build("17.5", apps)
    photos = checklist.sections[0]
    assert [g.key for g in photos.groups] == ["read"]
    assert photos.groups[0].action == "Set each of these apps to Limited Access or None"
    assert [s.group for s in photos.steps] == ["read"] * 5 + [None] * 4
    assert [s.label for s in photos.steps[:2]] == ["R0", "R1"]
    text = render_markdown(checklist)
    assert "  - [ ] R4" in text.splitlines()
    assert sum(line.lstrip().startswith("- [ ] ") for line in text.splitlines()) == len(
        checklist.steps()
    )
    assert not build("17.5", apps[1:]).sections[0].groups  # four readers: one line each


# -- Bundle ids -------------------------------------------------------------------------------


def test_facts_from_bundle_ids() -> None:
    facts = facts_from_bundle_ids("17.5", ["com.x.b", " com.x.a ", "", "  ", "com.x.b", FB])
    assert facts.ios == "17.5" and facts.device is None
    assert facts.apps == (
        AppInfo("com.x.b", "com.x.b", photo_usage=""),
        AppInfo("com.x.a", "com.x.a", photo_usage=""),
        AppInfo(FB, "Facebook", photo_usage="", photo_add_usage=""),
    )
    assert facts_from_bundle_ids("17.5", ["", " "]).apps == ()


@pytest.mark.parametrize("bad", ["../etc", "a b", "com.x;rm", "-leading", "a/b", "x" * 256])
def test_invalid_bundle_ids_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="not a bundle id") as exc:
        facts_from_bundle_ids("17.5", ["com.example.ok", "", bad])
    assert exc.value.message == f"not a bundle id: {bad!r}"


# -- Hostile names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Bob\x00\x07\x1b[2J", "Bob[2J"),
        ("\u202eenohPi boB\u200f", "enohPi boB"),
        ("A" * 500, "A" * 59 + "…"),
        ("\x1b\u202e", "iPhone"),
        pytest.param("Line one\nLine two\tend\r\n", "Line one Line two end"),
    ],
)
def test_device_name_is_cleaned(name: str, shown: str) -> None:
    subtitle = build(device=DeviceInfo("usb:1", name, "iPhone 15\u202e", "17.5")).subtitle
    assert subtitle == f"{shown} · iPhone 15 · iOS 17.5 · 1 November 2026"
    assert no_control(subtitle) and len(subtitle.split(" · ")[0]) <= 60


def test_html_escapes_script_in_app_name() -> None:
    html = render_html(build("17.5", [reader("com.example.x", "<script>alert(1)</script>")]))
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_escapes_app_name_and_heading_device() -> None:
    name = "*bold* _x_ [link](y) # | <b>"
    device = DeviceInfo("usb:1", "# heading", "iPhone")
    lines = render_markdown(build("17.5", [reader("com.x", name)], device=device)).splitlines()
    escaped = r"\*bold\* \_x\_ \[link\](y) # \| \<b\>"
    assert f"- [ ] **Set {escaped} to Limited Access or None**  " in lines
    assert not any(line.startswith("# heading") for line in lines)
    assert "\\# heading · iPhone · iOS 17.5 · 1 November 2026" in lines


def test_markdown_escapes_an_ordered_list_start_invisibly() -> None:
    lines = render_markdown(build(device=DeviceInfo("usb:1", "1. Bob", "iPhone"))).splitlines()
    assert "1\\. Bob · iPhone · iOS 17.5 · 1 November 2026" in lines


def test_app_name_that_cleans_to_nothing_still_names_the_app() -> None:
    (step,) = build("17.5", [reader("com.example.blank", "\u202e\x07")]).steps()[:1]
    assert "Set  to" not in step.action


def test_usage_string_quotes_are_typeset_as_a_pair() -> None:
    (step,) = build("17.5", [reader("com.example.q", "Q", 'Use "Photos" now')]).steps()[:1]
    assert "'" not in step.why


# -- Typography -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", 'Say "hi" to Bob\'s phone', "Say “hi” to Bob’s phone"),
        ("en", "Ratio 2:1 at 08:14; why?", "Ratio 2:1 at 08:14; why?"),
        ("fr", 'Il dit "  bonjour " : oui', f"Il dit «{NBSP}bonjour{NBSP}»{NBSP}: oui"),
        ("fr", "l'app d'Élodie", "l’app d’Élodie"),
        ("fr", "Départ à 08:14, voir https://x.org", "Départ à 08:14, voir https://x.org"),
        ("fr", "Attention!", f"Attention{NNBSP}!"),
        ("fr", "Vraiment ? Oui ; non", f"Vraiment{NNBSP}? Oui{NNBSP}; non"),
        ("fr", 'Il dit "quoi?"', f"Il dit «{NBSP}quoi{NNBSP}?{NBSP}»"),
        ("fr", "a  :b", f"a{NBSP}:b"),
    ],
)
def test_typeset(lang: Lang, text: str, expected: str) -> None:
    assert typeset(text, lang) == expected


@given(
    st.text(alphabet="abzéÉA '\":;!?,.()«»-019/\n\u00a0\u202f", max_size=40).filter(
        lambda t: not re.search(r"[;!?][;!?]", t)  # see test_typeset_french_double_marks
    ),
    st.sampled_from(LANGS),
)
def test_typeset_is_idempotent(text: str, lang: Lang) -> None:
    once = typeset(text, lang)
    assert typeset(once, lang) == once


@pytest.mark.parametrize(
    ("text", "right"), [("Quoi?!", f"Quoi{NNBSP}?!"), ("Non!!", f"Non{NNBSP}!!")]
)
def test_typeset_french_double_marks(text: str, right: str) -> None:
    once = typeset(text, "fr")
    assert typeset(once, "fr") == once
    assert once == right


# -- Dates and notice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "day", "expected"),
    [
        ("en", date(2026, 11, 1), "iOS 17.5 · 1 November 2026"),
        ("fr", date(2026, 11, 1), "iOS 17.5 · 1er novembre 2026"),
        ("fr", date(2026, 8, 2), "iOS 17.5 · 2 août 2026"),
        ("en", date(2027, 1, 31), "iOS 17.5 · 31 January 2027"),
    ],
)
def test_subtitle_date(lang: Lang, day: date, expected: str) -> None:
    checklist = build_checklist(DeviceFacts("17.5", ()), lang, today=day)
    assert (checklist.subtitle, checklist.generated) == (expected, day.isoformat())


EN_NOTICE = "The scan flagged {} on this phone. Review {} before you change anything: "
FR_NOTICE = "L’analyse a repéré 5 photos privées sur ce téléphone. Examinez-les avant de changer "


@pytest.mark.parametrize(
    ("lang", "flagged", "expected"),
    [
        ("en", None, None),
        ("en", 0, None),
        ("en", 1, EN_NOTICE.format("1 private photo", "it") + "companion cleanup"),
        ("en", 5, EN_NOTICE.format("5 private photos", "them") + "companion cleanup"),
        ("fr", 5, f"{FR_NOTICE}quoi que ce soit{NBSP}: companion cleanup"),
    ],
)
def test_notice(lang: Lang, flagged: int | None, expected: str | None) -> None:
    assert build("17.5", lang=lang, flagged=flagged).notice == expected


# -- Markdown and HTML ------------------------------------------------------------------------

LINK = Link("About it", "https://support.apple.com/102188")
STEP_A = Step("photos.a", "Set A", "Why A.", ("Settings", "Photos", "A"), link=LINK)
STEP_B = Step("photos.b", "Set B", "Why B.", search="Search Settings for “B”")
SECTION = Section("photos", "Photos", "Riskiest first.", (STEP_A, STEP_B))
SMALL = Checklist("en", "T", "S", "I", "N", (SECTION,), "F", {}, "17.5", "2026-11-01")


def test_markdown_golden() -> None:
    assert render_markdown(SMALL) == (
        "# T\n\nS\n\nI\n\n> **N**\n\n## Photos\n\n*Riskiest first.*\n\n"
        "- [ ] **Set A**  \n  Settings › Photos › A  \n"
        "  Why A. ([About it](https://support.apple.com/102188))\n"
        "- [ ] **Set B**  \n  Search Settings for “B”  \n  Why B.\n\n---\n\n*F*\n"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_has_one_box_per_step(lang: Lang) -> None:
    apps = [reader(FB, "Facebook"), reader(GPHOTOS, "Google Photos"), saver("com.x.s", "S")]
    checklist = build("18.0", apps, lang, flagged=2)
    lines = render_markdown(checklist).splitlines()
    # 2 app lines and 2 of their settings, the saver, 12 general lines, 2 to check it worked
    assert sum(line.startswith("- [ ] ") for line in lines) == len(checklist.steps()) == 19


@pytest.mark.parametrize(("paper", "size"), [("a4", "A4"), ("letter", "letter")])
def test_html_page(paper: str, size: str) -> None:
    apps = [reader(FB, "Facebook"), saver("com.x.s", "S")]
    apps += [reader(f"com.x.r{i}", f"R{i}") for i in range(6)]  # a group too
    checklist = build("18.0", apps, "fr")
    html = render_html(checklist, paper=paper)
    assert '<html lang="fr">' in html
    csp = "default-src 'none'; style-src 'unsafe-inline'"
    assert f'<meta http-equiv="Content-Security-Policy" content="{csp}">' in html
    ids = re.findall(r'<input type="checkbox" id="([^"]+)">', html)
    assert len(ids) == len(set(ids)) == len(checklist.steps())
    assert all(f'<label for="{i}">' in html for i in ids)
    assert f"@page {{ size: {size};" in html
    assert "src=" not in html and "<link" not in html and "<script" not in html


def test_html_escapes_every_text() -> None:
    bad = '<b>&"'
    step = Step("k", bad, bad, (bad, bad), link=Link(bad, "https://x.org/?a=1&b=2"))
    section = Section("s", bad, bad, (step,))
    html = render_html(Checklist("en", bad, bad, bad, bad, (section,), bad, {}, "17.5", "2026"))
    assert "<b>" not in html and '&"' not in html
    # title and subtitle twice (<title>, body), the path's two labels, eight other texts
    assert html.count("&lt;b&gt;&amp;&quot;") == 14
    assert 'href="https://x.org/?a=1&amp;b=2"' in html


def test_html_checkbox_ids_are_unique_for_similar_bundle_ids() -> None:
    apps = [reader("com.example.a-b", "AB1"), reader("com.example.a.b", "AB2")]
    ids = re.findall(r'type="checkbox" id="([^"]+)"', render_html(build("17.5", apps)))
    assert len(ids) == len(set(ids))


# -- Output -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        # as gettext: LC_ALL wins, and LANGUAGE counts only when the locale is not C
        ({"LC_ALL": "C", "LANG": "fr_CA.UTF-8"}, "en"),
        ({"LC_ALL": "C.UTF-8", "LANG": "POSIX", "LANGUAGE": "fr"}, "en"),
        ({}, "en"),
        ({"LANGUAGE": "fr:en"}, "en"),
        ({"LANG": "en_US.UTF-8", "LANGUAGE": "fr:en"}, "fr"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
    ],
)
def test_default_lang(env: dict[str, str], lang: Lang) -> None:
    assert default_lang(env) == lang


@pytest.mark.parametrize(
    ("lang", "env", "paper"),
    [
        ("en", {"LANG": "en_US.UTF-8"}, "letter"),
        ("en", {"LANG": "en_GB.UTF-8"}, "a4"),
        ("fr", {"LANG": "fr_CA.UTF-8"}, "letter"),
        ("fr", {}, "a4"),
        ("en", {}, "letter"),
        ("en", {"LANG": "C"}, "letter"),
        ("fr", {"LANG": "en_US.UTF-8"}, "letter"),
        pytest.param(
            "en",
            {"LANG": "en.UTF-8"},
            "letter",
        ),
    ],
)
def test_default_paper(lang: Lang, env: dict[str, str], paper: str) -> None:
    assert default_paper(lang, env) == paper


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".checklist-")]


def test_write_document_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "checklist.md"
    write_document(target, b"first")
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    write_document(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert leftovers(tmp_path) == []


def test_write_document_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "checklist.pdf"
    target.write_bytes(b"good")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(CompanionError, match="cannot write") as exc:
        write_document(target, b"half")
    assert exc.value.hint == "Free some space, or write it elsewhere with --out."
    assert target.read_bytes() == b"good" and leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["missing/checklist.pdf", "folder"])
def test_write_document_usage_errors(tmp_path: Path, where: str) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(UsageError):
        write_document(tmp_path / where, b"x")
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "folder") == []


def test_render_formats() -> None:
    checklist = build("17.5", [reader(FB, "Facebook")])
    md = render(checklist, "md")
    assert md.pages is None and md.data == render_markdown(checklist).encode()
    html = render(checklist, "html", paper="letter")
    assert html.pages is None and b"@page { size: letter;" in html.data
    pdf = render(checklist, "pdf")
    assert pdf.data.startswith(b"%PDF") and pdf.pages is not None and pdf.pages >= 1


# -- verify -----------------------------------------------------------------------------------

START = datetime(2026, 11, 20, 8, 14, 3, tzinfo=timezone(timedelta(hours=1)))


def accesses(bundle_id: str, n: int, category: str = "photos") -> list[str]:
    """``n`` intervals in the export's shape: a begin and an end line sharing an identifier."""
    lines = []
    for i in range(n):
        begin = START + timedelta(minutes=7 * i)
        for kind, when in (("intervalBegin", begin), ("intervalEnd", begin + timedelta(seconds=3))):
            accessor = {"identifier": bundle_id, "identifierType": "bundleID"}
            record = {"accessor": accessor, "category": category, "kind": kind, "type": "access"}
            record |= {"identifier": f"{bundle_id}-{i}", "timeStamp": when.isoformat()}
            lines.append(json.dumps(record))
    return lines


def report_of(*groups: list[str]) -> PrivacyReport:
    return parse_privacy_report([line for group in groups for line in group])


SAVER, READER, QUIET = "com.example.saver", "com.example.reader", "com.example.quiet"
PHONE = DeviceFacts("17.5", (saver(SAVER, "Saver"), reader(READER, "R"), reader(QUIET, "Q")))
VERDICTS = {
    "en": {
        SAVER: (
            "not done",
            "read your photos 3 times, yet Add Photos Only is enough: “Set Saver to Add Photos "
            "Only: that is enough” is not done yet.",
        ),
        READER: (
            "to check",
            "read your photos once; the report cannot tell Limited Access from Full Access: "
            "check its setting.",
        ),
        QUIET: ("confirmed", "did not read your photos in this period."),
    },
    "fr": {
        SAVER: (
            "pas fait",
            "a lu vos photos 3 fois, alors que le réglage Ajouter des photos uniquement "
            f"suffit{NBSP}: "
            f"«{NBSP}Réglez Saver sur Ajouter des photos uniquement{NBSP}: cela suffit{NBSP}» "
            "n’est pas encore fait.",
        ),
        READER: (
            "à vérifier",
            f"a lu vos photos une fois{NNBSP}; le rapport ne distingue pas Accès limité et "
            f"Accès complet{NBSP}: vérifiez son réglage.",
        ),
        QUIET: ("confirmé", "n’a pas lu vos photos pendant cette période."),
    },
}


@pytest.mark.parametrize("lang", LANGS)
def test_verify_against_phone_facts(lang: Lang) -> None:
    report = report_of(accesses(SAVER, 3), accesses(READER, 1))
    result = verify_report(report, PHONE, lang, today=TODAY)
    assert {v.finding.bundle_id: (v.verdict, v.explanation) for v in result.verdicts} == (
        VERDICTS[lang]
    )
    assert [v.finding.bundle_id for v in result.verdicts] == [SAVER, READER, QUIET]
    assert result.notes == () and result.from_report is False
    if lang == "en":
        assert result.summary == (
            "App Privacy Report from 2026-11-20 to 2026-11-20: 8 lines; unreadable lines "
            "skipped: 0."
        )


def test_verify_without_facts_uses_the_report_apps() -> None:
    result = verify_report(report_of(accesses(GPHOTOS, 2)), None, "en", today=TODAY)
    assert result.from_report and result.checklist.ios_version == "26.0"
    (verdict,) = result.verdicts
    assert (verdict.finding.name, verdict.verdict) == ("Google Photos", "not done")
    assert verdict.explanation == (
        "read your photos 2 times: “Set Google Photos to None” is not done yet."
    )
    assert result.notes == (
        "Checked against the checklist for the apps in the report; --from usb checks your "
        "phone’s own.",
    )


@pytest.mark.parametrize("facts", [PHONE, None], ids=["facts", "no facts"])
def test_verify_report_without_photo_accesses(facts: DeviceFacts | None) -> None:
    report = report_of(accesses(SAVER, 2, category="camera"))
    assert report.apps == () and report.lines == 4
    result = verify_report(report, facts, "en", today=TODAY)
    assert result.notes[0] == "No app read your photo library in this period."
    assert len(result.notes) == (2 if facts is None else 1)
    assert all(v.verdict == "confirmed" for v in result.verdicts)


@pytest.mark.parametrize("facts", [PHONE, None], ids=["facts", "no facts"])
def test_verify_lists_apples_own_apps_apart(facts: DeviceFacts | None) -> None:
    apple = [*accesses("com.apple.mobileslideshow", 5), *accesses("com.apple.camera", 1)]
    report = report_of(apple, accesses(READER, 1))
    result = verify_report(report, facts, "en", today=TODAY)
    assert "com.apple.mobileslideshow" not in {v.finding.bundle_id for v in result.verdicts}
    assert [a.bundle_id for a in result.system] == ["com.apple.mobileslideshow", "com.apple.camera"]
    assert result.notes[0] == (
        "Apple’s own apps, which have no photo setting to check (system access): "
        "com.apple.mobileslideshow (5 times), com.apple.camera (once)."
    )
    assert not any("com.apple" in step.key for step in result.checklist.steps())
    french = verify_report(report, facts, "fr", today=TODAY).notes[0]
    assert french.startswith(
        f"Apps d’Apple, sans réglage de photos à vérifier (accès du système){NBSP}:"
    )


def test_verify_quotes_an_action_inside_its_sentence_with_inner_quotes() -> None:
    facts = DeviceFacts("15.2", (reader(GPHOTOS, "Google Photos"),))
    result = verify_report(report_of(accesses(GPHOTOS, 1)), facts, "fr", today=TODAY)
    (verdict,) = result.verdicts
    assert verdict.explanation == (
        f"a lu vos photos une fois{NBSP}: «{NBSP}Réglez Google Photos sur "
        f"\u2039{NBSP}Aucune{NBSP}\u203a{NBSP}» n’est pas encore fait."
    )


def test_verify_names_are_cleaned() -> None:
    facts = DeviceFacts("17.5", (saver("com.example.evil", "\x1b[31mEvil\u202e"),))
    result = verify_report(report_of(accesses("com.example.evil", 1)), facts, "en", today=TODAY)
    assert all(no_control(v.finding.name) for v in result.verdicts)


def test_verify_without_facts_tolerates_odd_report_ids() -> None:
    report = report_of(accesses("com.example.my_app", 1), accesses(FB, 1))
    result = verify_report(report, None, "en", today=TODAY)
    assert "com.example.my_app" in {v.finding.bundle_id for v in result.verdicts}
