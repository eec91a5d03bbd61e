"""Every recipe in conf/experiment composes and trains for one batch on its real dataset."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import CONF, PROJECT, SHARED_DATA, page_commands, shared

from ganlab.train import train

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
GALLERY = PROJECT / "docs" / "recipes.md"


def gallery_commands() -> list[str]:
    """docs/recipes.md's commands: `python train.py experiment=<name>`, one per recipe."""
    return page_commands(GALLERY)


def test_the_gallery_has_every_recipe_with_its_command_and_a_row() -> None:
    assert sorted(gallery_commands()) == sorted(f"python train.py experiment={name}" for name in EXPERIMENTS)
    rows = re.findall(r"^\| `(\w+)` \|", GALLERY.read_text(), flags=re.M)
    assert sorted(rows) == EXPERIMENTS


# Where each dataset lies in ../shared/data when it differs from the configs' default layout.
ROOTS = {"celeba": "celeba/Datasets"}


def test_the_recipes_are_there() -> None:
    assert {
        "anime_dcgan", "anime_dcgan_dense_rmsprop", "anime_aae", "celeba_dcgan", "mnist_dcgan",
        "fashion_mnist_dcgan", "fashion_mnist_sngan", "fashion_mnist_cgan", "fashion_mnist_dae",
        "pokemon_dae",
    } <= set(EXPERIMENTS)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("command", gallery_commands())
def test_experiment_trains_one_batch(
    command: str, make_cfg, inception_weights: Path, classifier_file: Path, tmp_path: Path
) -> None:
    """The gallery's command, its overrides composed in-process, on the real data of ../shared/data."""
    shared(".")
    overrides = shlex.split(command)[2:]
    name = overrides[0].removeprefix("experiment=")
    cfg = make_cfg(
        *overrides, f"paths.data_dir={SHARED_DATA}", "trainer.limit_train_batches=1",
        f"metrics.inception_weights={inception_weights}", f"metrics.classifier={classifier_file}",
        "metrics.num_samples=8", "metrics.batch_size=8", "metrics.is_splits=2", "metrics.kid_subsets=2",
        drop=("model.discriminator.width",) if name.endswith(("_aae", "_dae")) else (),
    )  # fmt: skip
    if cfg.data.name in ROOTS:
        cfg.data.root = str(shared(ROOTS[cfg.data.name]))
    assert cfg.task_name == name
    best = train(cfg)
    assert best is not None and best == best  # metrics ran and gave a number (not NaN)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
