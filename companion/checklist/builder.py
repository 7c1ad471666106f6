"""From device facts and content to a ``Checklist``: which lines, in what order, in which words.

The rules, for each installed app (its own Info.plist decides, not what the content expects):
an app that declares ``NSPhotoLibraryUsageDescription`` can read the library and gets "set to
Limited Access or None"; one that declares only ``NSPhotoLibraryAddUsageDescription`` gets "Add
Photos Only is enough"; one that declares neither gets no photo line. Apps the content knows
get its reason and their in-app settings. Riskiest first: the content's ``risk`` (Meta's apps,
then background uploaders), then unknown readers, then add-only apps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from companion import __version__
from companion.checklist.content import (
    Content,
    ContentError,
    Item,
    Version,
    load_content,
    parse_version,
)
from companion.checklist.model import Checklist, Group, Lang, Level, Link, Section, Step
from companion.checklist.typography import clean_name, inner_quotes, typeset
from companion.errors import UsageError
from companion.model import AppInfo, DeviceInfo

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
BUNDLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,254}")
_PHOTOS_PATH = ("settings", "privacy", "photos")
_UNKNOWN_RISK, _ADD_ONLY_RISK = 4, 5
_USAGE_CHARS = 110
GROUP_AFTER = 4  # more unknown apps of one kind than this print as one block of boxes
VERSION_HINT = (
    "Give it as the iPhone shows it in Settings > General > About > iOS Version, e.g. 17.5."
)


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the checklist is tailored to: an iOS version, the installed apps, maybe a phone."""

    ios: str
    apps: tuple[AppInfo, ...]
    device: DeviceInfo | None = None


class DeviceSource(Protocol):
    """A connector to a phone that can list its apps (``connectors.base.AppLister``)."""

    def info(self) -> DeviceInfo: ...

    def list_apps(self, *, include_system: bool = False) -> list[AppInfo]: ...


def facts_from_device(source: DeviceSource) -> DeviceFacts:
    """Read the iOS version and the user-installed apps (with their usage keys) from a phone."""
    info = source.info()
    if not info.os_version:
        raise UsageError(
            f"{info.name or 'the iPhone'} did not tell its iOS version",
            "Give it yourself: companion checklist --ios VERSION --apps BUNDLE,...",
        )
    return DeviceFacts(info.os_version, tuple(source.list_apps()), info)


def facts_from_bundle_ids(
    ios: str, bundle_ids: Iterable[str], content: Content | None = None
) -> DeviceFacts:
    """Facts for ``--ios V --apps A,B``: a known app declares what the content says it does; an
    unknown one is assumed to read the library (it was named because it asks for photos)."""
    content = content or load_content()
    apps = []
    for bundle_id in dict.fromkeys(b.strip() for b in bundle_ids if b.strip()):
        if not BUNDLE_ID.fullmatch(bundle_id):
            raise UsageError(
                f"not a bundle id: {bundle_id!r}",
                "Bundle ids look like com.facebook.Facebook; 'companion checklist --from usb' "
                "reads them from the phone.",
            )
        entry = content.apps.get(bundle_id)
        declares = entry.declares if entry else frozenset({"read"})
        apps.append(
            AppInfo(
                bundle_id,
                entry.name if entry else bundle_id,
                photo_usage="" if "read" in declares else None,
                photo_add_usage="" if "add" in declares else None,
            )
        )
    return DeviceFacts(ios, tuple(apps))


def check_version(text: str, content: Content | None = None) -> tuple[Version, bool]:
    """The parsed version and whether it is newer than the content knows; usage errors for
    versions that do not exist or predate per-app photo access."""
    content = content or load_content()
    try:
        version = parse_version(text)
    except ValueError:
        raise UsageError(f"not an iOS version: {text!r}", VERSION_HINT) from None
    major, first, last = version[0], content.majors[0], content.majors[-1]
    if major < first:
        raise UsageError(
            f"iOS {text} has no per-app photo access levels (they came with iOS {first})",
            f"Update the iPhone to iOS {first} or later; until then, deny Photos to apps you "
            "do not trust.",
        )
    if major <= last and major not in content.majors:
        raise UsageError(
            f"there is no iOS {major}",
            f"Apple went from iOS {content.majors[-2]} to iOS {last}. {VERSION_HINT}",
        )
    return version, major > last


