"""The scripts under scripts/ keep working when the code they import moves.

Every script answers ``--help`` and writes nothing doing so; the modules they share run without
side effects; the evaluation scorer scores a tiny corpus made here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "scripts").rglob("*.py"))


def _is_script(path: Path) -> bool:
    return 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")


def _run(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "ORT_DISABLE_TELEMETRY": "1", "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )


def test_there_are_scripts_to_check() -> None:
    assert sum(map(_is_script, SCRIPTS)) >= 6


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_script_answers_help_and_writes_nothing(script: Path, tmp_path: Path) -> None:
    result = _run(script, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    if _is_script(script):
        assert "usage:" in result.stdout.lower(), result.stdout
    assert list(tmp_path.iterdir()) == []  # not even a folder named --help


def _picture(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), color).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.slow
def test_the_scorer_scores_a_tiny_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    folder = corpus / "DCIM" / "100APPLE"
    folder.mkdir(parents=True)
    labels = []
    for index, color in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)], 1):
        name = f"DCIM/100APPLE/IMG_{index:04d}.JPG"
        (corpus / name).write_bytes(_picture(color))
        labels.append({"file": name, "kind": "photo", "screenshot": False, "categories": []})
    (corpus / "labels.jsonl").write_text("".join(json.dumps(x) + "\n" for x in labels))
    (corpus / "places.json").write_text(
        json.dumps([{"name": "home", "lat": 48.85, "lon": 2.35, "radius_m": 150.0}])
    )
    result = _run(ROOT / "scripts" / "eval" / "score.py", str(corpus), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    scored = json.loads(result.stdout)
    assert scored["negatives"] == 3 and scored["flagged_negatives"] == 0


def test_the_scorer_refuses_a_malformed_corpus(tmp_path: Path) -> None:
    result = _run(ROOT / "scripts" / "eval" / "score.py", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "malformed corpus" in result.stderr


def test_the_backup_benchmark_roll_backs_up_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's synthetic photos and movies carry their formats' first bytes: a backup of
    them ends with exit 0, not with "not a readable picture" warnings (exit 4) that stop it."""
    import importlib.util
    import random

    from companion.cli.app import run
    from tests.support import PASSPHRASE, WORK_FACTOR

    monkeypatch.syspath_prepend(str(ROOT / "scripts" / "bench"))  # its sibling, benchkit
    spec = importlib.util.spec_from_file_location(
        "bench_backup", ROOT / "scripts" / "bench" / "backup_vs_restic.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look themselves up
    spec.loader.exec_module(bench)
    roll = tmp_path / "roll"
    rng = random.Random(1)
    for number, extension in ((1, "JPG"), (2, "JPG"), (3, "MOV")):
        bench.write_random(bench.dcim_path(roll, number, extension), 70_000, rng)
    vault = tmp_path / "vault"
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE)
    common = ["--vault", str(vault), "--passphrase-file", str(secret)]
    init = ["vault", "init", *common, "--kdf-work-factor", str(WORK_FACTOR)]
    assert run(init) == 0
    assert run(["backup", "--from", f"folder:{roll}", *common]) == 0
