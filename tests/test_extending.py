"""docs/extending.md as written: its files, in a package outside the project (not importable from it), and
its commands as typed. Components from the user's own package train, resume exactly, evaluate and sweep."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BUDGET as TWO_BATCHES
from conftest import PROJECT, QUIET
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

DOC = PROJECT / "docs" / "extending.md"
BUDGET = (*TWO_BATCHES, *QUIET)
METRICS_BUDGET = (
    "metrics.num_samples=16",
    "metrics.is_splits=2",
    "metrics.kid_subsets=2",
    "metrics.kid_subset_size=8",
)


def doc_files() -> dict[str, str]:
    """`path`: followed by a code block, in the page's order: path -> text."""
    text = DOC.read_text()
    return {m[0]: m[1] for m in re.findall(r"^`([^`\n]+)`:\n\n```[a-z]*\n(.*?)```", text, flags=re.S | re.M)}


def doc_commands() -> list[str]:
    text = DOC.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


@pytest.fixture
def user_folder(tmp_path: Path, inception_weights: Path) -> Path:
    """A user's folder: ganlab's commands and configs, and mylab/ written from the page."""
    root = tmp_path / "user"
    root.mkdir()
    for name in ("train.py", "evaluate.py"):
        shutil.copy2(PROJECT / name, root / name)
    shutil.copytree(PROJECT / "conf", root / "conf")
    for path, text in doc_files().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"  # Inception as cached after a first online run
    hub.mkdir(parents=True)
    (hub / Path(URL_INCEPTION_V3).name).symlink_to(inception_weights)
    return root


