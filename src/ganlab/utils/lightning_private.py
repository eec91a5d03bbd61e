"""The private Lightning and TensorBoard calls ganlab relies on, in one place (no public API does these).

tests/test_lightning_private.py pins each one against the installed versions, so a release that renames or
changes them fails that test loudly instead of breaking runs silently.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.fabric.utilities.logger import _flatten_dict, _sanitize_params
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger


def batches_stepped(trainer: L.Trainer) -> int:
    """The x-axis Lightning logs scalars on (batches, not optimizer steps), so pictures line up with them."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


def flat_params(params: dict[str, Any]) -> dict[str, Any]:
    """Nested settings as `model/lr`-style keys with TensorBoard-safe values, as Lightning logs them."""
    return _sanitize_params(_flatten_dict(params))


def event_writer(logger: TensorBoardLogger) -> Any:
    """The run's own event file writer (SummaryWriter.add_hparams would open a second run folder)."""
    return logger.experiment._get_file_writer()


def every_n_epochs(checkpoint: ModelCheckpoint) -> int:
    """How often a ModelCheckpoint saves (0: not by epochs), to count the files it will keep."""
    return checkpoint._every_n_epochs
