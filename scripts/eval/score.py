"""Score the sensitivity filter on a corpus made by ``make_corpus.py``.

    python3 scripts/eval/score.py CORPUS_DIR [--only CATS] [--jobs N] [--json]

The corpus is read as ``companion scan --from folder:CORPUS_DIR`` would read it (the folder
connector lists and probes every file: a PNG at a screen size is a screenshot), scanned with
``scan_assets`` and the private places of places.json, and compared with labels.jsonl. Per verdict
category (context categories are ignored): true and false positives, false negatives, precision
and recall; then the false-positive rate on negatives (files that should raise nothing), nudity
findings on real photographs, the targets with PASS / FAIL, and every miss with what each detector
said. A report, not a test: the exit status is 0 whatever the scores, 2 for a malformed corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's companion

from companion.connectors import connect
from companion.connectors.base import Prober
from companion.model import Asset, Place
from companion.sensitivity.base import CATEGORIES, VERDICTS, ScanSettings
from companion.sensitivity.detectors import registered
from companion.sensitivity.opinions import REPORT_AT
from companion.sensitivity.places import check_place
from companion.sensitivity.scan import AssetScan, failed_runs, plan, scan_assets

TARGET = 0.95  # recall and precision, every category but nudity
CURVE = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)  # confidences at which precision/recall are drawn


class Malformed(Exception):
    """labels.jsonl or places.json is missing or does not say what it should."""


def load_corpus(root: Path) -> tuple[dict[str, dict[str, Any]], tuple[Place, ...]]:
    try:
        lines = (root / "labels.jsonl").read_text(encoding="utf-8").splitlines()
        places_raw = json.loads((root / "places.json").read_text(encoding="utf-8"))
        labels = {str(x["file"]): x for x in map(json.loads, filter(None, lines))}
        places = tuple(
            check_place(p["name"], float(p["lat"]), float(p["lon"]), float(p["radius_m"]))
            for p in places_raw
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Malformed(f"{root}: {exc}") from exc
    for name, label in labels.items():
        unknown = set(label.get("categories", ())) - set(CATEGORIES)
        if unknown or not (root / name).is_file():
            raise Malformed(
                f"{name}: {'unknown categories ' + str(unknown) if unknown else 'missing'}"
            )
    return labels, places


def _scan_part(
    root: str, files: list[str], only: list[str] | None, places: tuple[Place, ...]
) -> Any:
    """Scan ``files`` of the corpus in this process (a worker when --jobs > 1)."""
    connector = connect(f"folder:{root}")
    wanted = set(files)
    assets = [a for a in connector.list_assets() if a.path in wanted]
    if isinstance(connector, Prober):
        assets = [connector.probe(a) for a in assets]

    def reader(asset: Asset) -> Any:
        def read() -> bytes:
            with connector.open(asset) as stream:
                return stream.read()

        return read

    items = [(a, reader(a)) for a in assets]
    # weak findings too (below REPORT_AT, a rejecting second opinion's): the curve needs them
    settings = ScanSettings(places=places, keep_weak=True)
    return scan_assets(items, only=only, settings=settings)


def scan(
    root: Path,
    labels: dict[str, dict[str, Any]],
    places: tuple[Place, ...],
    only: list[str] | None,
    jobs: int,
) -> tuple[list[AssetScan], list[tuple[str, str]], list[tuple[str, str, str]]]:
    files = sorted(labels)
    parts = [files[i::jobs] for i in range(jobs)]
    if jobs == 1:
        reports = [_scan_part(str(root), files, only, places)]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            reports = list(
                pool.map(_scan_part, [str(root)] * jobs, parts, [only] * jobs, [places] * jobs)
            )
    results = [r for report in reports for r in report.results]
    failed = [f for report in reports for f in report.failed]
    broken = [f for report in reports for f in failed_runs(report)]
    return results, failed, broken


def _seen(result: AssetScan | None, at: float) -> set[str]:
    """The categories found on an asset with at least confidence ``at``."""
    return {f.category for f in result.findings() if f.confidence >= at} if result else set()


def curve(
    labels: dict[str, dict[str, Any]], results: list[AssetScan], scored: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Per category, precision and recall at each confidence of ``CURVE``."""
    points: dict[str, list[dict[str, Any]]] = {c: [] for c in scored if c != "nudity"}
    for at in CURVE:
        rows = score(labels, results, scored, at)["categories"]
        for category, row in rows.items():
            if category in points:
                points[category].append(
                    {"at": at, "precision": row["precision"], "recall": row["recall"]}
                )
    return points


