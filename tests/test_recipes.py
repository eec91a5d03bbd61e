"""The default recipe (`python train.py`): its settings are pinned, and it trains to digits of every class.

Its quality (IS, the confident share) is measured by `benchmarks/recipes.py default`, not here: a change to
these settings is deliberate, re-measured there and in docs/results.md's table.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import torch
from conftest import BUDGET, PROJECT, SHARED_DATA, compose_config, run_command, shared
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from test_sweeps import readme_commands

from ganlab.metrics import DomainFeatures
from ganlab.metrics.evaluation import generated_batches
from ganlab.utils.restore import load_generator

# What `python train.py` trains: the settings behind docs/results.md's default-run numbers.
DEFAULT_RECIPE = {
    "data._target_": "ganlab.data.MnistMiniDataModule",
    "data.batch_size": 32,
    "model._target_": "ganlab.models.GAN",
    "model.latent_dim": 32,
    "model.generator._target_": "ganlab.nets.DCGANGenerator",
    "model.generator.width": 64,
    "model.generator.dense_first": True,
    "model.generator.extra_convs": 2,
    "model.generator.upsample": "transposed",
    "model.discriminator._target_": "ganlab.nets.DCGANDiscriminator",
    "model.discriminator.width": 32,
    "model.discriminator.extra_convs": 1,
    "model.discriminator.norm": "batch",
    "model.discriminator.spectral_norm": False,
    "model.augment": [],
    "model.loss._target_": "ganlab.models.losses.NonSaturatingLoss",
    "model.optimizer": "adam",
    "model.lr": 3.0e-3,
    "model.lr_g": None,
    "model.lr_d": None,
    "model.beta1": 0.5,
    "model.beta2": 0.999,
    "model.n_critic": 1,
    "model.ema_decay": 0.999,
    "model.ema_rampup": 0.5,
    "model.label_smoothing": 0.0,
    "model.channels_last": True,
    "trainer.max_epochs": 28,
    "seed": 42,
}


def test_default_recipe_is_pinned(tmp_path: Path) -> None:
    cfg = compose_config("train", [], tmp_path, tmp_path / "run", tmp_path / "cache")
    GlobalHydra.instance().clear()
    settings = {key: OmegaConf.select(cfg, key) for key in DEFAULT_RECIPE}
    assert settings == DEFAULT_RECIPE, (
        "the default recipe changed: measure it (`python benchmarks/recipes.py default --classifier ...`), "
        "update docs/results.md's default-run table, then this pin"
    )


def test_default_recipe_trains_to_digits_of_every_class(project: Path, classifier_file: Path) -> None:
    """`python train.py` as typed, for two epochs: finite losses, and all ten digits among its samples
    (after one epoch the EMA, which the samples come from, averages ~80 steps of a G still changing fast:
    mostly ones)."""
    assert "python train.py" in readme_commands()
    result = run_command("python train.py", project, "trainer.max_epochs=2")
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((project / "outputs" / "train" / "runs").iterdir())
    results = json.loads((run / "results.json").read_text())
    final = results["final"]
    # What the recipe set beyond conf/model/dcgan.yaml is said at the start and kept with the results
    # (max_epochs not: the command line set it again).
    recipe = str(project / "conf" / "data_model" / "mnist_mini_dcgan.yaml")
    set_by = results["set_by"][recipe]
    assert set_by["model.lr"] == 3e-3 and "trainer.max_epochs" not in set_by
    said = [line for line in result.stdout.splitlines() if f"{recipe} sets " in line]  # Hydra logs to stdout
    assert len(said) == 1, result.stdout[-3000:]
    assert "model.generator.extra_convs=2" in said[0] and "model.lr=0.003" in said[0]
    assert all(math.isfinite(final[key]) for key in ("train/d_loss", "train/g_loss")), final
    model, _ = load_generator(
        OmegaConf.create({"ckpt_path": str(run / "checkpoints" / "last.ckpt"), "device": "cpu"})
    )
    images = torch.cat(list(generated_batches(model, 500, 250, seed=0)))
    classes = DomainFeatures(classifier_file)(images)["logits"].argmax(1)
    assert torch.bincount(classes, minlength=10).min() > 0, torch.bincount(classes, minlength=10)


CLASSIFIER = (
    "python train.py model=classifier data=mnist data.root=../shared/data/mnist data.holdout=5000 "
    "trainer.max_epochs=5"
)
BENCHMARK = "python benchmarks/recipes.py default --classifier"
DOC_CLASSIFIER = ".cache/ganlab/domain/mnist-28px.pt"  # where CLASSIFIER saves it
DOC_BENCHMARK = "python benchmarks/recipes.py default --classifier .cache/ganlab/domain/mnist-28px.pt"


def test_the_scoring_classifier_and_the_benchmark_run_as_typed(
    project: Path, classifier_file: Path, tmp_path: Path
) -> None:
    """The two commands behind docs/results.md's default-run table, from a project whose ../shared is the real
    one: the full-MNIST classifier trains and is tested on its held-out digits; the benchmark trains the
    default run (one epoch) and prints its scores beside the held-out digits'."""
    shared("mnist")
    assert CLASSIFIER in readme_commands() and DOC_BENCHMARK in readme_commands()
    os.symlink(SHARED_DATA.parent, tmp_path / "shared")  # the user's layout: ../shared beside the project
    shutil.copytree(PROJECT / "benchmarks", project / "benchmarks")
    result = run_command(CLASSIFIER, project, *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((project / "outputs" / "train" / "runs").iterdir())
    assert "test/acc" in json.loads((run / "results.json").read_text())["final"]  # scored on held-out digits
    assert (project / ".cache" / "ganlab" / "domain" / "mnist-28px.pt").is_file()  # what --classifier takes
    shutil.copy2(classifier_file, project / DOC_CLASSIFIER)  # a trained one over the 2-batch one
    result = run_command(DOC_BENCHMARK, project, "--epochs", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {
        line.split()[0]: line.split()
        for line in result.stdout.splitlines()
        if line.startswith(("generated", "held-out"))
    }
    assert set(rows) == {"generated", "held-out"}, result.stdout[-2000:]
    assert all(1.0 <= float(row[-3]) <= 10.0 for row in rows.values())  # IS of ten classes lies in [1, 10]
