"""Which generator a GAN samples from, and with which BatchNorm statistics: G or its EMA (`ema_decay`), with
running or standing statistics (`standing_stats`). Neither touches training: both only change what grids,
metrics, checkpoints and evaluate.py draw."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ganlab.models.standing import standing_statistics


class GeneratorSampling:
    """A mixin of the GAN LightningModule, before GanlabModule in its bases: its hooks wrap GanlabModule's.

    Standing statistics are recomputed at each epoch's last batch, before the epoch-end grids and metrics,
    and again before any checkpoint written since G last stepped (every_n_train_steps, a stop signal):
    every checkpoint carries statistics of its own weights."""

    generator: nn.Module
    hparams: Any
    ema: AveragedModel | None  # set by the model (a class default would hide nn.Module's submodule)
    sample_from_ema = True
    statistics_stale = False  # G has stepped since its standing statistics were computed

    @property
    def samples_ema(self) -> bool:
        return self.sample_from_ema and self.ema is not None and self.ema.n_averaged.item() > 0

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator to run: its EMA copy when sampling (eval mode) once averaging has started."""
        return self.ema.module if not self.training and self.samples_ema else self.generator

    def generator_network(self) -> nn.Module:
        return self.ema.module if self.samples_ema else self.generator

    def run_generator(self, network: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """`network` (G or its EMA) on latents, and labels where the model is conditional."""
        return network(z)

    def after_generator_step(self) -> None:
        """G's standing statistics are out of date from here; its new weights are folded into its EMA (the
        first update copies G), from `ema_start` on."""
        self.statistics_stale = True
        if self.ema is not None and self.global_step >= self.hparams.ema_start:
            self.ema.update_parameters(self.generator)

    def refresh_statistics(self) -> None:
        """Standing statistics for G and its EMA (`standing_stats` samples), always from the same noise."""

        def draw(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
            return self.sample_latent(n, generator=generator), self.sample_labels(n, generator=generator)

        for network in (self.generator, *([self.ema.module] if self.ema is not None else [])):
            standing_statistics(network, draw, self.run_generator, self.hparams.standing_stats,
                                seed=self.hparams.fixed_noise_seed + 1)  # fmt: skip
        self.statistics_stale = False

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        super().on_train_batch_end(outputs, batch, batch_idx)
        if self.hparams.standing_stats and self.trainer.is_last_batch:
            self.refresh_statistics()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)  # first: a diverged run's checkpoint is refused, not refreshed
        # Lightning took the state dict before this hook: the refreshed statistics are written into it.
        if self.hparams.standing_stats and self.statistics_stale:
            self.refresh_statistics()
            current = self.state_dict()
            for key in checkpoint["state_dict"]:
                if key.startswith(("generator.", "ema.")):
                    checkpoint["state_dict"][key] = current[key]
