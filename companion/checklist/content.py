"""The checklist's content: the TOML files under ``content/``, read and checked once.

Content is data reviewed like code, so it is checked like code: ``load_content`` refuses a file
with a missing language, an unknown label in a path, an unknown ``{placeholder}``, a link that
does not exist or versions out of order, naming the file and the entry. The tests load the
shipped content, so a bad edit fails CI rather than printing a broken checklist.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

from companion.checklist.model import LANGS, Lang, Level

Version = tuple[int, ...]
Text = Mapping[Lang, str]

# Placeholders the builder fills itself; any other ``{name}`` must be a label.
FIELDS = frozenset(
    {"device", "model", "ios", "date", "app", "count", "command", "usage", "label", "known"}
    | {"version", "page", "pages", "day", "month", "year", "start", "end", "lines", "skipped"}
    | {"action", "times"}
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_LEVELS: frozenset[str] = frozenset({"none", "limited"})


class ContentError(ValueError):
    """The shipped content is inconsistent: a defect of the project, never of the person."""


def parse_version(text: str) -> Version:
    """``"17.5.1"`` -> ``(17, 5, 1)``; raises ``ValueError`` for anything else."""
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise ValueError(f"not an iOS version: {text!r}")
    return tuple(int(p) for p in parts)


@dataclass(frozen=True, slots=True)
class LabelVariant:
    since: Version
    text: Text
    confirmed: frozenset[Lang]
    source: str


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
    source: str


@dataclass(frozen=True, slots=True)
class AppEntry:
    bundle_id: str
    name: str
    risk: int
    declares: frozenset[str]
    level: Level
    why: Text
    sources: tuple[str, ...]
    settings: tuple[AppSetting, ...]


@dataclass(frozen=True, slots=True)
class LinkEntry:
    url: str
    title: Text


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
    links = {
        key: LinkEntry(_str(raw, "url", f"general.toml link {key}"), _text(raw, f"link {key}"))
        for key, raw in general.get("links", {}).items()
    }
    items = tuple(_item(raw) for raw in general.get("item", []))
    entries = {raw["bundle_id"]: _app(raw) for raw in apps.get("app", [])}
    texts = {key: _text(raw, f"text.toml {key}") for key, raw in text.items()}
    content = Content(majors, label_map, items, links, entries, texts)
    _check(content)
    return content


def _label(key: str, raw: object) -> Label:
    if not isinstance(raw, list) or not raw:
        raise ContentError(f"labels.toml: {key} must be a list of [[{key}]] variants")
    variants = tuple(
        LabelVariant(
            _version(v, f"label {key}"),
            _text(v, f"label {key}"),
            _langs(v.get("confirmed", []), f"label {key}"),
            _str(v, "source", f"label {key}"),
        )
        for v in raw
    )
    if [v.since for v in variants] != sorted(v.since for v in variants):
        raise ContentError(f"labels.toml: the variants of {key} are not in version order")
    return Label(key, variants)


def _item(raw: dict[str, Any]) -> Item:
    where = f"general.toml item {raw.get('id')!r}"
    if raw.get("section") not in ("general", "verify"):
        raise ContentError(f"{where}: section must be general or verify")
    paths = tuple(
        PathVariant(_version(p, where), tuple(str(x) for x in p["labels"]))
        for p in raw.get("path", [])
    )
    return Item(
        str(raw["id"]),
        str(raw["section"]),
        _version(raw, where),
        _text(raw["action"], where),
        _text(raw["why"], where),
        paths,
        raw.get("link"),
    )


def _app(raw: dict[str, Any]) -> AppEntry:
    where = f"apps.toml {raw.get('bundle_id')!r}"
    level = raw.get("level")
    if level not in _LEVELS:
        raise ContentError(f"{where}: level must be one of {sorted(_LEVELS)}")
    declares = frozenset(raw.get("declares", []))
    if not declares <= {"read", "add"}:
        raise ContentError(f"{where}: declares takes read and add")
    settings = tuple(
        AppSetting(
            str(s["id"]),
            _text(s["action"], where),
            _text(s["why"], where),
            _paths(s.get("path"), f"{where} setting {s.get('id')!r}"),
            _langs(s.get("confirmed", []), where),
            _text(s["search"], where),
            _str(s, "source", where),
        )
        for s in raw.get("setting", [])
    )
    return AppEntry(
        str(raw["bundle_id"]),
        str(raw["name"]),
        int(raw["risk"]),
        declares,
        cast(Level, level),
        _text(raw["why"], where),
        tuple(raw.get("sources", [])),
        settings,
    )


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


def _str(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ContentError(f"{where}: {key} is missing")
    return value


def _version(raw: Mapping[str, Any], where: str) -> Version:
    try:
        return parse_version(str(raw["since"]))
    except (KeyError, ValueError) as e:
        raise ContentError(f'{where}: since must be a version such as "16.0"') from e


def _langs(raw: object, where: str) -> frozenset[Lang]:
    if not isinstance(raw, list) or any(x not in LANGS for x in raw):
        raise ContentError(f"{where}: confirmed lists languages among {list(LANGS)}")
    return frozenset(cast(list[Lang], raw))


def _check(content: Content) -> None:
    """Every cross-reference resolves; every placeholder is a field or a label."""
    known = FIELDS | set(content.labels)

    def placeholders(where: str, texts: Text) -> None:
        for lang in LANGS:
            for name in _PLACEHOLDER.findall(texts[lang]):
                if name not in known:
                    raise ContentError(f"{where}: unknown placeholder {{{name}}} ({lang})")

    for item in content.items:
        where = f"general.toml item {item.id!r}"
        placeholders(where, item.action)
        placeholders(where, item.why)
        if item.link is not None and item.link not in content.links:
            raise ContentError(f"{where}: unknown link {item.link!r}")
        _check_paths(content, item, where)
    for app in content.apps.values():
        where = f"apps.toml {app.bundle_id!r}"
        placeholders(where, app.why)
        for setting in app.settings:
            for texts in (setting.action, setting.why, setting.search):
                placeholders(f"{where} setting {setting.id!r}", texts)
    for key, link in content.links.items():
        placeholders(f"general.toml link {key!r}", link.title)
    for key, texts in content.text.items():
        if key not in ("months",):
            placeholders(f"text.toml {key}", texts)


def _check_paths(content: Content, item: Item, where: str) -> None:
    """A path from the item's first version on, through labels that exist at each version."""
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
