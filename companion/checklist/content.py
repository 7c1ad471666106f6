"""The checklist's content: the TOML files under ``content/``, read and checked once.

Content is data reviewed like code, so it is checked like code: ``load_content`` refuses a file
with a missing language, an unknown label in a path, an unknown ``{placeholder}``, a link that
does not exist or versions out of order, naming the file and the entry. Two rules of the printed
list hold here, by construction, rather than by a reviewer's eye:

- every label, item, app and in-app setting carries its source: a page and the day it was read;
- a text names an access level only through the label table (``{level_limited}``...), never in
  words, so each iOS version prints its own vocabulary (Selected Photos before iOS 17, Limited
  Access since).

The tests load the shipped content, so a bad edit fails CI rather than printing a broken list.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, cast, get_args

from companion.checklist.model import LANGS, Lang, Level

Version = tuple[int, ...]
Text = Mapping[Lang, str]

# Placeholders the builder fills itself; any other ``{name}`` must be a label.
FIELDS = frozenset(
    {"device", "model", "ios", "date", "app", "count", "command", "usage", "label", "known"}
    | {"version", "page", "pages", "day", "month", "year", "start", "end", "lines", "skipped"}
    | {"action", "times", "names", "setting"}
)
# The label that names each access level on screen, per iOS version and language.
LEVEL_LABELS: Mapping[Level, str] = {level: f"level_{level}" for level in get_args(Level)}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_LEVELS: frozenset[str] = frozenset({"none", "limited"})
# A page with a French twin at a known address: the French link must be that twin.
_APPLE, _LEGAL = "https://support.apple.com/", "https://www.apple.com/legal/privacy/data/"
_TWINS = ((f"{_APPLE}en-us/", f"{_APPLE}fr-fr/"), (f"{_LEGAL}en/", f"{_LEGAL}fr/"))


class ContentError(ValueError):
    """The shipped content is inconsistent: a defect of the project, never of the person."""


def parse_version(text: str) -> Version:
    """``"17.5.1"`` -> ``(17, 5, 1)``; raises ``ValueError`` for anything else."""
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise ValueError(f"not an iOS version: {text!r}")
    return tuple(int(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a statement was checked: a public page, the day it was read, what it shows."""

    url: str
    read: date
    note: str = ""


@dataclass(frozen=True, slots=True)
class LabelVariant:
    since: Version
    text: Text
    confirmed: frozenset[Lang]
    source: Source


@dataclass(frozen=True, slots=True)
class Label:
    key: str
    variants: tuple[LabelVariant, ...]  # by ``since``, ascending

    def at(self, version: Version) -> LabelVariant | None:
        """The variant shown on ``version``, or None before the label existed."""
        found = None
        for variant in self.variants:
            if variant.since <= version:
                found = variant
        return found


@dataclass(frozen=True, slots=True)
class PathVariant:
    since: Version
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """A general setting (``general.toml``)."""

    id: str
    section: str
    since: Version
    action: Text
    why: Text
    paths: tuple[PathVariant, ...]
    link: str | None
    source: Source

    def path_at(self, version: Version) -> tuple[str, ...]:
        found: tuple[str, ...] = ()
        for variant in self.paths:
            if variant.since <= version:
                found = variant.labels
        return found


@dataclass(frozen=True, slots=True)
class AppSetting:
    """A setting inside an app, on the app's own screens."""

    id: str
    action: Text
    why: Text
    path: Mapping[Lang, tuple[str, ...]]
    confirmed: frozenset[Lang]
    search: Text
    source: Source


@dataclass(frozen=True, slots=True)
class AppEntry:
    bundle_id: str
    name: str
    risk: int
    declares: frozenset[str]
    level: Level
    why: Text
    sources: tuple[Source, ...]
    settings: tuple[AppSetting, ...]


@dataclass(frozen=True, slots=True)
class LinkEntry:
    """A page printed as a QR code: its address in each language, and its title."""

    url: Text
    title: Text
    read: date


@dataclass(frozen=True, slots=True)
class Content:
    majors: tuple[int, ...]
    labels: Mapping[str, Label]
    items: tuple[Item, ...]
    links: Mapping[str, LinkEntry]
    apps: Mapping[str, AppEntry]
    text: Mapping[str, Text]


@cache
def load_content() -> Content:
    """The content shipped with companion, checked (once per process)."""
    files = resources.files("companion.checklist") / "content"

    def read(name: str) -> dict[str, Any]:
        return tomllib.loads((files / name).read_text(encoding="utf-8"))

    return parse_content(
        read("ios.toml"), read("labels.toml"), read("general.toml"), read("apps.toml"),
        read("text.toml"),
    )  # fmt: skip


