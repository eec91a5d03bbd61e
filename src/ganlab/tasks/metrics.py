"""`task=metrics` (the default): FID / IS / KID of a checkpoint's generator against its real data, plus the
reconstruction error of autoencoders and per-class scores of conditional models; metrics.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig
from torch import nn

from ganlab.metrics.classes import score_classes
from ganlab.metrics.evaluation import add_real_images, generated_batches, real_stats_path
from ganlab.metrics.reconstruction import reconstruction_error
from ganlab.metrics.report import make_scores, save_grid, save_pngs, write_report
from ganlab.models.interface import Conditional, Denoises, Reconstructs
from ganlab.tasks import register_task
from ganlab.utils.errors import GanlabError


@register_task("metrics")
def score_generator(
    cfg: DictConfig, model: nn.Module, checkpoint: dict[str, Any], out: Path
) -> dict[str, Any]:
    """`metrics.num_samples` generated images against the real split: metrics.json, samples.png, PNGs."""
    datamodule = hydra.utils.instantiate(cfg.data)
    if cfg.real_split == "test":
        if not datamodule.has_test_split():
            raise GanlabError(f"{datamodule.name} has no test split: use real_split=train")
        datamodule = datamodule.test_split()
    real = datamodule.real_images()

    num_samples, batch_size, seed = cfg.metrics.num_samples, cfg.metrics.batch_size, cfg.metrics.seed
    extractor, scores = make_scores(cfg, model.device)
    count = min(num_samples, len(real))
    cache = real_stats_path(
        cfg.metrics.cache_dir, datamodule.name, datamodule.cache_key(), extractor, count, seed
    )
    scores.real_downscale = datamodule.downscale()
    add_real_images(scores, real, count, seed, batch_size, cache)

    image_dir = out / "images" if cfg.save_images else None
    grid: list[torch.Tensor] = []
    batches = generated_batches(model, num_samples, batch_size, seed)
    for start, batch in zip(range(0, num_samples, batch_size), batches, strict=True):
        scores.update(batch, real=False)
        if len(grid) * batch_size < cfg.grid_size:
            grid.append(batch.cpu())
        if image_dir is not None:
            save_pngs(batch, image_dir, start)
    save_grid(torch.cat(grid)[: cfg.grid_size], out / "samples.png")

    source = {
        "ckpt_path": str(Path(cfg.ckpt_path).resolve()),
        "model": cfg.model.get("_target_"),
        "epoch": checkpoint.get("epoch"),
        "global_step": checkpoint.get("global_step"),
        "real": f"{datamodule.name} {cfg.real_split} split, {count} of {len(real)} images "
                f"(random subset, seed {seed})",
        "generated": f"{num_samples} samples, noise seed {seed}",
    }  # fmt: skip
    extra = {}
    if isinstance(model, (Reconstructs, Denoises)):
        extra["reconstruction"] = reconstruction_error(cfg, model, real, count)
        source["reconstructed"] = f"the same {count} real images"
    if isinstance(model, Conditional) and cfg.conditional.per_class:
        extra["conditional"] = score_classes(cfg, model, datamodule, extractor)
    return write_report(scores, source, out, image_dir, extra, model=model)
