"""Room for the run's checkpoints, checked at their real size before the first one is written: a run that
would fill its disk at the first epoch end (minutes or hours in) stops after one batch instead."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from ganlab.callbacks.last_checkpoint import LastCheckpoint
from ganlab.utils.disk import DiskFullError, free_bytes, megabytes, saved_size
from ganlab.utils.lightning_private import every_n_epochs
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


class DiskSpace(L.Callback):
    """After the first batch (the optimizers hold their state by then, so a checkpoint has its real size):
    last.ckpt's folder must hold two checkpoints (the old one stays whole while the new one is written), or
    the run stops in one line; when the checkpoints the run keeps (epoch_NNN.ckpt, best) will not all fit,
    a warning says when the disk will be full. Every rank decides alike (same sizes, same folders)."""

    def __init__(self) -> None:
        self.checked = False

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.checked or trainer.fast_dev_run:
            return
        self.checked = True
        size = saved_size(
            {"state_dict": pl_module.state_dict(), "optimizers": [o.state_dict() for o in trainer.optimizers]}
        )
        needs: dict[Path, list[tuple[str, int]]] = {}  # folder -> (what, how many checkpoints)
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, LastCheckpoint):
                needs.setdefault(callback.path.parent, []).append(("last.ckpt", 2))
            elif isinstance(callback, ModelCheckpoint) and callback.dirpath:
                kept = (callback.filename or "epoch", _kept(callback, trainer))
                needs.setdefault(Path(callback.dirpath), []).append(kept)
        for folder, kinds in needs.items():
            free = free_bytes(folder)
            if any(name == "last.ckpt" for name, _ in kinds) and free < 2 * size:
                need = f"{megabytes(2 * size)} (two of {megabytes(size)}"
                raise DiskFullError(
                    f"no space for this run's checkpoints in '{folder}': {megabytes(free)} free, "
                    f"last.ckpt needs {need}: the old one stays whole while the new one is written): "
                    "free some space there, or point hydra.run.dir at a disk with room"
                )
            total = sum(count for _, count in kinds) * size
            if free < total:
                log.warning(
                    f"'{folder}' has {megabytes(free)} free; the checkpoints this run keeps there will take "
                    f"{megabytes(total)} ({', '.join(f'{n} x{c}' for n, c in kinds)} of {megabytes(size)}): "
                    "the disk fills before the run ends"
                )


def _kept(callback: ModelCheckpoint, trainer: L.Trainer) -> int:
    """How many files a ModelCheckpoint will keep: its top k, or every periodic one (save_top_k=-1)."""
    if callback.save_top_k >= 0:
        return callback.save_top_k + int(bool(callback.save_last))
    every = every_n_epochs(callback)
    epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 1
    return math.ceil(epochs / every) if every else 1  # by steps or time: at least one
