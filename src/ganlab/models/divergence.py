"""Divergence guards: a loss that is NaN, inf or beyond `model.max_loss` stops the run (read without a
per-step host sync), and a checkpoint with non-finite weights is refused before a byte is written."""

from __future__ import annotations

import math
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


class LossGuard:
    """Watches the training losses without a host synchronisation per step (which would stall a GPU's
    queue): the first loss that is NaN, inf or beyond `max_loss` in size is kept on the device, with its
    step and name; `check` reads that flag (once per logging interval, at epoch ends and before every
    checkpoint) and stops the run. The weights a bad step made are never saved: the check runs first."""

    def __init__(self, max_loss: float | None) -> None:
        self.max_loss = max_loss
        self.names: list[str] = []
        self.first: torch.Tensor | None = None  # [bad, step, loss, name index] of the first bad loss

    def watch(self, name: str, loss: torch.Tensor, step: int) -> None:
        if name not in self.names:
            self.names.append(name)
        value = loss.detach().float().reshape(())
        bad = ~torch.isfinite(value)
        if self.max_loss is not None:
            bad = bad | (value.abs() > self.max_loss)
        full = torch.full((), 0.0, device=value.device)  # scalars made on the device: no copy to wait for
        record = torch.stack([bad.float(), full + step, value, full + self.names.index(name)])
        if self.first is None:
            self.first = torch.zeros_like(record)
        self.first = torch.where(bad & (self.first[0] == 0), record, self.first)

    def check(self, module: L.LightningModule) -> None:
        """Raise DivergedError naming the step, the loss and the fix. Under DDP the ranks decide together
        (any rank's bad loss stops all), so none waits for a rank that stopped."""
        bad = self.first is not None and bool(self.first[0])
        trainer = module.trainer
        if trainer.world_size > 1:
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            return
        fix = divergence_hint(module.hparams)
        if self.first is None or not self.first[0]:
            raise DivergedError(f"diverged on another process by step {module.global_step}; {fix}")
        _, step, value, index = self.first.tolist()
        beyond = f"{value:.3g}, beyond model.max_loss={self.max_loss:g}"
        what = beyond if math.isfinite(value) else str(value)
        where = f"step {int(step)} (epoch {module.current_epoch})"
        # LastCheckpoint adds where the last good state is
        raise DivergedError(f"diverged at {where}: {self.names[int(index)]} is {what}; {fix}")


def check_finite_weights(module: L.LightningModule, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise DivergedError when a floating-point weight or buffer holds NaN or inf."""
    broken = [k for k, v in state_dict.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise DivergedError(
            f"diverged by step {module.global_step}: {broken[0]} holds non-finite values, so no "
            f"checkpoint was written; {divergence_hint(module.hparams)}"
        )
