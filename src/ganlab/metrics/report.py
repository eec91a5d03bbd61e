"""metrics.json and the images behind it: the scores object a command fills, and what it writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image
from torch import nn
from torchvision.utils import save_image

from ganlab.metrics import GenerativeScores, make_extractor
from ganlab.metrics.evaluation import with_protocol
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


def make_scores(cfg: DictConfig, device: torch.device) -> tuple[nn.Module, GenerativeScores]:
    metrics = cfg.metrics
    classifier = OmegaConf.select(metrics, "classifier", throw_on_resolution_failure=False)
    extractor = make_extractor(metrics.kind, metrics.inception_weights, classifier).to(device)
    return extractor, GenerativeScores.from_settings(extractor, metrics).to(device)


def save_pngs(batch: torch.Tensor, folder: Path, start: int) -> None:
    """uint8 (N, C, H, W) -> 000000.png, ...: exactly the pixels that were scored."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(batch.cpu().numpy()):
        Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)).save(
            folder / f"{start + i:06d}.png"
        )


def save_grid(images: torch.Tensor, path: Path, per_row: int | None = None) -> None:
    """uint8 images as one PNG, `per_row` a row (default: a square)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.float() / 255, path, nrow=per_row or int(np.ceil(np.sqrt(len(images)))), padding=2)


def describe(values: dict[str, float]) -> str:
    """`fid 12.3  is 4.56 ± 0.12  ...`: every value, its spread beside it."""
    shown = [k for k in values if not (k.endswith("_std") and k[:-4] in values)]
    spread = {k: f" ± {values[k + '_std']:.2g}" if k + "_std" in values else "" for k in shown}
    return "  ".join(f"{k} {values[k]:.4g}{spread[k]}" for k in shown)


def write_report(
    scores: GenerativeScores,
    source: dict[str, Any],
    out: Path,
    image_dir: Path | None,
    extra: dict[str, Any] | None = None,
    model: nn.Module | None = None,
) -> dict[str, Any]:
    values = scores.compute(model)
    results = {**with_protocol(values, scores), **(extra or {})}
    results["source"] = source
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(results, indent=2, default=str))
    log.info(
        "%s (%d generated vs %d real): %s", describe(values), scores.counts["fake"], scores.counts["real"],
        out / "metrics.json",
    )  # fmt: skip
    if image_dir is not None:
        log.info("generated images: %s", image_dir)
    return results