def parse_content(
    ios: dict[str, Any],
    labels: dict[str, Any],
    general: dict[str, Any],
    apps: dict[str, Any],
    text: dict[str, Any],
) -> Content:
    """Build and check ``Content`` from the parsed TOML documents (tests feed broken ones)."""
    majors = tuple(int(m) for m in ios["majors"])
    label_map = {key: _label(key, raw) for key, raw in labels.items()}
    links = {key: _link(key, raw) for key, raw in general.get("links", {}).items()}
    items = tuple(_item(raw) for raw in general.get("item", []))
    entries = {raw["bundle_id"]: _app(raw) for raw in apps.get("app", [])}
    texts = {key: _text(raw, f"text.toml {key}") for key, raw in text.items()}
    content = Content(majors, label_map, items, links, entries, texts)
    _check(content)
    return content


def _label(key: str, raw: object) -> Label:
    if not isinstance(raw, list) or not raw:
        raise ContentError(f"labels.toml: {key} must be a list of [[{key}]] variants")
    where = f"label {key}"
    variants = tuple(
        LabelVariant(_version(v, where), _text(v, where), _langs(v.get("confirmed", []), where),
                     _source(v.get("source"), where))
        for v in raw
    )  # fmt: skip
    if [v.since for v in variants] != sorted(v.since for v in variants):
        raise ContentError(f"labels.toml: the variants of {key} are not in version order")
    return Label(key, variants)


def _link(key: str, raw: dict[str, Any]) -> LinkEntry:
    where = f"general.toml link {key}"
    urls = _text(raw.get("url"), f"{where} url")
    if not all(url.startswith("https://") for url in urls.values()):
        raise ContentError(f"{where}: url.en and url.fr must be https:// addresses")
    return LinkEntry(urls, _text(raw, where), _date(raw.get("read"), where))


def _item(raw: dict[str, Any]) -> Item:
    where = f"general.toml item {raw.get('id')!r}"
    if raw.get("section") not in ("general", "verify"):
        raise ContentError(f"{where}: section must be general or verify")
    paths = tuple(
        PathVariant(_version(p, where), tuple(str(x) for x in p["labels"]))
        for p in raw.get("path", [])
    )
    return Item(
        str(raw["id"]), str(raw["section"]), _version(raw, where), _text(raw["action"], where),
        _text(raw["why"], where), paths, raw.get("link"), _source(raw.get("source"), where),
    )  # fmt: skip


def _app(raw: dict[str, Any]) -> AppEntry:
    where = f"apps.toml {raw.get('bundle_id')!r}"
    level = raw.get("level")
    if level not in _LEVELS:
        raise ContentError(f"{where}: level must be one of {sorted(_LEVELS)}")
    declares = frozenset(raw.get("declares", []))
    if not declares <= {"read", "add"}:
        raise ContentError(f"{where}: declares takes read and add")
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ContentError(f"{where}: sources is missing")
    settings = tuple(
        _setting(s, f"{where} setting {s.get('id')!r}") for s in raw.get("setting", [])
    )
    return AppEntry(
        str(raw["bundle_id"]), str(raw["name"]), int(raw["risk"]), declares, cast(Level, level),
        _text(raw["why"], where), tuple(_source(s, where) for s in sources), settings,
    )  # fmt: skip


def _setting(raw: dict[str, Any], where: str) -> AppSetting:
    return AppSetting(
        str(raw["id"]), _text(raw["action"], where), _text(raw["why"], where),
        _paths(raw.get("path"), where), _langs(raw.get("confirmed", []), where),
        _text(raw["search"], where), _source(raw.get("source"), where),
    )  # fmt: skip


def _paths(raw: object, where: str) -> Mapping[Lang, tuple[str, ...]]:
    if not isinstance(raw, dict) or any(
        not isinstance(raw.get(lang), list) or not raw[lang] for lang in LANGS
    ):
        raise ContentError(f"{where}: needs a non-empty 'en' and 'fr' path")
    return {lang: tuple(str(x) for x in raw[lang]) for lang in LANGS}


def _text(raw: object, where: str) -> Text:
    if not isinstance(raw, dict) or any(not isinstance(raw.get(lang), str) for lang in LANGS):
        raise ContentError(f"{where}: needs an 'en' and an 'fr' text")
    return {lang: raw[lang] for lang in LANGS}


def _source(raw: object, where: str) -> Source:
    """``source = { url = "https://...", read = 2026-12-03, note = "..." }``."""
    if not isinstance(raw, dict) or not str(raw.get("url", "")).startswith("https://"):
        raise ContentError(f"{where}: source needs the https:// page it was checked against")
    return Source(str(raw["url"]), _date(raw.get("read"), where), str(raw.get("note", "")))


def _date(raw: object, where: str) -> date:
    if not isinstance(raw, date) or isinstance(raw, datetime):
        raise ContentError(f"{where}: read must be the day the page was read, e.g. 2026-12-03")
    return raw


def _version(raw: Mapping[str, Any], where: str) -> Version:
    try:
        return parse_version(str(raw["since"]))
    except (KeyError, ValueError) as e:
        raise ContentError(f'{where}: since must be a version such as "16.0"') from e


