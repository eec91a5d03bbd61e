"""Shared fixtures: composed Hydra configs for tiny real runs, the real datasets beside the project."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from ganlab.utils.cli import register_resolvers

PROJECT = Path(__file__).resolve().parents[1]
CONF = PROJECT / "conf"
SHARED_DATA = Path(os.environ.get("GANLAB_SHARED_DATA", PROJECT.parent / "shared" / "data"))

# The one budget a documented command gets in a test: an epoch of two batches.
BUDGET = ("trainer.max_epochs=1", "trainer.limit_train_batches=2")
# Small enough for a 2-core CPU where a test's command is not a documented one: 8-wide nets, batches of 8.
SMALL = ("data.batch_size=8", "model.generator.width=8", "model.discriminator.width=8")
QUIET = ("callbacks.progress_bar=null", "callbacks.model_summary=null")
# What the anime recipe (conf/data_model/anime_dcgan.yaml) adds to training, with fewer standing samples:
# its resumes must be as exact as the default run's (docs/results.md's longer rows are resumed runs).
ANIME_EXTRAS = ("model.standing_stats=64", "model.augment=[translation,cutout]")
TINY_NETS = {
    "generator": {"_target_": "ganlab.nets.DCGANGenerator", "width": 8},
    "discriminator": {"_target_": "ganlab.nets.DCGANDiscriminator", "width": 8},
}
# The tiny run: what make_cfg composes, and (with TINY_CLI) what a test's own `python train.py` gets.
TINY = [
    "trainer.accelerator=cpu",
    "trainer.devices=1",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.log_every_n_steps=1",
    *SMALL,
    "model.latent_dim=16",
    "model.num_fixed_samples=16",
    *QUIET,
]
TINY_CLI = ["trainer.accelerator=cpu", *BUDGET, *SMALL, "model.num_fixed_samples=8", *QUIET]

register_resolvers()


def shared(relative: str) -> Path:
    """A dataset folder in ../shared/data, or a skip naming what is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(
            f"real dataset {path} is absent (../shared/data is only beside the project's own checkouts)"
        )
    return path


@pytest.fixture(scope="session")
def dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of decoded datasets for the whole test session (decoding the real sets once is enough)."""
    return tmp_path_factory.mktemp("dataset_cache")


def compose_config(name: str, overrides: list[str], root: Path, run_dir: Path, cache: Path) -> DictConfig:
    """Compose conf/<name>.yaml as the command would, with the Hydra runtime (paths resolve) set up."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            name,
            return_hydra_config=True,
            overrides=[
                f"paths.root_dir='{root}'",
                f"paths.output_dir='{run_dir}'",
                f"paths.cache_dir='{cache}'",
                *overrides,
            ],
        )
    HydraConfig().set_config(cfg)
    return cfg


@pytest.fixture
def make_cfg(tmp_path: Path, dataset_cache: Path) -> Callable[..., DictConfig]:
    """Compose conf/train.yaml as `python train.py` would, with TINY settings and a run dir in tmp_path."""

    def make(*overrides: str, run_dir: Path | None = None, drop: tuple[str, ...] = ()) -> DictConfig:
        """`drop`: TINY settings a model lacks (e.g. model.discriminator.width for the AAE)."""
        tiny = [o for o in TINY if o.split("=")[0] not in drop]
        run_dir = run_dir or tmp_path / "run"
        return compose_config("train", [*tiny, *overrides], tmp_path, run_dir, dataset_cache)

    yield make
    GlobalHydra.instance().clear()


