"""`task=sample`: images from a checkpoint's generator, by count, seed, class and truncation, as PNGs, a grid
or an .npz; the pixels are the ones `task=metrics` scores (uint8, rounded as save_image rounds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn

from ganlab.metrics.evaluation import generated_batches, images_of
from ganlab.metrics.report import save_grid, save_pngs
from ganlab.models.interface import Averaged, Conditional
from ganlab.tasks import register_task
from ganlab.utils.errors import GanlabError
from ganlab.utils.files import atomic_open
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)
FORMATS = ("png", "grid", "npz")


@register_task("sample")
def sample(cfg: DictConfig, model: nn.Module, checkpoint: dict[str, Any], out: Path) -> dict[str, Any]:
    options = cfg.sample
    seeds = _whole_numbers(options.seeds, "sample.seeds")
    classes = _whole_numbers(options.classes, "sample.classes")
    truncation = options.truncation
    if truncation is not None and not (isinstance(truncation, int | float) and truncation > 0):
        raise GanlabError(f"sample.truncation={options.truncation} must be a number above 0: e.g. 0.7")
    if options.format not in FORMATS:
        raise GanlabError(f"sample.format={options.format!r} is not known: use {', '.join(FORMATS)}")
    if seeds is None and not (isinstance(options.n, int) and options.n > 0):
        raise GanlabError(f"sample.n={options.n!r} is not a count: pass sample.n=<images, e.g. 64>")
    if classes is not None:
        if not isinstance(model, Conditional):
            raise GanlabError(
                f"sample.classes={classes} needs a conditional model, and {type(model).__name__} is not one: "
                "drop sample.classes"
            )
        if bad := [c for c in classes if not 0 <= c < model.num_classes]:
            last = model.num_classes - 1
            raise GanlabError(f"sample.classes: {bad} not among the model's classes 0..{last}")
    if isinstance(model, Averaged):
        model.sample_from_ema = bool(options.ema)
    images = torch.cat([batch.cpu() for batch in _images(model, options, seeds, classes)])
    per_row = len(seeds) if seeds is not None else options.n
    written = _write(images, options.format, out, per_row if classes is not None else None)
    card = {
        "task": "sample",
        "ckpt_path": str(Path(cfg.ckpt_path).resolve()),
        "count": len(images),
        "seeds": seeds,
        "seed": None if seeds is not None else options.seed,
        "classes": classes,
        "truncation": options.truncation,
        "generator": "ema" if isinstance(model, Averaged) and model.samples_ema else "generator",
        "files": written,
    }
    (out / "samples.json").write_text(json.dumps(card, indent=2))
    log.info("%d images: %s", len(images), written[0] if len(written) == 1 else f"{out / 'samples'}/")
    return card


def _whole_numbers(value: Any, setting: str) -> list[int] | None:
    if value is None:
        return None
    values = OmegaConf.to_container(value) if isinstance(value, ListConfig) else value
    values = values if isinstance(values, list) else [values]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise GanlabError(f"{setting}={value} is not a list of whole numbers: pass e.g. {setting}=[0,1,2]")
    return values


@torch.no_grad()
def _images(model: nn.Module, options: DictConfig, seeds: list[int] | None, classes: list[int] | None
            ) -> Iterator[torch.Tensor]:  # fmt: skip
    """uint8 batches. Without seeds, classes or truncation: evaluate's own draw (`generated_batches`, the
    images `save_images=true` writes for metrics.seed=sample.seed); a row of the same latents per class."""
    if seeds is None and classes is None and options.truncation is None:
        yield from generated_batches(model, options.n, options.batch_size, options.seed)
        return
    if seeds is not None:  # one latent a seed, drawn alone: the same image whatever else is drawn
        draws = [torch.Generator().manual_seed(seed) for seed in seeds]
        z = torch.cat([model.sample_latent(1, g, truncation=options.truncation) for g in draws])
        drawn = [model.sample_labels(1, g) for g in draws]
        labels = None if drawn[0] is None else torch.cat(drawn)
    else:
        generator = torch.Generator().manual_seed(options.seed)
        z = model.sample_latent(options.n, generator, truncation=options.truncation)
        labels = model.sample_labels(options.n, generator)
    rows = [labels] if classes is None else [torch.full((len(z),), c) for c in classes]
    for row_labels in rows:
        yield from images_of(model, z, row_labels, options.batch_size)


def _write(images: torch.Tensor, format: str, out: Path, per_row: int | None) -> list[str]:
    if format == "png":
        save_pngs(images, out / "samples", 0)
        return [str(out / "samples")]
    if format == "grid":
        save_grid(images, out / "samples.png", per_row)
        return [str(out / "samples.png")]
    with atomic_open(out / "samples.npz", "wb") as file:  # whole or not at all
        np.savez(file, arr_0=images.permute(0, 2, 3, 1).numpy())  # NHWC uint8, as ADM's evaluator reads
    return [str(out / "samples.npz")]