def run(command: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    """A command of the page as typed (leading VAR=value assignments go to its environment), plus `extra`."""
    words = shlex.split(command)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"PYTHONWARNINGS": "ignore", "TORCH_HOME": str(cwd.parent / "torch_home")}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[0] == "python", command
    return subprocess.run(
        [sys.executable, *words[1:], *extra], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_page_lists_its_files_and_commands() -> None:
    assert set(doc_files()) == {
        "mylab/__init__.py", "mylab/nets.py", "mylab/conf/model/generator/mlp.yaml", "mylab/losses.py",
        "mylab/conf/model/loss/targeted_ls.yaml", "mylab/metrics.py", "mylab/npz.py",
        "mylab/conf/data/npz.yaml",
    }  # fmt: skip
    assert len(doc_commands()) == 8
    assert "| a network (generator, discriminator, encoder) | 1 Python file + 1 YAML |" in DOC.read_text()
    assert "| a loss | 1 Python file + 1 YAML |" in DOC.read_text()
    assert "| a metric | 1 Python file (+ an override to turn it on) |" in DOC.read_text()
    assert "| a dataset | 1 Python file + 1 YAML |" in DOC.read_text()


def test_a_users_generator_trains_resumes_exactly_and_is_scored(user_folder: Path) -> None:
    train, score, *_ = doc_commands()
    result = run(train, user_folder, *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = user_folder / "outputs" / "mlp"
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["ganlab_config"]["model"]["generator"]["_target_"] == "mylab.nets.MLPGenerator"
    assert any(k.startswith("generator.net.") for k in checkpoint["state_dict"])
    assert (run_dir / "samples" / "fixed_noise_epoch_000.png").is_file()

    # Exact resume: one epoch, then a second from last.ckpt, equals two epochs straight.
    straight = run(
        train.replace("outputs/mlp", "outputs/straight"), user_folder, *BUDGET, "trainer.max_epochs=2"
    )
    assert straight.returncode == 0, straight.stderr[-3000:]
    resumed = run(
        train.replace("outputs/mlp", "outputs/resumed"), user_folder, *BUDGET, "trainer.max_epochs=2",
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = (
        torch.load(user_folder / "outputs" / name / "checkpoints" / "last.ckpt", weights_only=True)[
            "state_dict"
        ]
        for name in ("straight", "resumed")
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    scored = run(score, user_folder, *METRICS_BUDGET)
    assert scored.returncode == 0, scored.stderr[-3000:]
    written = sorted((user_folder / "outputs" / "evaluate" / "runs").glob("*/metrics.json"))
    metrics = json.loads(written[-1].read_text())
    assert metrics["fid"]["n_fake"] == 16 and metrics["source"]["model"] == "ganlab.models.GAN"


def test_a_users_loss_trains_with_its_own_parameters(user_folder: Path) -> None:
    command = doc_commands()[2]
    assert "model/loss=targeted_ls" in command
    result = run(command, user_folder, *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(
        user_folder / "outputs" / "targeted_ls" / "checkpoints" / "last.ckpt", weights_only=True
    )
    loss = checkpoint["hyper_parameters"]["loss"]
    assert loss == {
        "_target_": "mylab.losses.TargetedLeastSquares",
        "real": 1.0,
        "fake": -1.0,
        "generated": 0.0,
    }


def test_a_users_metric_is_logged_kept_at_its_best_and_scored(user_folder: Path) -> None:
    """`metrics.extra=[mylab.metrics.sharpness]`: val/sharpness in TensorBoard, results.json (best, higher
    is better: its registration) and metrics.json, with no edit to ganlab."""
    train, score = doc_commands()[3:5]
    result = run(train, user_folder, *BUDGET, *METRICS_BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = user_folder / "outputs" / "sharpness"
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    (logged,) = (e.value for e in events.Scalars("val/sharpness"))
    assert logged > 0 and "val/fid" in events.Tags()["scalars"]  # beside the built-in metrics
    results = json.loads((run_dir / "results.json").read_text())
    assert results["directions"]["val/sharpness"] == "max" and results["directions"]["val/fid"] == "min"
    assert results["best"]["val/sharpness"]["value"] == pytest.approx(logged)

    scored = run(score, user_folder, *METRICS_BUDGET)
    assert scored.returncode == 0, scored.stderr[-3000:]
    (written,) = (user_folder / "outputs" / "evaluate" / "runs").glob("*/metrics.json")
    metrics = json.loads(written.read_text())
    assert metrics["sharpness"]["metric"] == "sharpness" and metrics["sharpness"]["value"] > 0
    assert metrics["fid"]["metrics"] == ["fid", "is", "kid", "prdc", "sharpness"]  # the protocol names them


def test_a_users_dataset_is_cached_and_trained_on(user_folder: Path) -> None:
    make, train = doc_commands()[5:7]
    made = run(make, user_folder)
    assert made.returncode == 0, made.stderr[-3000:]
    result = run(train, user_folder, *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = user_folder / "outputs" / "npz"
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["ganlab_config"]["data"]["_target_"] == "mylab.npz.NpzDataModule"
    (cached,) = (user_folder / ".cache" / "ganlab" / "datasets").glob("npz-28px-1ch-*.images.npy")
    images = np.load(cached, mmap_mode="r")
    assert images.shape == (5000, 1, 28, 28) and images.mean() > 200  # black on white: the inverted digits
    assert (run_dir / "samples" / "fixed_noise_epoch_000.png").is_file()
    missing = run(
        train.replace("inverted.npz", "nowhere.npz").replace("outputs/npz", "outputs/npz2"), user_folder
    )
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == (
        "error: data.path 'nowhere.npz' is not a file: pass data.path=<an .npz file>"
    )


def test_the_users_generator_against_the_built_in_one_under_the_users_metric(user_folder: Path) -> None:
    *_, command = doc_commands()
    assert " -m " in command and "model/generator=dcgan,mlp" in command
    result = run(command, user_folder, *BUDGET, *METRICS_BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (user_folder / "outputs" / "train" / "multiruns").iterdir()
    with (sweep / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {row["model/generator"] for row in rows} == {"dcgan", "mlp"}
    assert all(row["status"] == "completed" and float(row["val/sharpness"]) > 0 for row in rows)
    assert "| val/sharpness |" in (sweep / "summary.md").read_text()


def test_what_cannot_be_built_or_had_is_one_line(user_folder: Path) -> None:
    """A generator that ignores image_size, a shape argument set in its node, a metric that does not import,
    one that is not registered: each refused before training, in one line naming the setting."""
    (user_folder / "mylab" / "fixed.py").write_text(
        "import torch\n\n"
        "class Fixed32(torch.nn.Module):\n"
        "    def __init__(self, latent_dim, channels, image_size, hidden=1):\n"
        "        super().__init__()\n"
        "        self.linear = torch.nn.Linear(latent_dim, 32 * 32)\n\n"
        "    def forward(self, z):\n"
        "        return self.linear(z).view(-1, 1, 32, 32)\n\n"
        "class NoShape(torch.nn.Module):\n"
        "    def __init__(self, latent_dim, hidden=1):\n"
        "        super().__init__()\n"
    )
    network, metric = doc_commands()[0], doc_commands()[3]
    cases = {
        (network, "model.generator._target_=mylab.fixed.Fixed32"): (
            "error: model.generator gives images of shape (2, 1, 32, 32), expected (2, 1, 28, 28): make it "
            "produce data.channels x data.image_size x data.image_size images"
        ),
        (network, "model.generator._target_=mylab.fixed.NoShape"): (
            "error: model.generator: NoShape.__init__() got an unexpected keyword argument 'channels'; the "
            "model passes it latent_dim, channels, image_size (docs/extending.md)"
        ),
        (network, "+model.generator.image_size=32"): (
            "error: model.generator.image_size is passed by the model (from model.latent_dim and the data): "
            "remove it from model.generator"
        ),
        (metric, "metrics.extra=[mylab.metrics.nope]"): (
            "error: metrics.extra: 'mylab.metrics.nope' cannot be imported (AttributeError: module "
            "'mylab.metrics' has no attribute 'nope'): put its package on PYTHONPATH (or install it) and "
            "check the name"
        ),
        (metric, "metrics.extra=[mylab.nets.MLPGenerator]"): (
            "error: metrics.extra: 'mylab.nets.MLPGenerator' is not a function decorated with "
            "@register_metric"
        ),
    }

    def attempt(case: tuple[int, tuple[str, str]]) -> subprocess.CompletedProcess:
        i, (command, override) = case
        command = re.sub(r"hydra.run.dir=\S+", f"hydra.run.dir=outputs/bad{i}", command)
        return run(command, user_folder, *BUDGET, override)

    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: the commands wait on imports
        results = list(pool.map(attempt, enumerate(cases)))
    for i, (result, line) in enumerate(zip(results, cases.values(), strict=True)):
        assert result.returncode == 1, result.stderr[-2000:]
        assert result.stderr.strip().splitlines()[-1] == line
        assert "Traceback" not in result.stderr
        assert not list((user_folder / "outputs" / f"bad{i}").glob("**/*.ckpt"))  # refused before training