@pytest.fixture
def make_eval_cfg(tmp_path: Path, dataset_cache: Path) -> Callable[..., DictConfig]:
    """Compose conf/evaluate.yaml as `python evaluate.py` would, writing to a run dir in tmp_path."""

    def make(*overrides: str, run_dir: Path | None = None) -> DictConfig:
        overrides = ["device=cpu", *overrides]
        return compose_config("evaluate", overrides, tmp_path, run_dir or tmp_path / "eval", dataset_cache)

    yield make
    GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def classifier_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A domain classifier trained for two epochs on the embedded digits, through the real train().

    Its run's checkpoint is `<tmp>/run/checkpoints/last.ckpt` (see `classifier_checkpoint`)."""
    from ganlab.train import train

    tmp = tmp_path_factory.mktemp("classifier")
    overrides = [
        "model=classifier", "trainer.accelerator=cpu", "trainer.max_epochs=2",
        "trainer.limit_train_batches=1.0", "callbacks.progress_bar=null", "callbacks.model_summary=null",
    ]  # fmt: skip
    train(compose_config("train", overrides, tmp, tmp / "run", tmp / "cache"))
    GlobalHydra.instance().clear()
    path = tmp / "cache" / "domain" / "mnist_mini-28px.pt"
    assert path.is_file()  # exported where metrics=domain looks
    return path


def classifier_checkpoint(classifier_file: Path) -> Path:
    return classifier_file.parents[2] / "run" / "checkpoints" / "last.ckpt"


def write_image(path: Path, array: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)  # mode from the shape: (H, W) L, (H, W, 3) RGB, (H, W, 4) RGBA
    return path


class RandomInception(FeatureExtractorInceptionV3):
    """torch-fidelity's InceptionV3, left at PyTorch's random initialisation (given an empty state dict)."""

    def load_state_dict(self, state_dict, strict=True, assign=False):
        return super().load_state_dict(state_dict or self.state_dict(), strict, assign)


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inception")
    torch.save({}, folder / "empty.pth")
    torch.manual_seed(0)
    net = RandomInception(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(folder / "empty.pth")
    )
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative average over the calibration batch
    net.train()
    with torch.no_grad():
        net(torch.randint(0, 256, (6, 3, 64, 64), dtype=torch.uint8))
    torch.save(net.state_dict(), folder / "random-inception.pth")
    return folder / "random-inception.pth"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project root's commands and configs (the package itself is installed): where a test runs
    a README command exactly as a user types it, outputs and caches landing inside the copy."""
    return copy_project(tmp_path / "project")


# The pages whose commands are promises: the README and every page of docs/.
DOC_PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]


def page_commands(page: Path) -> list[str]:
    """The commands of a page's ```bash blocks, in order, without their `  # comments`, split at `&&`."""
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S)
    lines = (line.split("  #")[0] for block in blocks for line in block.splitlines())
    return [command.strip() for line in lines for command in line.split("&&") if command.strip()]


def copy_project(copy: Path) -> Path:
    copy.mkdir(exist_ok=True)
    for name in ("train.py", "evaluate.py"):
        shutil.copy2(PROJECT / name, copy / name)
    shutil.copytree(PROJECT / "conf", copy / "conf")
    return copy


def run_command(command: str, cwd: Path, *budget: str, env: dict | None = None, timeout: int = 600):
    """`command` as typed (e.g. "python train.py -m model.lr=1e-4,2e-4") plus only `budget` overrides, run
    in `cwd` with this interpreter; `env` adds to the environment (a None value unsets one)."""
    args = shlex.split(command)
    assert args[0] == "python", command
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run(
        [sys.executable, *args[1:], *budget],
        cwd=cwd,
        env={name: value for name, value in env.items() if value is not None},  # None: unset
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread for each worker (pyproject's addopts: a worker a core) and for every run, in-process
    or a command a test starts (GANLAB_THREADS, conf/train.yaml's `threads`): a run's thread count then never
    follows what the other worker runs, so runs compared bit for bit (resumes) stay comparable, and nothing
    oversubscribes the cores."""
    torch.set_num_threads(1)
    os.environ["GANLAB_THREADS"] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`subprocess`: the tests that run the commands in their own processes (a copy of the project, a
    real sweep, real signals), most of the suite's time; `slow` marks the longest in-process ones.
    `python -m pytest -m "not subprocess and not slow"` checks the core in about two minutes; the README's
    `python -m pytest` (and CI) runs everything."""
    spawning = ("run_command(", "run_train(", "subprocess.", "resume(", "run_readme_sweep(")
    for item in items:
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        fixtures = set(getattr(item, "fixturenames", ())) & {"project", "user_folder"}
        if fixtures or any(call in source for call in spawning):
            item.add_marker(pytest.mark.subprocess)
