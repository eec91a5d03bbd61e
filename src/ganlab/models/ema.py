"""G's exponential moving average, with StyleGAN2-ADA's ramp-up: what samples are drawn from when it is on."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def ema_ramped_up(decay: float, rampup: float | None) -> Callable[..., None]:
    """torch's EMA update at `decay`, or with StyleGAN2-ADA's ramp-up (`rampup` set) at most
    1 - 1 / (rampup x the updates so far): early samples then average G's recent weights, not its initial
    ones (a plain 0.999 average still holds 86% of the initial G after one epoch of 156 steps)."""
    if rampup is None:
        return get_ema_multi_avg_fn(decay)

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor) -> None:
        ramped = min(decay, max(0.0, 1.0 - 1.0 / (rampup * float(updates))))
        get_ema_multi_avg_fn(ramped)(averaged, current, updates)

    return update


def make_ema(generator: nn.Module, decay: float, rampup: float | None) -> AveragedModel:
    """A frozen average of `generator`'s weights and BatchNorm statistics (updated by the model)."""
    return AveragedModel(
        generator, multi_avg_fn=ema_ramped_up(decay, rampup), use_buffers=True
    ).requires_grad_(False)
