"""The checklist's content rules, each shown to hold on the shipped content and to be refused (or
caught) when broken: every statement sourced, each iOS version's own words for the access
levels, an unconfirmed label never printed as the word on screen, links in the document's
language, and the facts the content states (what Meta's prompt says, how the App Privacy Report
is exported, the settings a careful guide includes)."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from companion.checklist.builder import DeviceFacts, build_checklist, facts_from_bundle_ids
from companion.checklist.content import (
    LEVEL_LABELS,
    Content,
    ContentError,
    load_content,
    parse_content,
    parse_version,
)
from companion.checklist.model import LANGS, Checklist, GroupBlock, Lang
from companion.checklist.typography import typeset
from companion.model import AppInfo

NBSP = "\u00a0"
NAMES = ("ios", "labels", "general", "apps", "text")
FB, IG = "com.facebook.Facebook", "com.burbn.instagram"
READ = date(2026, 12, 3)
DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "checklist.md"
_FILES = resources.files("companion.checklist") / "content"
DOCS = {n: tomllib.loads((_FILES / f"{n}.toml").read_text(encoding="utf-8")) for n in NAMES}
Breaker = Callable[[dict[str, Any]], object]
# Each major the content knows, a version where a label changes, and one newer than them all.
VERSIONS = ("14.0", "15.1", "15.2", "16.0", "16.2", "17.0", "17.5", "18.2", "26.0", "27.0")
QUOTES = {"en": ("\u201c", "\u201d"), "fr": (f"\u00ab{NBSP}", f"{NBSP}\u00bb")}


def broken(break_it: Breaker) -> Content:
    docs = copy.deepcopy(DOCS)
    break_it(docs)
    return parse_content(*(docs[n] for n in NAMES))


def item(d: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in d["general"]["item"] if i["id"] == item_id)


def app(d: dict[str, Any], bundle_id: str) -> dict[str, Any]:
    return next(a for a in d["apps"]["app"] if a["bundle_id"] == bundle_id)


def every_app_phone(ios: str) -> DeviceFacts:
    """Every app the content knows, an unknown reader and an add-only app."""
    facts = facts_from_bundle_ids(ios, [*load_content().apps, "org.example.reader"])
    saver = AppInfo("org.example.saver", "Saver", photo_add_usage="Saves scans.")
    return DeviceFacts(ios, (*facts.apps, saver))


def build(ios: str, lang: Lang, content: Content | None = None) -> Checklist:
    return build_checklist(every_app_phone(ios), lang, today=READ, content=content)


def printed(checklist: Checklist) -> Iterator[str]:
    """Every string a renderer prints."""
    yield from (checklist.title, checklist.subtitle, checklist.intro, checklist.footnote)
    for section in checklist.sections:
        yield from (section.title, section.intro)
        for block in section.blocks():
            if isinstance(block, GroupBlock):
                group = block.group
                yield from (group.action, group.why, *group.path, group.search or "")
                yield from (step.label or "" for step in block.steps)
            else:
                yield from (block.action, block.why, *block.path, block.search or "")
                yield block.link.title if block.link else ""


def _words(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(text)}(?!\w)")


def _without(text: str, words: list[str]) -> str:
    """``text`` without ``words``, longest first."""
    for word in sorted(words, key=len, reverse=True):
        text = _words(word).sub(" ", text)
    return text


# -- Every statement has a source, read on a given day ----------------------------------------


def test_every_item_label_app_and_setting_has_a_dated_source() -> None:
    content = load_content()
    sources = [i.source for i in content.items]
    sources += [v.source for label in content.labels.values() for v in label.variants]
    for entry in content.apps.values():
        assert entry.sources, entry.bundle_id
        sources += [*entry.sources, *(s.source for s in entry.settings)]
    assert sources and all(s.url.startswith("https://") and s.read == READ for s in sources)
    assert all(link.read == READ for link in content.links.values())


NO_SOURCE: dict[str, tuple[Breaker, str]] = {
    "item": (lambda d: item(d, "tracking").pop("source"), "item 'tracking': source"),
    "label": (lambda d: d["labels"]["privacy"][1].pop("source"), "label privacy: source"),
    "app": (lambda d: app(d, IG).pop("sources"), f"{IG!r}: sources is missing"),
    "app, empty": (lambda d: app(d, IG).update(sources=[]), f"{IG!r}: sources is missing"),
    "setting": (lambda d: app(d, FB)["setting"][0].pop("source"), "'camera-roll-sharing'"),
    "no date": (lambda d: item(d, "tracking")["source"].pop("read"), "read must be the day"),
    "a datetime": (
        lambda d: item(d, "tracking")["source"].update(read="2026-12-03"),
        "read must be the day",
    ),
    "not https": (
        lambda d: item(d, "tracking")["source"].update(url="http://support.apple.com/102420"),
        "source needs the https:// page",
    ),
    "link without date": (lambda d: d["general"]["links"]["location"].pop("read"), "location"),
}


@pytest.mark.parametrize(("break_it", "named"), list(NO_SOURCE.values()), ids=list(NO_SOURCE))
def test_a_statement_without_a_source_is_refused(break_it: Breaker, named: str) -> None:
    with pytest.raises(ContentError, match=re.escape(named)):
        broken(break_it)


def test_the_docs_list_every_source_with_the_day_it_was_read() -> None:
    content = load_content()
    urls = {i.source.url for i in content.items}
    urls |= {v.source.url for label in content.labels.values() for v in label.variants}
    for entry in content.apps.values():
        urls |= {s.url for s in entry.sources} | {s.source.url for s in entry.settings}
    urls |= {url for link in content.links.values() for url in link.url.values()}
    table = DOCS_PAGE.read_text(encoding="utf-8").split("## Sources", 1)[1]
    rows = {line for line in table.splitlines() if line.startswith("| ")}
    missing = [
        u for u in sorted(urls) if not any(f"<{u}>" in r and "2026-12-03" in r for r in rows)
    ]
    assert not missing


# -- Access levels: each version's own words, named only through the label table -------------

IN_WORDS: dict[str, tuple[Breaker, str]] = {
    "Full Access in an app's why": (
        lambda d: app(d, FB)["why"].update(en="With Full Access it reads every photo."),
        f"apps.toml {FB!r}: names the level 'Full Access' in words (en)",
    ),
    "in lower case": (
        lambda d: app(d, FB)["why"].update(en="With full access it reads every photo."),
        "names the level 'Full Access'",
    ),
    "iOS 14's word": (
        lambda d: d["text"]["intro"].update(en="An app set to Selected Photos sees little."),
        "text.toml intro: names the level 'Selected Photos' in words (en)",
    ),
    "French, in an item": (
        lambda d: item(d, "tracking")["why"].update(fr="Réglez-les sur Aucun."),
        "item 'tracking': names the level 'Aucun' in words (fr)",
    ),
    "French, in an app": (
        lambda d: app(d, IG)["why"].update(fr="L'Accès limité suffit."),
        "names the level 'Accès limité' in words (fr)",
    ),
    "in an in-app setting": (
        lambda d: app(d, FB)["setting"][0]["why"].update(en="Then set it to Limited Access."),
        "setting 'camera-roll-sharing': names the level 'Limited Access'",
    ),
}


@pytest.mark.parametrize(("break_it", "message"), list(IN_WORDS.values()), ids=list(IN_WORDS))
def test_a_level_named_in_words_is_refused(break_it: Breaker, message: str) -> None:
    with pytest.raises(ContentError, match=re.escape(message)):
        broken(break_it)


def test_a_level_named_through_the_label_table_loads() -> None:
    broken(lambda d: app(d, FB)["why"].update(en="With {level_full} it reads every photo."))
    # a sentence that starts with the word is no level: "Aucune app n'a lu..."
    broken(lambda d: d["text"]["intro"].update(fr="Aucune app ne voit tout."))


def test_a_label_a_text_names_must_exist_when_the_text_prints() -> None:
    with pytest.raises(ContentError, match=r"text.toml intro: label \{apps\} does not exist"):
        broken(lambda d: d["text"]["intro"].update(en="See {apps}."))  # Apps: iOS 18 only
    with pytest.raises(ContentError, match=r"labels.toml: level_full must exist from iOS 14"):
        broken(lambda d: d["labels"].pop("level_full"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("ios", VERSIONS)
def test_each_version_prints_only_its_own_level_words(ios: str, lang: Lang) -> None:
    content = load_content()
    version = parse_version(ios)
    here = [v.text[lang] for label in content.labels.values() if (v := label.at(version))]
    elsewhere = {
        variant.text[lang]
        for key in LEVEL_LABELS.values()
        for variant in content.labels[key].variants
    } - set(here)
    text = _without("\n".join(printed(build(ios, lang))), here)
    assert [word for word in elsewhere if _words(word).search(text)] == []


def test_before_ios_17_the_explanations_say_all_photos_not_full_access() -> None:
    checklist = build("16.0", "en")
    facebook = next(s for s in checklist.steps() if s.key == f"photos.{FB}")
    assert "with All Photos the app can read every photo" in facebook.why
    assert "Full Access" not in "\n".join(printed(checklist))
    assert "Limited Access" not in "\n".join(printed(checklist))


# -- An unconfirmed label never prints as if it were the word on screen -----------------------


def bare_unconfirmed(checklist: Checklist, content: Content) -> list[str]:
    """Each printed string where an unconfirmed label (an iOS label, or an in-app setting's
    name) appears outside quotes. Longer words are read first, so a confirmed one takes its
    words away ("Location" inside the confirmed "Location Services" is not the share sheet's
    unconfirmed "Location"), and an unconfirmed one is not hidden by a shorter confirmed one
    ("Photos" inside "Photos sélectionnées")."""
    lang, version = checklist.lang, parse_version(checklist.ios_version)
    words: dict[str, bool] = {}  # word as printed -> confirmed
    for label in content.labels.values():
        if (variant := label.at(version)) is not None:
            word = typeset(variant.text[lang], lang)
            words[word] = words.get(word, True) and lang in variant.confirmed
    opening, closing = QUOTES[lang]
    quoted = re.compile(re.escape(opening) + ".*?" + re.escape(closing))
    found = []
    for line in printed(checklist):
        text = quoted.sub(" ", line)
        for word in sorted(words, key=len, reverse=True):
            if not words[word] and _words(word).search(text):
                found.append(f"{word!r} in {line!r}")
            text = _words(word).sub(" ", text)
    steps = {step.key: step for step in checklist.steps()}
    for entry in content.apps.values():
        for setting in entry.settings:  # an app's own word, on its own line
            step = steps.get(f"app.{entry.bundle_id}.{setting.id}")
            word = typeset(setting.search[lang], lang)
            if step is None or lang in setting.confirmed:
                continue
            for line in (step.action, step.why):
                if _words(word).search(quoted.sub(" ", line)):
                    found.append(f"{word!r} in {line!r}")
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("ios", VERSIONS)
def test_no_unconfirmed_label_prints_plain(ios: str, lang: Lang) -> None:
    assert bare_unconfirmed(build(ios, lang), load_content()) == []


def test_the_check_catches_a_plain_unconfirmed_label() -> None:
    checklist = build("15.1", "fr")
    step = next(s for s in checklist.steps() if s.key == f"photos.{FB}")
    assert step.action == (
        f"Réglez Facebook sur «{NBSP}Photos sélectionnées{NBSP}» ou «{NBSP}Aucune{NBSP}»"
    )
    plain = replace(step, action="Réglez Facebook sur Photos sélectionnées ou Aucune")
    bad = replace(checklist, sections=(replace(checklist.sections[0], steps=(plain,)),))
    assert bare_unconfirmed(bad, load_content()) == [
        f"'Photos sélectionnées' in {plain.action!r}",
        f"'Aucune' in {plain.action!r}",
    ]


def test_a_label_marked_unconfirmed_is_quoted_everywhere_it_prints() -> None:
    def unconfirm(d: dict[str, Any]) -> None:
        d["labels"]["level_limited"][1]["confirmed"] = ["en"]
        d["labels"]["privacy"][1]["confirmed"] = ["en"]

    content = broken(unconfirm)
    checklist = build("17.5", "fr", content)
    steps = {s.key: s for s in checklist.steps()}
    facebook = steps[f"photos.{FB}"]
    assert facebook.action == f"Réglez Facebook sur «{NBSP}Accès limité{NBSP}» ou Aucun"
    assert facebook.path == ()  # its path went through the unconfirmed "Privacy & Security"
    assert facebook.search == f"Cherchez «{NBSP}Facebook{NBSP}» dans les Réglages"
    assert f"«{NBSP}Accès limité{NBSP}»" in checklist.intro
    assert bare_unconfirmed(checklist, content) == []


def test_a_path_outside_settings_quotes_its_unconfirmed_labels() -> None:
    share = {s.key: s for s in build("17.5", "fr").steps()}["general.share-without-location"]
    assert share.path == tuple(f"«{NBSP}{w}{NBSP}»" for w in ("Partager", "Options", "Lieu"))
    assert share.search is None


def test_an_in_app_setting_that_spells_out_its_name_is_refused() -> None:
    setting = "'save-to-photos': its text spells out 'Enregistrer dans Photos' (fr)"
    with pytest.raises(ContentError, match=re.escape(setting)):
        broken(
            lambda d: app(d, "net.whatsapp.WhatsApp")["setting"][0]["action"].update(
                fr="Désactivez Enregistrer dans Photos"
            )
        )
    steps = {s.key: s for s in build("17.5", "fr").steps()}
    assert steps["app.net.whatsapp.WhatsApp.save-to-photos"].action == (
        f"WhatsApp{NBSP}: désactivez «{NBSP}Enregistrer dans Photos{NBSP}»"
    )


# -- Links: each QR code opens the page in the document's language ----------------------------


def test_links_open_the_page_in_the_documents_language() -> None:
    for lang, locale in (("en", "/en-us/"), ("fr", "/fr-fr/")):
        links = [s.link for s in build("18.2", lang).steps() if s.link is not None]
        assert len(links) >= 6
        for link in links:
            if link.url.startswith("https://support.apple.com/"):
                assert locale in link.url, link
            else:
                assert f"/legal/privacy/data/{lang}/" in link.url, link
    privacy = {s.key: s for s in build("18.2", "fr").steps()}["general.enhanced-visual-search"]
    assert privacy.link is not None and privacy.link.title == "Photos et confidentialité"
    assert privacy.link.url == "https://www.apple.com/legal/privacy/data/fr/photos/"


@pytest.mark.parametrize(
    "url",
    [
        "https://support.apple.com/en-us/102515",  # the English page again
        "https://support.apple.com/fr-fr/102420",  # another page
        "https://support.apple.com/fr-ca/102515",
    ],
)
def test_a_french_link_that_is_not_the_twin_is_refused(url: str) -> None:
    with pytest.raises(
        ContentError,
        match=r"link location: url\.fr must be https://support\.apple\.com/fr-fr/102515",
    ):
        broken(lambda d: d["general"]["links"]["location"]["url"].update(fr=url))


# -- What the content says ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("ios", ["15.2", "16.7", "17.5", "18.2", "26.0"])
def test_the_privacy_report_is_exported_with_the_share_button(ios: str, lang: Lang) -> None:
    step = {s.key: s for s in build(ios, lang).steps()}["verify.app-privacy-report"]
    button = {"en": "\u201cShare\u201d button", "fr": f"bouton «{NBSP}Partager{NBSP}»"}[lang]
    assert button in step.action
    assert "Save App Activity" not in step.action and "Enregistrer" not in step.action
    assert "save_app_activity" not in load_content().labels


def test_facebook_says_what_metas_own_prompt_says() -> None:
    steps = {s.key: s for s in build("17.5", "en").steps()}
    why = steps[f"photos.{FB}"].why
    assert "select media from your camera roll (by time, location or themes)" in why
    assert "upload it to Meta’s cloud on an ongoing basis" in why
    assert "whole camera roll" not in why
    assert "30 days" not in steps[f"app.{FB}.camera-roll-sharing"].why
    (source,) = load_content().apps[FB].sources
    assert "on an ongoing basis, based on info like time, location or themes" in source.note


def test_no_statement_the_sources_do_not_support() -> None:
    content = load_content()
    text = "\n".join([*printed(build("26.0", "en")), *printed(build("26.0", "fr"))])
    for unsupported in ("share one company cloud", "même cloud", "30 days", "30 jours"):
        assert unsupported not in text
    snapchat = content.apps["com.toyopagroup.picaboo"]
    assert snapchat.risk == 3  # not a background uploader: importing is the person's doing
    assert "background" not in snapchat.why["en"] and "arrière-plan" not in snapchat.why["fr"]


# Each new line, the first version that has it, and the last that does not.
NEW = {
    "general.show-hidden-album": ("14.0", None),
    "general.camera-access": ("14.0", None),
    "general.shared-albums": ("14.0", None),
    "general.advanced-data-protection": ("16.2", "16.1"),
    "general.full-access-reminders": ("17.0", "16.7"),
    "general.lock-apps": ("18.0", "17.7"),
    "app.com.facebook.Messenger.save-photos": ("14.0", None),
    "app.net.whatsapp.WhatsApp.save-to-photos-per-chat": ("14.0", None),
    "app.net.whatsapp.WhatsApp.media-auto-download": ("14.0", None),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("key", "since", "before"), [(k, *v) for k, v in NEW.items()], ids=list(NEW)
)
def test_the_settings_a_careful_guide_includes(
    key: str, since: str, before: str | None, lang: Lang
) -> None:
    for ios in (since, "26.0"):
        step = {s.key: s for s in build(ios, lang).steps()}[key]
        assert step.action and step.why and (step.path or step.search), (ios, step)
    if before is not None:
        assert key not in {s.key for s in build(before, lang).steps()}


def test_the_share_line_names_all_photos_data_next_to_location() -> None:
    share = {s.key: s for s in build("17.5", "en").steps()}["general.share-without-location"]
    assert "“Location”" in share.action and "“All Photos Data”" in share.action


def test_advanced_data_protection_says_what_it_changes_for_an_icloud_backup() -> None:
    adp = {s.key: s for s in build("17.5", "en").steps()}["general.advanced-data-protection"]
    assert adp.path == ("Settings", "[your name]", "iCloud", "Advanced Data Protection")
    assert "not end-to-end encrypted" in adp.why
    assert "Access iCloud Data on the Web" in adp.why
    assert adp.link is not None and adp.link.url == "https://support.apple.com/en-us/108756"
