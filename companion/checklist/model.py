"""What a checklist is, once built: finished text in one language, ready for any renderer.

The builder resolves everything (iOS version, installed apps, language, French typography), so a
renderer only lays out strings: it never looks at content files or device facts. Every ``Step``
is one line with one checkbox: an action, where to do it, and one line of why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

# The photo access levels an app can be given, as content and the App Privacy Report check name
# them (not the on-screen labels, which change with the iOS version and the language).
Level = Literal["none", "add_only", "limited", "full"]


@dataclass(frozen=True, slots=True)
class Link:
    """A page that explains a step; renderers print it as a small QR code (PDF) or a link."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Step:
    """One checkbox line.

    ``path`` is where to tap, from the first screen to the setting ("Settings", "Privacy &
    Security", "Photos", "Facebook"); when a label on the way is not confirmed for this iOS
    version, ``path`` is empty and ``search`` tells what to type in the Settings search field.
    ``bundle_id`` and ``levels`` tie an app's photo step to the App Privacy Report check: the
    levels the step recommends, best first. A step with a ``group`` is printed inside that
    group's block, as a small box and its ``label`` (the app's name).
    """

    key: str
    action: str
    why: str
    path: tuple[str, ...] = ()
    search: str | None = None
    link: Link | None = None
    bundle_id: str | None = None
    levels: tuple[Level, ...] = ()
    group: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """Many apps that get the same line (apps the content does not know): one action, one path,
    one why, then a box per app, so a phone with forty such apps still prints on a few pages."""

    key: str
    action: str
    why: str
    path: tuple[str, ...] = ()
    search: str | None = None


@dataclass(frozen=True, slots=True)
class GroupBlock:
    group: Group
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # "photos", "apps", "general", "verify"
    title: str
    intro: str
    steps: tuple[Step, ...]
    groups: tuple[Group, ...] = ()

    def blocks(self) -> list[Step | GroupBlock]:
        """What to print, in order: single steps, and each group (where its first step is)."""
        groups = {group.key: group for group in self.groups}
        out: list[Step | GroupBlock] = []
        for step in self.steps:
            if step.group is None or step.group not in groups:
                out.append(step)
            elif not any(isinstance(b, GroupBlock) and b.group.key == step.group for b in out):
                members = tuple(s for s in self.steps if s.group == step.group)
                out.append(GroupBlock(groups[step.group], members))
        return out


@dataclass(frozen=True, slots=True)
class Checklist:
    """The whole document. ``words`` holds the renderers' own small words (page numbers...)."""

    lang: Lang
    title: str
    subtitle: str  # device name, model, iOS version, date
    intro: str
    notice: str | None  # the scan's one line (how many photos were flagged, how to review them)
    sections: tuple[Section, ...]
    footnote: str
    words: dict[str, str]
    ios_version: str
    generated: str  # ISO date

    def steps(self) -> list[Step]:
        return [step for section in self.sections for step in section.steps]
