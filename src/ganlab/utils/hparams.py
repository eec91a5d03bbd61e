"""Hyper-parameters to TensorBoard's HPARAMS tab, with the metrics to show beside them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard.summary import hparams

from ganlab.utils.lightning_private import event_writer, flat_params

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


@rank_zero_only  # other ranks hold dummy experiments
def log_hparams(
    loggers: Iterable[Any], params: dict[str, Any], metrics: Iterable[str] = HPARAM_METRICS
) -> None:
    """Write the run's hparams summary up front, so the HPARAMS tab lists it even while it trains.

    Lightning's `log_hyperparams` only writes that summary together with metric values; here only the
    metric names are declared and TensorBoard reads their values from the run's scalars.
    """
    for logger in loggers:
        logger.log_hyperparams(params)  # hparams.yaml, and whatever non-TensorBoard loggers do with them
        if isinstance(logger, TensorBoardLogger) and logger.experiment is not None:
            writer = event_writer(logger)
            for summary in hparams(flat_params(params), dict.fromkeys(metrics, 0.0)):
                writer.add_summary(summary)
