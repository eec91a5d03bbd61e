"""What describes a run to the trackers: its settings, and the metrics to show beside them."""

from __future__ import annotations

from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

# The scalars the HPARAMS tab shows per run (their latest value), once they exist; the run's registered
# metrics (val/fid, ...) are added by train().
HPARAM_METRICS = ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake")


def dotted(settings: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys, as typed: {"generator": {"width": 8}} -> {"generator.width": 8}."""
    if not isinstance(settings, dict):
        return {prefix.rstrip("."): settings}
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        flat |= dotted(value, f"{prefix}{key}.")
    return flat


def run_hparams(cfg: DictConfig, model: L.LightningModule) -> dict[str, Any]:
    """What describes a run: model, data and trainer settings, seed, parameter counts."""
    params: dict[str, Any] = {
        key: OmegaConf.to_container(cfg[key], resolve=True)
        for key in ("model", "data", "trainer")
        if key in cfg
    }
    params["seed"] = cfg.get("seed")
    params["params/total"] = sum(p.numel() for p in model.parameters())
    for name, child in model.named_children():
        if name in ("generator", "discriminator"):
            params[f"params/{name}"] = sum(p.numel() for p in child.parameters())
    return params
