"""The default recipe (`python train.py`): its settings are pinned, and it trains to digits of every class.

Its quality (IS, the confident share) is measured by `benchmarks/recipes.py default`, not here: a change to
these settings is deliberate, re-measured there and in the README's table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from conftest import compose_config, run_command
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from test_sweeps import readme_commands

from ganlab.metrics import DomainFeatures
from ganlab.metrics.evaluation import generated_batches
from ganlab.utils.restore import load_generator

# What `python train.py` trains: the settings behind the README's default-run numbers.
DEFAULT_RECIPE = {
    "data._target_": "ganlab.data.MnistMiniDataModule",
    "data.batch_size": 32,
    "model._target_": "ganlab.models.DCGAN",
    "model.latent_dim": 100,
    "model.g_width": 64,
    "model.d_width": 32,
    "model.g_extra_convs": 1,
    "model.d_extra_convs": 1,
    "model.upsample": "transposed",
    "model.d_norm": "batch",
    "model.spectral_norm": False,
    "model.augment": [],
    "model.loss": "ns",
    "model.optimizer": "adam",
    "model.lr": 1.0e-3,
    "model.lr_g": None,
    "model.lr_d": None,
    "model.beta1": 0.5,
    "model.beta2": 0.999,
    "model.n_critic": 1,
    "model.ema_decay": None,
    "model.label_smoothing": 0.0,
    "trainer.max_epochs": 25,
    "seed": 42,
}


def test_default_recipe_is_pinned(tmp_path: Path) -> None:
    cfg = compose_config("train", [], tmp_path, tmp_path / "run", tmp_path / "cache")
    GlobalHydra.instance().clear()
    settings = {key: OmegaConf.to_container(OmegaConf.create({"v": OmegaConf.select(cfg, key)}))["v"]
                for key in DEFAULT_RECIPE}  # fmt: skip
    assert settings == DEFAULT_RECIPE, (
        "the default recipe changed: measure it (`python benchmarks/recipes.py default --classifier ...`), "
        "update the README's default-run table, then this pin"
    )


def test_default_recipe_trains_to_digits_of_every_class(project: Path, classifier_file: Path) -> None:
    """`python train.py` as typed, for one epoch: finite losses, and all ten digits among its samples."""
    assert "python train.py" in readme_commands()
    result = run_command("python train.py", project, "trainer.max_epochs=1")
    assert result.returncode == 0, result.stderr[-3000:]
    run = next((project / "outputs" / "train" / "runs").iterdir())
    final = json.loads((run / "results.json").read_text())["final"]
    assert all(math.isfinite(final[key]) for key in ("train/d_loss", "train/g_loss")), final
    model, _ = load_generator(
        OmegaConf.create({"ckpt_path": str(run / "checkpoints" / "last.ckpt"), "device": "cpu"})
    )
    images = torch.cat(list(generated_batches(model, 500, 250, seed=0)))
    classes = DomainFeatures(classifier_file)(images)["logits"].argmax(1)
    assert torch.bincount(classes, minlength=10).min() > 0, torch.bincount(classes, minlength=10)
