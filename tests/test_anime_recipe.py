"""The anime recipe, `python train.py model=dcgan data=anime`: its settings are pinned, Radford's plain DCGAN
stays one override away (`experiment=anime_dcgan`) and no other recipe inherits it unasked, standing
statistics are what they claim, and the benchmark behind docs/results.md's anime table runs as typed.

Its quality is measured by `benchmarks/recipes.py anime` (docs/results.md), not here: a change to these
settings is deliberate, re-measured there.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from conftest import BUDGET, CONF, PROJECT, SHARED_DATA, compose_config, run_command
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from test_sweeps import readme_commands

from ganlab.train import train
from ganlab.utils.checkpoints import load_checkpoint
from ganlab.utils.restore import load_generator

# What `python train.py model=dcgan data=anime` trains: the settings behind docs/results.md's anime table.
ANIME_RECIPE = {
    "data.batch_size": 32,
    "data.image_size": 64,
    "data.flip": False,
    "model.latent_dim": 100,
    "model.generator._target_": "ganlab.nets.DCGANGenerator",
    "model.generator.width": 64,
    "model.generator.upsample": "transposed",
    "model.discriminator._target_": "ganlab.nets.DCGANDiscriminator",
    "model.discriminator.width": 64,
    "model.loss._target_": "ganlab.models.losses.NonSaturatingLoss",
    "model.lr": 2.0e-4,
    "model.beta1": 0.5,
    "model.beta2": 0.999,
    "model.augment": ["translation", "cutout"],
    "model.ema_decay": None,
    "model.standing_stats": 2048,
    "trainer.max_epochs": 30,
}
# pytorch/examples' dcgan, as experiment=anime_dcgan runs it (with flips): the textbook baseline.
RADFORD = {
    **ANIME_RECIPE,
    "data.batch_size": 128,
    "data.flip": True,
    "model.augment": [],
    "model.standing_stats": None,
}
RECIPE_FILE = CONF / "data_model" / "anime_dcgan.yaml"


def composed(tmp_path: Path, *overrides: str) -> dict:
    cfg = compose_config("train", list(overrides), tmp_path, tmp_path / "run", tmp_path / "cache")
    GlobalHydra.instance().clear()
    return {key: OmegaConf.select(cfg, key) for key in ANIME_RECIPE}


def test_the_anime_recipe_is_pinned_and_radford_is_one_override_away(tmp_path: Path) -> None:
    assert composed(tmp_path, "model=dcgan", "data=anime") == ANIME_RECIPE, (
        "the anime recipe changed: measure it (`python benchmarks/recipes.py anime --classifier ...`), "
        "update docs/results.md's anime table, then this pin"
    )
    assert composed(tmp_path, "experiment=anime_dcgan") == RADFORD


def test_no_other_anime_recipe_inherits_the_measured_one() -> None:
    """Experiments of data=anime model=dcgan get conf/data_model/anime_dcgan.yaml too (Hydra applies it before
    them): each sets every key the recipe sets, so that what it says it trains is what it trains."""
    recipe = OmegaConf.to_container(OmegaConf.load(RECIPE_FILE))
    keys = [f"{group}.{key}" for group, values in recipe.items() for key in values]
    for path in sorted((CONF / "experiment").glob("anime_*.yaml")):
        experiment = OmegaConf.load(path)
        if "override /model: dcgan" not in path.read_text():
            continue
        unset = [k for k in keys if OmegaConf.select(experiment, k, default="unset") == "unset"]
        assert not unset, (path.name, unset)


def test_standing_statistics_are_the_samples_own(make_cfg, tmp_path: Path) -> None:
    """With model.standing_stats, the checkpoint's BatchNorm statistics of G and of its EMA are the plain
    average over that many samples (recomputing them changes nothing), not the running averages; the
    weights are those of the same run without it (training is untouched: nothing else draws from the RNG)."""
    budget = ["trainer.max_epochs=2", "trainer.limit_train_batches=3", "model.ema_decay=0.999"]
    train(make_cfg(*budget, "model.standing_stats=100", run_dir=tmp_path / "standing"))
    train(make_cfg(*budget, run_dir=tmp_path / "running"))
    standing = load_checkpoint(tmp_path / "standing" / "checkpoints" / "last.ckpt")["state_dict"]
    running = load_checkpoint(tmp_path / "running" / "checkpoints" / "last.ckpt")["state_dict"]
    stats = {k for k in standing if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    sampled = {k for k in stats if k.startswith(("generator.", "ema."))}  # D's statistics are its own
    assert sampled and {k.split(".")[0] for k in sampled} == {"generator", "ema"}
    assert all(torch.equal(standing[k], running[k]) for k in standing if k not in sampled)
    assert all(not torch.allclose(standing[k], running[k]) for k in sampled if "num_batches" not in k)
    assert all(standing[k].item() == 1 for k in sampled if k.endswith("num_batches_tracked"))  # 100 < 128
    ckpt = str(tmp_path / "standing" / "checkpoints" / "last.ckpt")
    model, _ = load_generator(OmegaConf.create({"ckpt_path": ckpt, "device": "cpu"}))
    before = copy.deepcopy(model.state_dict())
    model.refresh_statistics()
    assert all(torch.allclose(before[k], v, atol=1e-5) for k, v in model.state_dict().items())  # NHWC or not


@pytest.mark.parametrize(
    ("model", "drop"), [((), ()), (("model=aae", "model.encoder.width=8"), ("model.discriminator.width",))],
    ids=["gan", "aae"],
)  # fmt: skip
def test_a_checkpoint_written_mid_epoch_carries_standing_statistics(
    make_cfg, tmp_path: Path, model: tuple[str, ...], drop: tuple[str, ...]
) -> None:
    """A run stopped mid-epoch (here by trainer.max_steps; a stop signal or every_n_train_steps writes the
    same way) saves statistics of the weights it saves, as an epoch-end checkpoint does: evaluate.py samples
    that checkpoint as the grids would have, not with the running averages of a G still moving. The AAE's
    decoder (its own training_step) gets the same."""
    budget = ["trainer.max_epochs=1", "trainer.limit_train_batches=5", "+trainer.max_steps=4"]  # 2 batches
    settings = [*model, "model.standing_stats=100", "model.ema_decay=0.999"]
    train(make_cfg(*budget, *settings, run_dir=tmp_path / "run", drop=drop))
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["completed"] == 2
    ckpt = str(tmp_path / "run" / "checkpoints" / "last.ckpt")
    model, _ = load_generator(OmegaConf.create({"ckpt_path": ckpt, "device": "cpu"}))
    before = copy.deepcopy(model.state_dict())
    model.refresh_statistics()
    assert all(torch.allclose(before[k], v, atol=1e-5) for k, v in model.state_dict().items())


def test_the_anime_recipe_and_its_benchmark_run_as_typed(project: Path, tmp_path: Path) -> None:
    """From a project with ../shared beside it: the README's anime command trains the recipe (it says so, and
    results.json keeps what it set); the benchmark's rows (the recipe, pytorch/examples' DCGAN, the held-out
    faces) are each scored and printed, on a domain encoder trained as docs/metrics.md says."""
    faces = SHARED_DATA / "anime-faces" / "images"
    judge = SHARED_DATA.parent / "judges" / "lbpcascade_animeface.xml"
    if not faces.is_dir() or not judge.is_file():
        pytest.skip(f"{faces} or {judge} is absent (../shared is only beside the project's own checkouts)")
    os.symlink(SHARED_DATA.parent, tmp_path / "shared")  # the user's layout: ../shared beside the project
    shutil.copytree(PROJECT / "benchmarks", project / "benchmarks")
    command = "python train.py model=dcgan data=anime data.root=/path/to/anime/images"
    assert command in readme_commands()
    trained = run_command(command.replace("/path/to/anime/images", str(faces)), project, *BUDGET)
    assert trained.returncode == 0, trained.stderr[-3000:]
    [run] = (project / "outputs" / "train" / "runs").iterdir()
    set_by = json.loads((run / "results.json").read_text())["set_by"][
        str(project / "conf/data_model/anime_dcgan.yaml")
    ]
    assert set_by["model.standing_stats"] == 2048 and set_by["data.batch_size"] == 32
    assert set_by["model.augment"] == ["translation", "cutout"]
    assert "model.standing_stats=2048" in trained.stdout
    encoder = run_command(DOC_ENCODER, project, *BUDGET)
    assert encoder.returncode == 0, encoder.stderr[-3000:]
    rows = {}
    for doc_command, budget in ((DOC_RECIPE, ("trainer.limit_train_batches=2",)),
                                (DOC_EXAMPLES, ("--batches", "2")), (DOC_REAL, ())):  # fmt: skip
        assert doc_command in readme_commands(), doc_command
        result = run_command(doc_command, project, *budget, "--samples", "100")
        assert result.returncode == 0, result.stderr[-3000:]
        [row] = [line for line in result.stdout.splitlines() if line.startswith("| `python benchmarks")]
        rows[doc_command] = [float(cell) for cell in re.findall(r"\| ([\d.e+-]+|nan)(?= )", row)[:7]]
    for fid, _, precision, recall, density, coverage, face_rate in rows.values():
        assert fid >= 0 and density >= 0 and face_rate <= 1
        assert all(0 <= v <= 1 for v in (precision, recall, coverage, face_rate)), rows
    assert rows[DOC_REAL][6] >= 0.95 and rows[DOC_REAL][0] < rows[DOC_EXAMPLES][0]  # real faces: found, close


def test_a_missing_encoder_is_one_line_before_any_training(project: Path) -> None:
    shutil.copytree(PROJECT / "benchmarks", project / "benchmarks")
    result = run_command(DOC_RECIPE, project)  # no encoder trained yet in this project
    assert result.returncode == 1 and not (project / "outputs").exists()
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: no domain classifier"), result.stderr


DOC_ENCODER = "python train.py model=simclr data=anime data.root=../shared/data/anime-faces/images"
DOC_RECIPE = "python benchmarks/recipes.py anime --classifier .cache/ganlab/domain/anime-64px.pt --epochs 3"
DOC_EXAMPLES = "python benchmarks/recipes.py examples --classifier .cache/ganlab/domain/anime-64px.pt"
DOC_REAL = "python benchmarks/recipes.py real --classifier .cache/ganlab/domain/anime-64px.pt"
