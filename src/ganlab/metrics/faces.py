"""`face_rate`: the share of generated images in which a fixed face detector finds a face.

The detector is an OpenCV cascade file, by default nagadomi's anime face detector (lbpcascade_animeface.xml,
MIT licence: https://github.com/nagadomi/lbpcascade_animeface), run as its checks on 64 px faces ran it: gray,
padded by a quarter of the image of its own edge, resized to 128 px, histogram-equalised. It sees whether a
face is drawn, not how varied the faces are: read it beside recall or coverage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganlab.metrics.evaluation import generated_batches
from ganlab.metrics.registry import MetricInputs, register_metric
from ganlab.utils.errors import GanlabError

CASCADE_URL = "https://github.com/nagadomi/lbpcascade_animeface (lbpcascade_animeface.xml, MIT licence)"
SIDE = 128  # the detector's view of a face: its minSize below is a quarter of it


class FaceDetector:
    """uint8 images (N, C, H, W) -> whether each holds a face, by an OpenCV cascade (`path`, an .xml)."""

    def __init__(self, path: str | Path | None) -> None:
        try:
            import cv2
        except ImportError:
            raise GanlabError(
                'face_rate needs OpenCV, which is not installed: pip install -e ".[faces]" '
                '(or pip install "opencv-python-headless<5")'
            ) from None
        self.cv2 = cv2
        self.path = Path(path) if path else None
        if self.path is None or not self.path.is_file():
            raise GanlabError(
                f"face_rate: no cascade file at metrics.face_detector={path}: download "
                f"lbpcascade_animeface.xml from {CASCADE_URL} and pass metrics.face_detector=<its path>"
            )
        try:
            self.cascade = cv2.CascadeClassifier(str(self.path))
            unread = self.cascade.empty()
        except Exception:  # OpenCV's parser on a file of another kind
            unread = True
        if unread:
            raise GanlabError(f"face_rate: {self.path} is not an OpenCV cascade file (metrics.face_detector)")

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        cv2 = self.cv2
        found = []
        for image in images.cpu().numpy():
            rgb = image.transpose(1, 2, 0)
            gray = image[0] if image.shape[0] == 1 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            pad = gray.shape[0] // 4
            gray = cv2.copyMakeBorder(np.ascontiguousarray(gray), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            gray = cv2.equalizeHist(cv2.resize(gray, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR))
            faces = self.cascade.detectMultiScale(gray, scaleFactor=1.05, minNeighbors=3, minSize=(32, 32))
            found.append(len(faces) > 0)
        return np.array(found, dtype=bool)


@register_metric("face_rate", directions={"face_rate": "max"}, needs=("generator",))
def face_rate(inputs: MetricInputs) -> dict[str, Any]:
    """`metrics.face_samples` images of the generator (noise of the metrics seed) through the detector."""
    settings = inputs.settings
    detector = FaceDetector(settings.get("face_detector"))
    count = int(settings.get("face_samples") or 2000)
    batches = generated_batches(inputs.model, count, int(settings.get("batch_size") or 250), inputs.seed)
    found = sum(int(detector(batch).sum()) for batch in batches)
    return {"face_rate": found / count}
