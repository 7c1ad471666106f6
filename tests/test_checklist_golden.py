"""The golden Markdown checklist: one fixed phone, in French, compared line by line.

When the content or the builder changes on purpose, run ``python scripts/make_checklist_golden.py``
and read the diff of tests/golden/checklist-fr-ios17.5.md before committing it.
"""

from __future__ import annotations

import difflib

from scripts.make_checklist_golden import GOLDEN, golden_markdown


def test_markdown_matches_the_golden_file() -> None:
    expected = GOLDEN.read_text(encoding="utf-8")
    actual = golden_markdown()
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "golden", "now", lineterm=""
        )
    )
    assert actual == expected, (
        "the checklist changed; if on purpose, run scripts/make_checklist_golden.py\n" + diff
    )


def test_golden_file_is_the_documented_phone() -> None:
    text = GOLDEN.read_text(encoding="utf-8")
    assert text.startswith("# Liste de contrôle\u00a0: vos photos\n")
    assert "iPhone d’Élodie · iPhone 14 Pro · iOS 17.5 · 1er novembre 2026" in text
    assert text.count("- [ ] ") == golden_markdown().count("- [ ] ") > 10
    # installed apps only: CalcPad asks for nothing, Camera is a system app, TikTok is absent
    assert "CalcPad" not in text and "TikTok" not in text and "› Camera" not in text
