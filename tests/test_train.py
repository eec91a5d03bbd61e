"""`train.py` end to end: real Trainer, real TensorBoard files, real Hydra runs in subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import ANIME_EXTRAS, BUDGET, TINY_CLI, run_command, shared
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganlab.train import train
from ganlab.utils.errors import GanlabError

SCALARS = {"train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "train/d_acc"}


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_run_directory_and_tensorboard_events(make_cfg, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(make_cfg("trainer.max_epochs=2", "callbacks.model_checkpoint.every_n_epochs=1"))
    assert {p.name for p in run.iterdir()} >= {"tensorboard", "checkpoints", "samples"}
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "fixed_noise_epoch_000.png",
        "fixed_noise_epoch_001.png",
    ]
    assert {p.name for p in (run / "checkpoints").iterdir()} == {
        "last.ckpt",
        "epoch_000.ckpt",
        "epoch_001.ckpt",
    }

    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    assert set(events.Tags()["scalars"]) >= SCALARS
    d_loss = events.Scalars("train/d_loss")
    assert [e.step for e in d_loss] == list(range(6))  # one point per batch, x-axis in batches
    assert all(
        0 <= e.value <= 1
        for tag in ("train/d_real", "train/d_fake", "train/d_acc")
        for e in events.Scalars(tag)
    )
    images = events.Images("samples/fixed_noise")
    assert [e.step for e in images] == [3, 6]  # one grid per epoch, on the scalars' step axis
    assert images[0].width == images[0].height > 28  # a 4x4 grid of 28 px digits with padding
    # The HPARAMS tab: this run's settings and the metrics to show beside them.
    hparams = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    assert b"model/lr" in hparams["_hparams_/session_start_info"]
    assert b"train/g_loss" in hparams["_hparams_/experiment"]


@pytest.mark.parametrize("extras", [(), ANIME_EXTRAS], ids=["default", "anime_extras"])
def test_resume_matches_an_uninterrupted_run(make_cfg, tmp_path: Path, extras: tuple[str, ...]) -> None:
    train(make_cfg("trainer.max_epochs=2", *extras, run_dir=tmp_path / "straight"))
    train(make_cfg("trainer.max_epochs=1", *extras, run_dir=tmp_path / "first"))
    first = tmp_path / "first" / "checkpoints" / "last.ckpt"
    assert load(first)["global_step"] == 6
    train(make_cfg("trainer.max_epochs=2", *extras, f"ckpt_path={first}", run_dir=tmp_path / "resumed"))

    straight = load(tmp_path / "straight" / "checkpoints" / "last.ckpt")
    resumed = load(tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    assert resumed["global_step"] == straight["global_step"] == 12  # the step count continued
    assert resumed["epoch"] == straight["epoch"] == 2  # Lightning stores the count of epochs begun
    for key, value in straight["state_dict"].items():
        assert torch.equal(value, resumed["state_dict"][key]), key
    # The resumed run wrote only the epoch it trained.
    assert [p.name for p in (tmp_path / "resumed" / "samples").iterdir()] == ["fixed_noise_epoch_001.png"]


def test_a_run_refused_in_its_used_folder_deletes_nothing(make_cfg, tmp_path: Path) -> None:
    """Clearing a refused run's folder is for folders that run made: a resume refused in its run's folder
    (here a bad value) leaves every checkpoint, grid and event of that run."""
    run = tmp_path / "run"
    train(make_cfg())
    kept = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "results.json"}
    with pytest.raises(GanlabError, match=r"model\.lr=-1"):
        train(make_cfg(f"ckpt_path={run}/checkpoints/last.ckpt", "model.lr=-1"))
    assert {p: p.read_bytes() for p in kept} == kept
    assert json.loads((run / "results.json").read_text())["status"] == "failed"  # this attempt's record


def test_init_from_takes_the_weights_only(make_cfg, tmp_path: Path) -> None:
    train(make_cfg(run_dir=tmp_path / "first"))
    first = tmp_path / "first" / "checkpoints" / "last.ckpt"
    # Stage two: new LeakyReLU slope, an lr so small the weights barely move from where stage one left them.
    overrides = [f"init_from={first}", "model.discriminator.leaky_slope=0.1", "model.lr=1e-12"]
    train(make_cfg(*overrides, run_dir=tmp_path / "second"))
    before, after = load(first), load(tmp_path / "second" / "checkpoints" / "last.ckpt")
    assert after["global_step"] == 6 and after["epoch"] == 1  # counters started afresh, not at 6 / 1
    assert after["optimizer_states"][0]["state"][0]["step"] == 3  # so did Adam: 3 D steps, not 6
    assert (
        after["hyper_parameters"]["discriminator"]["leaky_slope"] == 0.1
        and after["hyper_parameters"]["lr"] == 1e-12
    )
    counters = ("running_", "num_batches", "n_averaged")  # BatchNorm's and the EMA's own, which go on
    weights = [k for k in before["state_dict"] if not any(c in k for c in counters)]
    for key in weights:
        torch.testing.assert_close(after["state_dict"][key], before["state_dict"][key], atol=1e-9, rtol=0)
    with pytest.raises(GanlabError, match="pass one of them"):
        train(make_cfg(f"init_from={first}", f"ckpt_path={first}"))
    with pytest.raises(GanlabError, match=r"discriminator.width=8 \(now 16\)"):
        train(make_cfg(f"init_from={first}", "model.discriminator.width=16"))


def test_checkpoint_of_other_network_sizes_is_refused_in_one_line(make_cfg, tmp_path: Path) -> None:
    train(make_cfg(run_dir=tmp_path / "a"))
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    with pytest.raises(GanlabError) as err:
        train(
            make_cfg(
                "model.generator.width=16",
                "trainer.max_epochs=2",
                f"ckpt_path={ckpt}",
                run_dir=tmp_path / "b",
            )
        )
    assert "generator.width=8 (now 16)" in str(err.value) and "\n" not in str(err.value)


def test_missing_checkpoint_file(make_cfg, tmp_path: Path) -> None:
    with pytest.raises(GanlabError, match="is not a file"):
        train(make_cfg(f"ckpt_path={tmp_path}/nope.ckpt"))


def test_missing_dataset_is_one_clear_line(project: Path) -> None:
    result = run_command("python train.py data=anime", project, *TINY_CLI, f"hydra.run.dir={project / 'run'}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: anime: folder '{project}/data/anime-faces/images' does not exist.")
    assert "kaggle.com/datasets/splcher/animefacedataset" in last and "data.root=" in last
    # refused before training: the folder keeps only results.json, which says why (no empty run to mistake)
    assert [p.name for p in (project / "run").iterdir()] == ["results.json"]
    results = json.loads((project / "run" / "results.json").read_text())
    assert results["status"] == "failed" and "does not exist" in results["error"]


def test_unknown_config_key_is_refused(project: Path) -> None:
    result = run_command("python train.py model.learning_rate=1e-3", project, *TINY_CLI)
    assert result.returncode == 1
    assert "Could not override 'model.learning_rate'" in result.stderr
    assert "Key 'learning_rate' is not in struct" in result.stderr


@pytest.mark.slow
def test_dcgan_on_anime_faces_at_64px(make_cfg, tmp_path: Path) -> None:
    """The issue's main job, in miniature: `model=dcgan data=anime data.root=...` on the real faces."""
    cfg = make_cfg(
        "model=dcgan",
        "data=anime",
        f"data.root={shared('anime-faces/images')}",
        "trainer.limit_train_batches=2",
    )
    train(cfg)
    grid = tmp_path / "run" / "samples" / "fixed_noise_epoch_000.png"
    from PIL import Image

    with Image.open(grid) as image:
        assert image.mode == "RGB" and image.size == (
            4 * 66 + 2,
            4 * 66 + 2,
        )  # 16 samples, 64 px, 2 px padding


def test_a_list_setting_survives_the_checkpoint(project: Path) -> None:
    """The README's `model.augment=[translation,cutout]` trains, and its checkpoint loads with weights_only
    (a list setting reaches the model as a plain list, not an OmegaConf container that torch refuses)."""
    from test_sweeps import readme_commands

    from ganlab.utils.checkpoints import load_checkpoint

    command = "python train.py model.augment=[translation,cutout]"
    assert command in readme_commands()
    result = run_command(command, project, *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (project / "outputs/train/runs").iterdir()
    checkpoint = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert checkpoint["hyper_parameters"]["augment"] == ["translation", "cutout"]