def build_checklist(
    facts: DeviceFacts,
    lang: Lang,
    *,
    today: date,
    flagged: int | None = None,
    review_command: str = "companion cleanup",
    content: Content | None = None,
) -> Checklist:
    """The checklist for ``facts`` in ``lang``; ``flagged`` is the scan's count of private
    photos (the checklist then opens with one line saying how to review them)."""
    content = content or load_content()
    version, newer = check_version(facts.ios, content)
    words = Words(content, version, lang)
    apps = _ordered(facts.apps, content)
    grouped = _grouped(apps, content)
    photo_steps = tuple(
        _photo_step(app, content, words, first=i == 0, group=grouped.get(app.bundle_id))
        for i, app in enumerate(apps)
    )
    sections = [
        Section(
            "photos",
            words.text("section_photos"),
            words.text("section_photos_intro" if apps else "section_photos_none"),
            photo_steps,
            tuple(_group(key, words) for key in dict.fromkeys(grouped.values())),
        ),
        Section(
            "apps",
            words.text("section_apps"),
            words.text("section_apps_intro"),
            tuple(_app_settings(apps, content, words)),
        ),
    ]
    for key in ("general", "verify"):
        items = [i for i in content.items if i.section == key and i.since <= version]
        steps = tuple(_item_step(item, content, words) for item in items)
        sections.append(
            Section(key, words.text(f"section_{key}"), words.text(f"section_{key}_intro"), steps)
        )
    intro = words.text("intro")
    if newer:
        intro += " " + words.text("newer_ios", known=str(content.majors[-1]), ios=facts.ios)
    notice = None
    if flagged:
        notice = words.text(
            "notice_one" if flagged == 1 else "notice", count=str(flagged), command=review_command
        )
    return Checklist(
        lang=lang,
        title=words.text("title"),
        subtitle=_subtitle(facts, words, today),
        intro=intro,
        notice=notice,
        sections=tuple(s for s in sections if s.steps or s.key == "photos"),
        footnote=words.text("footnote", version=__version__),
        words={"page": content.text["page"][lang]},
        ios_version=facts.ios,
        generated=today.isoformat(),
    )


