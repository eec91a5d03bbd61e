"""`task=interpolate` and `task=latent_shift`: grids that explore a generator's latent space."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from torch import nn

from ganlab import latent
from ganlab.tasks import register_task
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


@register_task("interpolate")
def interpolate(cfg: DictConfig, model: nn.Module, checkpoint: dict[str, Any], out: Path) -> dict[str, Any]:
    options = cfg.interpolate
    path = latent.interpolate(model, out, options.pairs, options.steps, options.method, options.seed)
    log.info("interpolation grid: %s", path)
    return {"task": "interpolate", "files": [str(path)]}


@register_task("latent_shift")
def latent_shift(cfg: DictConfig, model: nn.Module, checkpoint: dict[str, Any], out: Path) -> dict[str, Any]:
    options = cfg.latent_shift
    paths = latent.latent_shift(model, out, list(options.means), options.std, options.samples, options.seed)
    log.info("latent shift grids: %s", ", ".join(str(p) for p in paths))
    return {"task": "latent_shift", "files": [str(p) for p in paths]}
