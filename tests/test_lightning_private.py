"""The private Lightning/TensorBoard calls behind utils/lightning_private.py, pinned against the installed
versions: when a release changes one, this fails here, not silently in a run."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganlab.train import train
from ganlab.utils.lightning_private import batches_stepped, event_writer, every_n_epochs, flat_params


class StepAtEnd(L.Callback):
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        (Path(trainer.default_root_dir) / "batches_stepped").write_text(str(batches_stepped(trainer)))


def test_batches_stepped_is_the_step_of_logged_scalars(make_cfg, tmp_path: Path) -> None:
    train(
        make_cfg("trainer.max_epochs=2", "+callbacks.step_at_end._target_=test_lightning_private.StepAtEnd")
    )
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard")).Reload()
    last_scalar_step = max(e.step for e in events.Scalars("train/g_loss"))
    assert int((tmp_path / "run" / "batches_stepped").read_text()) == last_scalar_step + 1 == 6


def test_flat_params_flattens_with_slashes_and_stringifies_what_tensorboard_cannot_show() -> None:
    params = {"model": {"lr": 1e-4, "sizes": [1, 2], "ema_decay": None}, "seed": 3}
    assert flat_params(params) == {"model/lr": 1e-4, "model/sizes": "[1, 2]", "model/ema_decay": "None",
                                   "seed": 3}  # fmt: skip


def test_event_writer_is_the_runs_own_event_file(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, name="", version="")
    writer = event_writer(logger)
    assert Path(writer.get_logdir()) == Path(logger.log_dir) and callable(writer.add_summary)


def test_every_n_epochs_is_the_period_a_model_checkpoint_was_given() -> None:
    assert every_n_epochs(ModelCheckpoint(every_n_epochs=5)) == 5
    assert every_n_epochs(ModelCheckpoint(every_n_train_steps=10)) == 0  # by steps: not by epochs