def score(
    labels: dict[str, dict[str, Any]],
    results: list[AssetScan],
    scored: list[str],
    at: float = REPORT_AT,
) -> dict[str, Any]:
    by_file = {r.asset.path: r for r in results}
    rows: dict[str, dict[str, Any]] = {}
    misses: list[dict[str, Any]] = []
    for category in scored:
        tp = fp = fn = 0
        for name, label in labels.items():
            result = by_file.get(name)
            got = _seen(result, at)
            expected, found = category in label["categories"], category in got
            tp += expected and found
            fp += found and not expected
            fn += expected and not found
        rows[category] = {
            "expected": tp + fn,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
        }
    negatives = flagged_negatives = natural = natural_nudity = 0
    for name, label in sorted(labels.items()):
        result = by_file.get(name)
        seen = sorted(_seen(result, at) & set(scored))
        wanted = sorted(set(label["categories"]) & set(scored))
        if not label["categories"]:
            negatives += 1
            flagged_negatives += bool(seen)
        if label.get("natural"):
            natural += 1
            natural_nudity += "nudity" in seen
        if seen != wanted or result is None:
            notes = (
                [f"{run.detector}: {run.note}" for run in result.runs]
                if result
                else ["not scanned"]
            )
            misses.append(
                {
                    "file": name,
                    "what": label.get("what", ""),
                    "lang": label.get("lang", ""),
                    "expected": wanted,
                    "got": seen,
                    "notes": notes,
                }
            )
    return {
        "categories": rows,
        "negatives": negatives,
        "flagged_negatives": flagged_negatives,
        "natural_photos": natural,
        "natural_nudity": natural_nudity if "nudity" in scored else None,
        "misses": misses,
    }