def _langs(raw: object, where: str) -> frozenset[Lang]:
    if not isinstance(raw, list) or any(x not in LANGS for x in raw):
        raise ContentError(f"{where}: confirmed lists languages among {list(LANGS)}")
    return frozenset(cast(list[Lang], raw))


def texts(content: Content) -> Iterator[tuple[str, Text, Version]]:
    """Every text the checklist may print, where it is, and the first iOS version it prints on."""
    first: Version = (content.majors[0], 0)
    for item in content.items:
        yield from (
            (f"general.toml item {item.id!r}", t, item.since) for t in (item.action, item.why)
        )
    for app in content.apps.values():
        yield f"apps.toml {app.bundle_id!r}", app.why, first
        for setting in app.settings:
            for text in (setting.action, setting.why, setting.search):
                yield f"apps.toml {app.bundle_id!r} setting {setting.id!r}", text, first
    yield from (
        (f"general.toml link {k!r}", link.title, first) for k, link in content.links.items()
    )
    yield from ((f"text.toml {k}", t, first) for k, t in content.text.items() if k != "months")


def _check(content: Content) -> None:
    """Every cross-reference resolves; every placeholder is a field or a label that exists from
    the first version the text prints on; no text names a level in words; links have twins."""
    for key in LEVEL_LABELS.values():
        label = content.labels.get(key)
        if label is None or label.at((content.majors[0], 0)) is None:
            raise ContentError(f"labels.toml: {key} must exist from iOS {content.majors[0]}")
    words = _level_words(content)
    for where, text, since in texts(content):
        for lang in LANGS:
            _check_placeholders(content, where, text[lang], since, lang)
            for key, name, pattern in words[lang]:
                if pattern.search(text[lang]):
                    raise ContentError(
                        f"{where}: names the level {name!r} in words ({lang}); write {{{key}}}, "
                        "which each iOS version words its own way"
                    )
    for item in content.items:
        _check_paths(content, item, f"general.toml item {item.id!r}")
    _check_apps_and_links(content)


def _check_apps_and_links(content: Content) -> None:
    """An in-app setting's texts name it as {setting}; an Apple link's French page is its
    French twin."""
    for app in content.apps.values():
        for setting, lang in ((s, lang) for s in app.settings for lang in LANGS):
            if any(setting.search[lang] in t[lang] for t in (setting.action, setting.why)):
                raise ContentError(
                    f"apps.toml {app.bundle_id!r} setting {setting.id!r}: its text spells out "
                    f"{setting.search[lang]!r} ({lang}); write {{setting}}, quoted if unconfirmed"
                )
    for key, link in content.links.items():
        for en_root, fr_root in _TWINS:
            twin = fr_root + link.url["en"].removeprefix(en_root)
            if link.url["en"].startswith(en_root) and link.url["fr"] != twin:
                raise ContentError(f"general.toml link {key}: url.fr must be {twin}")


def _check_placeholders(
    content: Content, where: str, text: str, since: Version, lang: Lang
) -> None:
    for name in _PLACEHOLDER.findall(text):
        label = content.labels.get(name)
        if label is None and name not in FIELDS:
            raise ContentError(f"{where}: unknown placeholder {{{name}}} ({lang})")
        if label is not None and label.at(since) is None:
            raise ContentError(f"{where}: label {{{name}}} does not exist yet then")


def _level_words(content: Content) -> Mapping[Lang, list[tuple[str, str, re.Pattern[str]]]]:
    """Each level's words in every version, per language: a phrase in any case ("full access"
    is still the level), a single word as written and inside a sentence ("to None", not
    "none" nor a sentence that starts "Aucune app...")."""
    found: dict[Lang, list[tuple[str, str, re.Pattern[str]]]] = {lang: [] for lang in LANGS}
    for key in LEVEL_LABELS.values():
        for variant, lang in ((v, lang) for v in content.labels[key].variants for lang in LANGS):
            name = variant.text[lang]
            if " " in name:
                pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
            else:
                pattern = re.compile(rf"(?<=[\w,;] ){re.escape(name)}(?!\w)")
            found[lang].append((key, name, pattern))
    return found


def _check_paths(content: Content, item: Item, where: str) -> None:
    """A link that exists; a path from the item's first version on, through labels that exist
    at each version."""
    if item.link is not None and item.link not in content.links:
        raise ContentError(f"{where}: unknown link {item.link!r}")
    if not item.paths or item.paths[0].since > item.since:
        since = ".".join(map(str, item.since))
        raise ContentError(f"{where}: needs a path from version {since}")
    for variant in item.paths:
        for name in variant.labels:
            label = content.labels.get(name)
            if label is None:
                raise ContentError(f"{where}: unknown label {name!r} in a path")
            if label.at(max(variant.since, item.since)) is None:
                raise ContentError(f"{where}: label {name!r} does not exist yet then")
