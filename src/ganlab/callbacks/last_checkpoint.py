"""`last.ckpt`, the resume point: at every epoch end and, for long epochs, every N steps or M minutes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Checkpoint

from ganlab.data.datamodules import ImageDataModule
from ganlab.data.sampler import ResumableRandomSampler
from ganlab.utils.errors import DivergedError
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


class LastCheckpoint(Checkpoint):
    """Writes `<dirpath>/last.ckpt` at the end of every epoch, so a killed run loses at most one epoch, and
    mid-epoch every `every_n_train_steps` optimizer steps and/or `every_n_minutes`, so it loses at most that.
    Each write replaces the previous one atomically (train.py's AtomicCheckpointIO).

    A mid-epoch checkpoint resumes exactly, as an epoch-end one does: it records the epoch's shuffle seed and
    the batches done, and the resumed epoch skips those batches of the same permutation (ganlab's data
    modules, see ResumableRandomSampler)."""

    def __init__(
        self, dirpath: str, every_n_train_steps: int | None = None, every_n_minutes: float | None = None
    ) -> None:
        self.path = Path(dirpath) / "last.ckpt"
        self.every_n_train_steps = every_n_train_steps
        self.every_n_minutes = every_n_minutes
        self._saved_at = (0, time.monotonic())  # (global_step, time) of the last save
        self._position: dict[str, int] | None = None  # the epoch's shuffle seed and batches done

    # --- saving --------------------------------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero:  # what a save cut off by a kill left (see AtomicCheckpointIO)
            for stray in self.path.parent.glob(f".{self.path.name}.*"):
                stray.unlink(missing_ok=True)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.save(trainer)  # the same weights, with the epoch counted as completed (as Lightning's own)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx + 1 >= trainer.num_training_batches:
            self._position = None  # the epoch is done: a save from here on resumes at the next one
            return  # and the epoch-end save follows
        sampler = trainer.train_dataloader.sampler
        if isinstance(sampler, ResumableRandomSampler) and sampler.seed is not None:
            self._position = {"seed": sampler.seed, "batches_done": batch_idx + 1}
        step, saved = trainer.global_step, self._saved_at
        due = bool(self.every_n_train_steps and step - saved[0] >= self.every_n_train_steps)
        if self.every_n_minutes and not due:  # clocks differ across ranks: rank 0 decides
            due = trainer.strategy.broadcast(time.monotonic() - saved[1] >= 60 * self.every_n_minutes)
        if due:
            self.save(trainer)

    def save(self, trainer: L.Trainer) -> None:
        """Write last.ckpt now: at its times, and when a stop signal ends the run (StopOnSignal)."""
        if trainer.fast_dev_run or trainer.sanity_checking:
            return
        trainer.save_checkpoint(self.path)
        self._saved_at = (trainer.global_step, time.monotonic())

    def state_dict(self) -> dict[str, Any]:
        """Where in the epoch every checkpoint is taken (this one's, a periodic one, Lightning's SLURM
        requeue one): None at an epoch's end."""
        return {"mid_epoch": self._position}

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """A divergence's one line ends with the state to go back to."""
        if isinstance(exception, DivergedError):
            last = self.path if self.path.is_file() else "none written yet"
            exception.args = (f"{exception}; last good checkpoint: {last}",)

    # --- resuming ------------------------------------------------------------------------------------
    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Hand a mid-epoch checkpoint's place in the epoch to the data module (before its loader exists)."""
        mid_epoch = checkpoint.get("callbacks", {}).get(self.state_key, {}).get("mid_epoch")
        if not mid_epoch:
            return
        if isinstance(trainer.datamodule, ImageDataModule):
            trainer.datamodule.resume_mid_epoch(
                mid_epoch["seed"], mid_epoch["batches_done"], checkpoint.get("rng_states")
            )
        else:
            log.warning("resuming mid-epoch with a data module of another kind: this epoch starts over")
