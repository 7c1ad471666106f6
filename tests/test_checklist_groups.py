"""A phone with many apps still prints on a few pages: apps the content does not know are printed
as one block with a box per app, and each still has its own step (for --json and the App Privacy
Report check). Every app the content knows and forty others take four pages at most; a typical
phone, three."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest

from companion.checklist.builder import GROUP_AFTER, DeviceFacts, build_checklist
from companion.checklist.content import load_content
from companion.checklist.model import GroupBlock, Lang
from companion.checklist.output import Paper, render
from companion.model import AppInfo
from scripts.make_checklist_golden import FACTS


def _crowded_phone(unknown: int, add_only: int) -> DeviceFacts:
    known = [
        AppInfo(bundle_id, entry.name, photo_usage="Pick photos.", photo_add_usage="Save photos.")
        for bundle_id, entry in load_content().apps.items()
    ]
    readers = [
        AppInfo(f"org.example.reader{i}", f"Reader {i}", photo_usage="Attach photos.")
        for i in range(unknown)
    ]
    savers = [
        AppInfo(f"org.example.saver{i}", f"Saver {i}", photo_add_usage="Save.")
        for i in range(add_only)
    ]
    return DeviceFacts("18.1", (*known, *readers, *savers))


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_every_known_app_and_forty_others_fit_on_four_pages(lang: Lang, paper: Paper) -> None:
    checklist = build_checklist(_crowded_phone(30, 10), lang, today=date(2026, 11, 1))
    rendered = render(checklist, "pdf", paper=paper)
    assert rendered.pages is not None and rendered.pages <= 4
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(rendered.data)).pages)
    for i in range(30):
        assert f"Reader {i}" in text
    assert "Saver 9" in text
    assert ("Set each of these apps to" if lang == "en" else "Réglez chacune de ces apps") in text


def test_groups_start_only_past_the_threshold_and_keep_one_step_per_app() -> None:
    few = build_checklist(_crowded_phone(GROUP_AFTER, GROUP_AFTER), "en", today=date(2026, 1, 1))
    assert not few.sections[0].groups
    many = build_checklist(_crowded_phone(GROUP_AFTER + 1, 2), "en", today=date(2026, 1, 1))
    photos = many.sections[0]
    blocks = photos.blocks()
    groups = [b for b in blocks if isinstance(b, GroupBlock)]
    assert [g.group.key for g in groups] == ["read"]  # two add-only apps stay single lines
    readers = groups[0].steps
    assert [s.label for s in readers] == [f"Reader {i}" for i in range(GROUP_AFTER + 1)]
    assert all(s.bundle_id and s.levels == ("limited", "none") for s in readers)
    assert groups[0].group.path == ("Settings", "Privacy & Security", "Photos")
    # natural order: Reader 2 before Reader 10, and the group sits where its first app was
    ten = build_checklist(_crowded_phone(11, 0), "en", today=date(2026, 1, 1))
    labels = [s.label for s in ten.sections[0].steps if s.group == "read"]
    assert labels.index("Reader 2") < labels.index("Reader 10")
    assert len(blocks) == len(photos.steps) - len(readers) + 1


def test_markdown_and_html_print_a_box_per_grouped_app() -> None:
    checklist = build_checklist(_crowded_phone(6, 6), "fr", today=date(2026, 1, 1))
    md = render(checklist, "md").data.decode()
    assert "- **Réglez chacune de ces apps sur Accès limité ou Aucun**" in md
    assert "  - [ ] Reader 5" in md and "  - [ ] Saver 0" in md
    html = render(checklist, "html").data.decode()
    assert html.count('type="checkbox"') == len(checklist.steps())
    assert '<ul class="members">' in html


@pytest.mark.slow
@pytest.mark.parametrize("ios", ["15.2", "17.5", "26.0"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_typical_phone_fits_on_three_pages(ios: str, lang: Lang) -> None:
    """The documented phone (Meta's apps, a cloud backup, an unknown reader, an add-only app)."""
    facts = DeviceFacts(ios, FACTS.apps, FACTS.device)
    checklist = build_checklist(facts, lang, today=date(2026, 11, 1))
    for paper in ("a4", "letter"):
        rendered = render(checklist, "pdf", paper=paper)
        assert rendered.pages is not None and rendered.pages <= 3
