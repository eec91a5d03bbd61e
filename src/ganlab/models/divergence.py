"""Divergence guards: a non-finite loss stops the run before the optimizer step that would spread it into
the weights, and a checkpoint with non-finite weights is refused before a byte is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch

from ganlab.utils.errors import DivergedError


def divergence_hint(hparams: Mapping[str, Any]) -> str:
    """The likely fix, with the learning rates the run used."""
    rates = [f"model.{k}={v}" for k, v in hparams.items() if k in ("lr", "lr_g", "lr_d") and v]
    return (
        f"lower the learning rate ({', '.join(rates)} now; try 10x lower) "
        "or clip gradients (model.grad_clip_val=1.0)"
    )


def check_finite_loss(module: L.LightningModule, name: str, loss: torch.Tensor) -> None:
    """Raise DivergedError naming the step, the loss and the fix. Under DDP the ranks decide together, so
    none waits for a rank that stopped."""
    finite = bool(torch.isfinite(loss))
    trainer = module.trainer
    if trainer.world_size > 1:
        finite = trainer.strategy.reduce_boolean_decision(finite, all=True)
    if not finite:  # LastCheckpoint adds where the last good state is
        raise DivergedError(
            f"diverged at step {module.global_step} (epoch {module.current_epoch}): {name} is "
            f"{loss.item()}; {divergence_hint(module.hparams)}"
        )


def check_finite_weights(module: L.LightningModule, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise DivergedError when a floating-point weight or buffer holds NaN or inf."""
    broken = [k for k, v in state_dict.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise DivergedError(
            f"diverged by step {module.global_step}: {broken[0]} holds non-finite values, so no "
            f"checkpoint was written; {divergence_hint(module.hparams)}"
        )
