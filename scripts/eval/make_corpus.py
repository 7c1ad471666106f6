"""Make a labelled corpus for ``score.py``: screenshots and photos with and without secrets.

    python3 scripts/eval/make_corpus.py OUT_DIR [--seed N] [--size small|full]

Writes OUT_DIR/DCIM/100APPLE/IMG_0001.PNG... (PNG screenshots at iPhone screen sizes, JPEG and
HEIC photos with EXIF, some with GPS), OUT_DIR/labels.jsonl (one object per file: file, kind,
screenshot, categories, and where it applies the place, plus what scene made it) and
OUT_DIR/places.json (the private places to declare). The same seed gives the same corpus.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's companion

import corpus_documents as documents
import corpus_notes as notes
import corpus_photos as photos
import corpus_screens as screens
import corpus_secrets as secrets
from corpus_draw import FontBook, Item

from companion.model import Place
from companion.sensitivity.base import VERDICTS
from companion.sensitivity.places import distance_m
from companion.simulator.media import exif_bytes, heic_bytes, png_bytes

PLACES = (
    Place("home", 48.8275, 2.3495, 150.0),
    Place("clinic", 45.7578, 4.832, 80.0),
    Place("school", 51.5033, -0.1196, 250.0),
)
Scene = Callable[[Random, FontBook], Item]

# (scene, count in the full corpus); the small corpus takes about a third of each (at least 2).
RECIPES: tuple[tuple[str, Scene, int], ...] = (
    ("card-screen", screens.card_screen, 28),
    ("iban-screen", screens.iban_screen, 28),
    ("seed-screen", screens.seed_screen, 16),
    ("password-screen", screens.password_screen, 16),
    ("codes-screen", screens.codes_screen, 12),
    ("medical-screen", screens.medical_screen, 16),
    ("qr-screen", partial(screens.qr_screen, secret=True), 18),
    ("qr-screen-harmless", partial(screens.qr_screen, secret=False), 8),
    ("chat-screen", screens.chat_screen, 14),
    ("receipt-screen", screens.receipt_screen, 14),
    ("order-screen", screens.order_screen, 8),
    ("contacts-screen", screens.contacts_screen, 6),
    ("article-screen", screens.article_screen, 10),
    ("wordlist-screen", screens.wordlist_screen, 8),
    ("settings-screen", screens.settings_screen, 4),
    ("recovery-screen", secrets.recovery_screen, 15),
    ("twofa-screen", secrets.twofa_screen, 9),
    ("wallet-screen", secrets.wallet_screen, 9),
    ("login-screen", secrets.login_screen, 12),
    ("payee-screen", secrets.payee_screen, 9),
    ("wifi-photo", secrets.wifi_photo, 9),
    ("card-photo", photos.card_photo, 16),
    ("passport-photo", photos.passport_photo, 12),
    ("idcard-photo", photos.idcard_photo, 6),
    ("bank-photo", photos.bank_photo, 8),
    ("medical-photo", photos.medical_photo, 12),
    ("qr-photo", partial(photos.qr_photo, secret=True), 14),
    ("qr-photo-harmless", partial(photos.qr_photo, secret=False), 8),
    ("plain-photo", photos.plain_photo, 40),
    ("sign-photo", photos.sign_photo, 20),
    ("nutrition-photo", photos.nutrition_photo, 6),
    ("licence-photo", documents.licence_photo, 9),
    ("licence-chat", partial(documents.licence_photo, chat=True), 6),
    ("card-id-photo", documents.card_id_photo, 12),
    ("card-id-chat", partial(documents.card_id_photo, chat=True), 6),
    ("appointment-screen", documents.appointment_screen, 6),
    ("note-photo", partial(notes.note_photo, secret=True), 12),
    ("note-photo-harmless", partial(notes.note_photo, secret=False), 6),
)
NATURAL_VARIANTS = {"small": 1, "full": 5}
START = datetime(2025, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))


def count_for(full: int, size: str) -> int:
    return full if size == "full" else max(2, round(full / 3))


def gps_for(rng: Random) -> tuple[tuple[float, float] | None, str | None]:
    """A position for a camera photo: 20 % inside a private place, 30 % outside (half of those
    just past a place's edge), 50 % none."""
    roll = rng.random()
    if roll >= 0.5:
        return None, None
    place = rng.choice(PLACES)
    inside = roll < 0.2
    ratio = (
        rng.uniform(0, 0.8) if inside else rng.choice((rng.uniform(1.5, 4), rng.uniform(40, 400)))
    )
    distance = ratio * place.radius_m
    bearing = rng.uniform(0, 2 * math.pi)
    lat = place.lat + distance * math.cos(bearing) / 111_320
    lon = place.lon + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    position = (round(lat, 6), round(lon, 6))
    assert (distance_m(position, (place.lat, place.lon)) <= place.radius_m) == inside
    return position, place.name if inside else None


def encode(item: Item, when: datetime, gps: tuple[float, float] | None) -> bytes:
    if item.fmt == "png":  # iOS marks its screenshots in UserComment
        return png_bytes(item.image, exif_bytes(when, None, comment="Screenshot"))
    buffer = io.BytesIO()
    if not item.exif:  # a chat app's copy: no metadata at all
        item.image.save(buffer, "JPEG", quality=item.quality)
        return buffer.getvalue()
    exif = exif_bytes(when, gps)
    if item.fmt == "heic":  # x265's fast preset, and a 320 px thumbnail as iPhones embed
        return heic_bytes(item.image, exif, thumbnail=320, fast=True)
    item.image.save(buffer, "JPEG", quality=item.quality, exif=exif)
    return buffer.getvalue()


def _drawn(scene: Scene, book: FontBook, rng: Random) -> Item:
    return scene(rng, book)


def generate(
    out: Path, seed: int, size: str, log: Callable[[str], None]
) -> list[dict[str, object]]:
    book = FontBook.discover()
    log(f"fonts: {len(book.names())} faces ({'; '.join(book.names())})")
    plan: list[tuple[str, Callable[[Random], Item | None]]] = []
    for recipe, scene, full in RECIPES:
        plan += [(recipe, partial(_drawn, scene, book))] * count_for(full, size)
    for variant in range(NATURAL_VARIANTS[size]):
        for photo in photos.SKIMAGE_PHOTOS:
            natural = partial(photos.natural_photo, name=photo, variant=variant)
            plan.append((f"natural-{photo}", natural))
    Random(seed).shuffle(plan)
    folder = out / "DCIM" / "100APPLE"
    folder.mkdir(parents=True, exist_ok=True)
    labels: list[dict[str, object]] = []
    skipped = 0
    for index, (name, make) in enumerate(plan, 1):
        # each file from its own stream: the others stay the same when one scene changes
        rng = Random(f"{seed}/{index}/{name}")
        item = make(rng)
        if item is None:
            skipped += 1
            continue
        gps, place = (None, None) if item.screenshot or not item.exif else gps_for(rng)
        categories = sorted(set(item.categories) | ({"private_place"} if place else set()))
        when = START + timedelta(hours=7 * index, minutes=rng.randrange(60))
        suffix = {"png": "PNG", "jpeg": "JPG", "heic": "HEIC"}[item.fmt]
        path = folder / f"IMG_{index:04d}.{suffix}"
        path.write_bytes(encode(item, when, gps))
        label: dict[str, object] = {
            "file": path.relative_to(out).as_posix(),
            "kind": "photo",
            "screenshot": item.screenshot,
            "categories": categories,
            "what": item.what,
            "lang": item.lang,
            "natural": item.natural,
            "gps": list(gps) if gps else None,
        }
        if place:
            label["place"] = place
        labels.append(label)
        if index % 25 == 0:
            log(f"  {index}/{len(plan)}")
    if skipped:
        log(
            f"scikit-image is not installed: {skipped} natural photos skipped "
            "(python3 -m pip install scikit-image, then run again)"
        )
    with (out / "labels.jsonl").open("w", encoding="utf-8") as fh:
        for label in labels:
            fh.write(json.dumps(label, ensure_ascii=False) + "\n")
    places = [dataclasses.asdict(place) for place in PLACES]
    (out / "places.json").write_text(json.dumps(places, indent=2) + "\n", encoding="utf-8")
    return labels


def summary(labels: Sequence[dict[str, object]]) -> list[str]:
    per_category = Counter(c for label in labels for c in label["categories"])  # type: ignore[attr-defined]
    formats = Counter(str(label["file"]).rsplit(".", 1)[1] for label in labels)
    negatives = sum(1 for label in labels if not label["categories"])
    lines = [f"{len(labels)} files: " + ", ".join(f"{n} {k}" for k, n in sorted(formats.items()))]
    lines += [f"  {c:<18}{per_category.get(c, 0):>5}" for c in VERDICTS]
    lines.append(f"  {'(no category)':<18}{negatives:>5}")
    lines.append(f"  {'natural photos':<18}{sum(1 for x in labels if x['natural']):>5}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="where to write the corpus (absent or empty)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", choices=("small", "full"), default="full")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    labels = generate(
        args.out, args.seed, args.size, lambda m: print(m, file=sys.stderr, flush=True)
    )
    print("\n".join(summary(labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
