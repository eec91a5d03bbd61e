"""The run's resolved config inside every checkpoint, so `evaluate.py ckpt_path=...` needs nothing else."""

from __future__ import annotations

from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf


class RunConfig(L.Callback):
    """Writes `checkpoint["ganlab_config"]`: the composed config with every interpolation resolved (paths
    are absolute), as plain dicts and lists so the checkpoint still loads with `weights_only=True`."""

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__()
        self.config = {
            key: OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
            for key in cfg
            if key != "hydra"
        }

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint["ganlab_config"] = self.config
