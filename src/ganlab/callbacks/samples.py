"""Image grids from the model's fixed noise, every N epochs, to TensorBoard and to PNG files."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torchvision.utils import make_grid, save_image

from ganlab.models.interface import GenerativeModel
from ganlab.trackers import tracker_of
from ganlab.utils.lightning_private import batches_stepped
from ganlab.utils.modes import epoch_is_due, eval_mode


class SampleGrids(L.Callback):
    """Asks the module for its `sample_grids()` (G in eval mode, no grad) and writes each one.

    Each tracker that takes images (TensorBoard, W&B, MLflow, Aim) gets `samples/<name>` at the same step
    as the scalars; `dirpath` gets `<name>_epoch_<NNN>.png`.
    """

    def __init__(self, dirpath: str | Path, every_n_epochs: int = 1) -> None:
        super().__init__()
        self.dirpath = Path(dirpath)
        self.every_n_epochs = every_n_epochs

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not isinstance(pl_module, GenerativeModel):  # e.g. the domain classifier
            return
        epoch = trainer.current_epoch
        if not epoch_is_due(trainer, self.every_n_epochs):
            return
        if not trainer.is_global_zero:  # sampling has no collective ops: other ranks need not wait for it
            return
        with eval_mode(pl_module):
            grids = pl_module.sample_grids()
        self.dirpath.mkdir(parents=True, exist_ok=True)
        step = batches_stepped(trainer)  # pictures line up with the loss curves
        for name, (images, nrow) in grids.items():
            grid = make_grid(images.float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1))
            save_image(grid, self.dirpath / f"{name}_epoch_{epoch:03d}.png")
            for logger in trainer.loggers:  # those of the trackers that take images (not CSV)
                tracker_of(logger).image(f"samples/{name}", grid, step)
