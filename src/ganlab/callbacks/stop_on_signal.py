"""A stop signal during training ends the run at the next batch boundary with `last.ckpt` written there:
the exact mid-epoch resume point, so a pre-empted run loses nothing."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Checkpoint

from ganlab.callbacks.last_checkpoint import LastCheckpoint
from ganlab.utils.signals import TRAINING_SIGNALS, Interrupted, StopSignals


class StopOnSignal(Checkpoint):
    """After each batch (and epoch end), if a stop signal came: `last.ckpt` is saved (when the run has a
    LastCheckpoint) and Interrupted raised. A Checkpoint, so that Lightning runs it after the others
    (train() puts it after LastCheckpoint, whose place in the epoch it saves). Under DDP the ranks agree
    (one collective a batch, as Lightning's own SIGTERM check) and rank 0 writes the one checkpoint."""

    def __init__(self, signals: StopSignals) -> None:
        self.signals = signals

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning has just put in its SIGTERM handler (it would stop without a checkpoint): ours again.
        # SIGUSR1 stays Lightning's when its SLURM auto-requeue took it.
        self.signals.take(TRAINING_SIGNALS, unless_handled=(TRAINING_SIGNALS[-1],))
        self.signals.deferring = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.signals.deferring = False  # testing, exporting: nothing to finish, a signal stops at once

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, error: BaseException) -> None:
        self.signals.deferring = False

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._stop_if_signalled(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop_if_signalled(trainer, pl_module)  # a signal during epoch-end metrics: last.ckpt is written

    def _stop_if_signalled(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        signum = self.signals.received or 0
        if trainer.world_size > 1:  # any rank's signal stops them all, at the same batch
            flag = torch.tensor(signum, device=pl_module.device)
            signum = int(trainer.strategy.reduce(flag, reduce_op="max"))
        if not signum:
            return
        last = next((c for c in trainer.checkpoint_callbacks if isinstance(c, LastCheckpoint)), None)
        if last is not None:
            last.save(trainer)
        self.signals.received, self.signals.deferring = signum, False
        raise Interrupted(signum)
