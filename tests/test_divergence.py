"""Divergence stops a run at once, says where and what to change, and never saves non-finite weights."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import run_command

from ganlab.train import train
from ganlab.utils.errors import DivergedError


class PoisonWeights(L.Callback):
    """A fault, injected into a real run: G's first weight turns NaN at the end of epoch `epoch` (after a
    finite last loss), as an overflowing optimizer step would leave it."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            with torch.no_grad():
                next(pl_module.generator.parameters()).fill_(float("nan"))


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_non_finite_weights_are_never_saved_and_the_last_good_checkpoint_stays(
    make_cfg, tmp_path: Path
) -> None:
    cfg = make_cfg(
        "trainer.max_epochs=3", "callbacks.model_checkpoint.every_n_epochs=1",
        "+callbacks.poison._target_=test_divergence.PoisonWeights", "+callbacks.poison.epoch=1",
    )  # fmt: skip
    with pytest.raises(DivergedError) as err:
        train(cfg)
    message = str(err.value)
    assert message.startswith("diverged by step 12: generator.") and "no checkpoint was written" in message
    assert f"lower the learning rate (model.lr={cfg.model.lr} now" in message and "\n" not in message
    checkpoints = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    last = load(checkpoints / "last.ckpt")
    assert last["global_step"] == 6  # the end of the first epoch, the last good state
    assert all(v.isfinite().all() for v in last["state_dict"].values() if v.is_floating_point())
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["status"] == "diverged" and results["error"] == message
    assert results["checkpoints"]["last"] == str(checkpoints / "last.ckpt")
    assert results["epochs"] == 1  # the epochs that ended in a good state


def test_a_non_finite_loss_stops_the_run_naming_its_step_and_loss(make_cfg, tmp_path: Path) -> None:
    with pytest.raises(DivergedError, match=r"^diverged at step 1 \(epoch 0\): train/g_loss is nan; .*"
                       r"model.lr=1e\+30 now.*last good checkpoint: none written yet$"):  # fmt: skip
        train(make_cfg("model.lr=1e30"))
    assert not list((tmp_path / "run" / "checkpoints").iterdir())  # checked writable, nothing written
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "diverged"


def test_a_diverging_run_ends_with_one_line_and_exit_code_1(project: Path) -> None:
    result = run_command("python train.py", project, "trainer.max_epochs=1", "model.lr=1e30")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip().splitlines()[-1].startswith("error: diverged at step 1 (epoch 0): train/g_loss")
    )


def test_a_completed_run_says_so_in_its_results(make_cfg, tmp_path: Path) -> None:
    train(make_cfg("trainer.max_epochs=2", "model.lr=3e-4"))
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["status"] == "completed" and results["error"] is None
    assert results["epochs"] == 2 and results["global_step"] == 12  # 3 batches, D and G steps each
    assert "model.lr=3e-4" in results["overrides"] and results["wall_time_s"] > 0
    assert set(results["final"]) >= {"train/d_loss", "train/g_loss", "train/d_real", "train/d_fake"}
    last = load(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert results["checkpoints"]["last"] == str(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert last["global_step"] == results["global_step"]