def checks(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(check, value, target, PASS / FAIL / n/a)."""
    out = []
    for category, row in result["categories"].items():
        if category == "nudity":
            continue
        for measure in ("recall", "precision"):
            value = row[measure]
            shown = "n/a" if value is None else f"{value:.3f}"
            verdict = "n/a" if value is None else ("PASS" if value >= TARGET else "FAIL")
            out.append((f"{measure} {category}", shown, f">= {TARGET}", verdict))
    if result["natural_nudity"] is not None:
        n = result["natural_nudity"]
        verdict = (
            "PASS"
            if n == 0 and result["natural_photos"]
            else ("n/a" if not result["natural_photos"] else "FAIL")
        )
        out.append((f"nudity on {result['natural_photos']} natural photos", str(n), "0", verdict))
    return out


def _fixed(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(result: dict[str, Any], header: list[str]) -> list[str]:
    lines = [
        *header,
        "",
        f"{'category':<20}{'expected':>9}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}",
    ]
    for category, row in result["categories"].items():
        p = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        r = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        lines.append(
            f"{category:<20}{row['expected']:>9}{row['tp']:>5}{row['fp']:>5}{row['fn']:>5}{p:>11}{r:>8}"
        )
    neg, flagged = result["negatives"], result["flagged_negatives"]
    rate = flagged / neg if neg else 0.0
    lines += ["", f"negatives flagged: {flagged} of {neg} ({rate:.1%} false-positive rate)"]
    if result.get("curve"):
        lines += ["", f"precision / recall by confidence (reported from {REPORT_AT}):"]
        lines.append(f"{'category':<20}" + "".join(f"{at:>12}" for at in CURVE))
        for category, points in result["curve"].items():
            cells = ["/".join(_fixed(p[m]) for m in ("precision", "recall")) for p in points]
            lines.append(f"{category:<20}" + "".join(f"{c:>12}" for c in cells))
    lines += ["", f"{'check':<40}{'value':>8}{'target':>9}  result"]
    lines += [f"{c:<40}{v:>8}{t:>9}  {verdict}" for c, v, t, verdict in checks(result)]
    if result["misses"]:
        lines += ["", f"misses ({len(result['misses'])}):"]
    for miss in result["misses"]:
        lines.append(
            f"- {miss['file']} ({miss['what']}, {miss['lang'] or '-'}): "
            f"expected {miss['expected'] or '[]'}, got {miss['got'] or '[]'}"
        )
        lines += [f"      {note}" for note in miss["notes"]]
    return lines


TEXT_CATEGORIES = ("identity_document", "payment_card", "bank_details", "credentials", "medical")


def ocr_lines(path: Path, screenshot: bool) -> list[str]:
    """What the text detector's OCR reads on the whole file, at the size it reads it (--ocr)."""
    from PIL import Image, ImageOps

    from companion.pictures import _register_heif
    from companion.sensitivity import text

    _register_heif()
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened.convert("RGB"))
    side = text.SCREENSHOT_SIDE if screenshot else text.PHOTO_SIDE
    image.thumbnail((side, side))
    return text.read_lines(image)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--only", help="comma-separated categories to scan and score")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--ocr", action="store_true", help="show what OCR reads on misses of the text categories"
    )
    args = parser.parse_args(argv)
    only = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else None
    try:
        labels, places = load_corpus(args.corpus)
    except Malformed as exc:
        print(f"malformed corpus: {exc}", file=sys.stderr)
        return 2
    specs, unavailable = plan(only)
    not_scored = {c for s in registered() if s.name in unavailable for c in s.categories}
    scored = [c for c in VERDICTS if (not only or c in only) and c not in not_scored]
    print(
        f"scanning {len(labels)} files with {', '.join(s.name for s in specs)} "
        f"({max(1, args.jobs)} process(es))...",
        file=sys.stderr,
        flush=True,
    )
    start = time.perf_counter()
    results, failed, broken = scan(args.corpus, labels, places, only, max(1, args.jobs))
    seconds = time.perf_counter() - start
    result = score(labels, results, scored)
    result["curve"] = curve(labels, results, scored)
    if args.ocr:
        for miss in result["misses"]:
            if set(miss["expected"] + miss["got"]) & set(TEXT_CATEGORIES):
                shot = bool(labels[miss["file"]].get("screenshot"))
                lines = ocr_lines(args.corpus / miss["file"], shot)
                miss["notes"].append("OCR read: " + " | ".join(lines))
    result |= {
        "files": len(labels),
        "seconds": round(seconds, 1),
        "detectors": [s.name for s in specs],
        "unavailable": unavailable,
        "not_scored": sorted(not_scored & set(VERDICTS)),
        "failed": failed,
        "detector_failures": broken,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    header = [
        f"{len(labels)} files, {len(places)} private places; scanned in {seconds:.1f} s "
        f"({seconds / max(1, len(labels)):.2f} s a file, {max(1, args.jobs)} process(es))",
        f"detectors: {', '.join(s.name for s in specs)}",
    ]
    header += [
        f"not scored: {c} (detector {n} unavailable: {why})"
        for n, why in unavailable.items()
        for c in next(s.categories for s in registered() if s.name == n)
        if c in VERDICTS
    ]
    header += [f"could not scan {path}: {why}" for path, why in failed]
    header += [f"detector {d} failed on {path}: {why}" for path, d, why in broken]
    print("\n".join(render(result, header)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