class Words:
    """Content text for one iOS version and language, with placeholders filled and typeset.

    A label that is not confirmed for the language is never printed as if it were the word on
    screen: ``fill`` and ``shown`` put it in quotes, as something to look for (a path that
    starts in Settings prints a search line instead, see ``_settings_path``).
    """

    def __init__(self, content: Content, version: Version, lang: Lang) -> None:
        self.content, self.version, self.lang = content, version, lang

    def label(self, key: str) -> tuple[str, bool]:
        """A label's words and whether they are confirmed for this language."""
        variant = self.content.labels[key].at(self.version)
        if variant is None:  # content.py refuses a text or path that would get here
            raise ContentError(f"label {key} does not exist on iOS {self.version}")
        return variant.text[self.lang], self.lang in variant.confirmed

    def shown(self, key: str) -> str:
        """A label as a line prints it: as it is when confirmed, else in (plain) quotes."""
        text, confirmed = self.label(key)
        return text if confirmed else f'"{text}"'

    def fill(self, template: str, **fields: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            return fields[name] if name in fields else self.shown(name)

        return typeset(_PLACEHOLDER.sub(one, template), self.lang)

    def text(self, key: str, **fields: str) -> str:
        return self.fill(self.content.text[key][self.lang], **fields)

    def of(self, texts: Mapping[Lang, str], **fields: str) -> str:
        return self.fill(texts[self.lang], **fields)


def _ordered(apps: Sequence[AppInfo], content: Content) -> list[AppInfo]:
    """The apps that may touch the library, riskiest first, then by name."""

    def risk(app: AppInfo) -> int:
        if app.photo_usage is None:
            return _ADD_ONLY_RISK
        entry = content.apps.get(app.bundle_id)
        return entry.risk if entry else _UNKNOWN_RISK

    touching = [
        a
        for a in apps
        if not a.system and (a.photo_usage is not None or a.photo_add_usage is not None)
    ]
    return sorted(touching, key=lambda a: (risk(a), _natural(_app_name(a)), a.bundle_id))


def _natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort "App 2" before "App 10", ignoring case."""
    parts = re.split(r"(\d+)", name.casefold())
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in parts if p)


def _grouped(apps: Sequence[AppInfo], content: Content) -> dict[str, str]:
    """Bundle id -> group, for apps the content does not know when there are many of a kind."""
    kinds: dict[str, list[str]] = {"read": [], "add_only": []}
    for app in apps:
        if app.photo_usage is None:
            kinds["add_only"].append(app.bundle_id)
        elif app.bundle_id not in content.apps:
            kinds["read"].append(app.bundle_id)
    return {
        bundle_id: kind
        for kind, members in kinds.items()
        if len(members) > GROUP_AFTER
        for bundle_id in members
    }


def _group(key: str, words: Words) -> Group:
    path, search = _settings_path(_PHOTOS_PATH, words)
    return Group(key, words.text(f"group_{key}"), words.text(f"group_{key}_why"), path, search)


def _photo_step(
    app: AppInfo, content: Content, words: Words, *, first: bool, group: str | None = None
) -> Step:
    name = _app_name(app)
    entry = content.apps.get(app.bundle_id)
    levels: tuple[Level, ...]
    if app.photo_usage is None:
        action, why, levels = "app_add_only", words.text("app_add_only_why"), ("add_only", "none")
    elif entry is not None and entry.level == "none":
        action, why, levels = "app_read_none", words.of(entry.why), ("none", "limited")
    else:
        action, levels = "app_read", ("limited", "none")
        why = words.of(entry.why) if entry is not None else _unknown_why(app, words)
    path, search = _settings_path((*_PHOTOS_PATH, "{app}"), words, app=name)
    link = _link(content, "photos_access", words.lang) if first else None
    return Step(
        key=f"photos.{app.bundle_id}",
        action=words.text(action, app=name),
        why=why,
        path=path,
        search=search,
        link=link,
        bundle_id=app.bundle_id,
        levels=levels,
        group=group,
        label=name,
    )


def _unknown_why(app: AppInfo, words: Words) -> str:
    why = words.text("app_read_why")
    usage = clean_name(app.photo_usage or "", limit=_USAGE_CHARS)
    if usage:
        why += " " + words.text("app_read_says", usage=inner_quotes(usage, words.lang))
    return why


def _app_settings(apps: Sequence[AppInfo], content: Content, words: Words) -> Iterable[Step]:
    for app in apps:
        entry = content.apps.get(app.bundle_id)
        if entry is None or app.photo_usage is None:
            continue
        name = _app_name(app)
        for setting in entry.settings:
            confirmed = words.lang in setting.confirmed
            word = setting.search[words.lang]
            shown = word if confirmed else f'"{word}"'  # as Words.shown does for iOS labels
            yield Step(
                key=f"app.{app.bundle_id}.{setting.id}",
                action=_prefixed(name, words.of(setting.action, setting=shown), words.lang),
                why=words.of(setting.why, setting=shown),
                path=(name, *setting.path[words.lang]) if confirmed else (),
                search=None if confirmed else words.text("search_app", app=name, label=word),
                bundle_id=None,
            )


def _prefixed(app: str, action: str, lang: Lang) -> str:
    """ "Facebook: Turn off..." in English; "Facebook : désactivez..." in French (lower case
    after a colon)."""
    if lang == "fr":
        return f"{app}\u00a0: {action[:1].lower()}{action[1:]}"
    return f"{app}: {action}"


def _item_step(item: Item, content: Content, words: Words) -> Step:
    path, search = _settings_path(item.path_at(words.version), words)
    return Step(
        key=f"{item.section}.{item.id}",
        action=words.of(item.action),
        why=words.of(item.why),
        path=path,
        search=search,
        link=_link(content, item.link, words.lang) if item.link else None,
    )


def _settings_path(
    keys: Sequence[str], words: Words, *, app: str | None = None
) -> tuple[tuple[str, ...], str | None]:
    """The labels of a path, or (when one is not confirmed and the path starts in Settings) no
    path and what to search Settings for: the last label, which the search field finds. A path
    elsewhere (the share sheet) has no search field: its unconfirmed labels print in quotes."""
    if keys[0] != "settings":
        return tuple(typeset(words.shown(key), words.lang) for key in keys), None
    shown, confirmed = [], True
    for key in keys:
        if key == "{app}":
            shown.append(app or "")
            continue
        text, ok = words.label(key)
        shown.append(text)
        confirmed = confirmed and ok
    if confirmed:
        return tuple(shown), None
    return (), words.text("search_settings", label=shown[-1])


def _link(content: Content, key: str, lang: Lang) -> Link:
    entry = content.links[key]
    return Link(typeset(entry.title[lang], lang), entry.url[lang])


def _subtitle(facts: DeviceFacts, words: Words, today: date) -> str:
    months = words.content.text["months"][words.lang].split()
    day = "1er" if words.lang == "fr" and today.day == 1 else str(today.day)
    when = words.text("date_format", day=day, month=months[today.month - 1], year=str(today.year))
    if facts.device is None:
        return words.text("subtitle_no_device", ios=facts.ios, date=when)
    device = facts.device
    return words.text(
        "subtitle",
        device=clean_name(device.name) or "iPhone",
        model=clean_name(device.model or "iPhone"),
        ios=facts.ios,
        date=when,
    )


def _app_name(app: AppInfo) -> str:
    return clean_name(app.name) or clean_name(app.bundle_id)
