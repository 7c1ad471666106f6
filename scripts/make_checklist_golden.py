"""Write the golden Markdown checklist that tests/test_checklist_golden.py compares against.

    python scripts/make_checklist_golden.py           # rewrite the golden Markdown file
    python scripts/make_checklist_golden.py --images   # also docs/images/checklist-*.png

The golden file is one fixed phone in one language: a change to the content or the builder shows
up as a diff in review, and the test fails until this script is run again and the new text is
read and committed. ``--images`` renders the same phone's PDF (page 1 in English and in French)
with pdftoppm, for the docs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

from companion.checklist.builder import DeviceFacts, build_checklist
from companion.checklist.model import Checklist, Lang
from companion.checklist.output import default_paper, render
from companion.model import AppInfo, DeviceInfo

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "checklist-fr-ios17.5.md"
IMAGES = ROOT / "docs" / "images"
DAY = date(2026, 11, 1)

READS = "Lets you pick photos to share."
ADDS = "Lets you save photos."

# A phone with a bit of everything: Meta's apps, a background uploader, an unknown app that reads
# the library (with its own words), an add-only app, an app that asks for nothing, a system app.
FACTS = DeviceFacts(
    ios="17.5",
    apps=(
        AppInfo("com.facebook.Facebook", "Facebook", photo_usage=READS, photo_add_usage=ADDS),
        AppInfo("net.whatsapp.WhatsApp", "WhatsApp", photo_usage=READS, photo_add_usage=ADDS),
        AppInfo("com.burbn.instagram", "Instagram", photo_usage=READS, photo_add_usage=ADDS),
        AppInfo("com.google.photos", "Google Photos", photo_usage=READS, photo_add_usage=ADDS),
        AppInfo(
            "org.example.collage",
            "Collage *Pro*",
            photo_usage="Lets you make collages from the photos you choose.",
        ),
        AppInfo("org.example.scanbox", "ScanBox", photo_add_usage="Saves your scans."),
        AppInfo("org.example.calcpad", "CalcPad"),
        AppInfo("com.apple.camera", "Camera", system=True, photo_usage=READS),
    ),
    device=DeviceInfo(
        source="usb:00008030-000A1B2C3D4E5F60",
        name="iPhone d'Élodie",
        model="iPhone 14 Pro",
        os_version="17.5",
        product_type="iPhone15,2",
    ),
)


def golden_checklist(lang: Lang = "fr") -> Checklist:
    return build_checklist(FACTS, lang, today=DAY)


def golden_markdown() -> str:
    from companion.checklist.render_text import render_markdown

    return render_markdown(golden_checklist("fr"))


def write_images() -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm is missing: install poppler-utils")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for lang in ("en", "fr"):
            pdf = Path(scratch) / f"{lang}.pdf"
            pdf.write_bytes(render(golden_checklist(lang), "pdf", paper=default_paper(lang)).data)
            stem = IMAGES / f"checklist-{lang}-page1"
            args = [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"]
            subprocess.run([*args, str(pdf), str(stem)], check=True)
            print(f"wrote {stem.with_suffix('.png').relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", action="store_true", help="also write the docs' PNG pages")
    args = parser.parse_args()
    GOLDEN.write_text(golden_markdown(), encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
    if args.images:
        write_images()


if __name__ == "__main__":
    main()
