"""Scaling out: metrics under DDP (two CPU processes, gloo) equal one process's on the same samples; the
real-statistics cache under racing writers; the fast paths (bf16-mixed, compile, channels_last)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import run_command
from test_sweeps import readme_commands

from ganlab.data import MnistMiniDataModule
from ganlab.evaluate import evaluate
from ganlab.metrics.evaluation import generated_batches
from ganlab.models import GAN

DDP_COMMAND = "python train.py trainer=ddp trainer.devices=2 metrics=domain"
# An odd count in batches that do not divide it: shares of 38 and 37, batches of 16, 16, 6 and 16, 16, 5.
METRIC_BUDGET = ["metrics.num_samples=75", "metrics.batch_size=16", "metrics.is_splits=3",
                 "metrics.kid_subsets=5", "metrics.kid_subset_size=32"]  # fmt: skip
SCORES = ("fid", "is", "kid", "precision", "recall", "density", "coverage")


def test_ddp_metrics_equal_one_process_on_the_same_samples(
    project: Path, classifier_file: Path, make_eval_cfg, tmp_path: Path
) -> None:
    """Each of two processes generates and scores its share; the logged numbers are those of evaluate.py
    (one process) on the same checkpoint, noise seed and real subset, computed from scratch."""
    assert DDP_COMMAND in readme_commands()
    target = project / ".cache/ganlab/domain/mnist_mini-28px.pt"  # where `train.py model=classifier` saves
    target.parent.mkdir(parents=True)
    shutil.copy2(classifier_file, target)
    result = run_command(
        DDP_COMMAND, project, "trainer.max_epochs=1", "trainer.limit_train_batches=2", *METRIC_BUDGET
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (project / "outputs/train/runs").iterdir()
    # rank 0 alone writes summaries, grids, checkpoints, the cache and logs
    assert [p.name for p in (run / "samples").iterdir()] == ["fixed_noise_epoch_000.png"]
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1
    output = result.stdout + result.stderr
    assert output.count("model: ganlab.models.GAN") == 1 and output.count("on 75 samples") == 1
    assert len(list((project / ".cache/ganlab/metrics").glob("real-stats-*.pt"))) == 1
    logged = json.loads((run / "results.json").read_text())["final"]

    single = evaluate(make_eval_cfg(
        f"ckpt_path={run / 'checkpoints/last.ckpt'}", "metrics=domain",
        f"metrics.classifier={classifier_file}", *METRIC_BUDGET, "real_split=train",
        f"metrics.cache_dir={tmp_path / 'fresh'}",
    ))  # fmt: skip
    assert single["fid"]["n_fake"] == single["fid"]["n_real"] == 75
    assert single["fid"]["value"] > 1  # an untrained generator: far from the digits
    for name in SCORES:
        assert logged[f"val/{name}"] == pytest.approx(single[name]["value"], rel=1e-4, abs=1e-6), name


RACER = """
import sys
from pathlib import Path
import torch
from ganlab.data import MnistMiniDataModule
from ganlab.metrics import DomainFeatures, GenerativeScores
from ganlab.metrics.evaluation import _read_real_state, add_real_images, write_real_state
classifier, cache, path = sys.argv[1], sys.argv[2], Path(sys.argv[3])
scores = GenerativeScores(DomainFeatures(classifier))
add_real_images(scores, MnistMiniDataModule(cache_dir=cache).real_images(), 2000, 0, 500, path)
for turn in range(300):  # read what the other wrote, write it again: each reads while the other writes
    if _read_real_state(path, torch.device("cpu"), 2000) is None:
        sys.exit(f"turn {turn}: a torn file")
    write_real_state(scores, path)
"""


def test_two_processes_racing_on_the_real_statistics_cache(
    classifier_file: Path, dataset_cache: Path, tmp_path: Path
) -> None:
    """Two sweep jobs building the same statistics file at once, then reading and rewriting it 300 times
    each: neither ever reads a torn file (which a plain torch.save to the path gives within a few turns),
    and a whole file is left."""
    from ganlab.metrics import DomainFeatures, GenerativeScores
    from ganlab.metrics.evaluation import _read_real_state, add_real_images

    path = tmp_path / "stats.pt"
    args = [sys.executable, "-c", RACER, str(classifier_file), str(dataset_cache), str(path)]
    racers = [subprocess.Popen(args, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [racer.communicate(timeout=300)[1] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], errors
    assert not any("unusable" in e for e in errors), errors
    assert [p.name for p in tmp_path.iterdir()] == ["stats.pt"]  # no temporary file left behind
    state = _read_real_state(path, torch.device("cpu"), 2000)
    fresh = GenerativeScores(DomainFeatures(classifier_file))
    add_real_images(fresh, MnistMiniDataModule(cache_dir=dataset_cache).real_images(), 2000, 0, 500)
    assert state is not None and torch.equal(state["kid_features"], fresh.real_state()["kid_features"])


FAST_COMMAND = "python train.py trainer.precision=bf16-mixed model.compile=true model.channels_last=true"


def test_fast_paths_command_trains(project: Path) -> None:
    assert FAST_COMMAND in readme_commands()
    result = run_command(FAST_COMMAND, project, "trainer.max_epochs=1", "trainer.limit_train_batches=4")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (project / "outputs/train/runs").iterdir()
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "completed" and results["global_step"] == 8
    assert all(abs(results["final"][name]) < 100 for name in ("train/d_loss", "train/g_loss"))


class Losses(L.Callback):
    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        metrics = trainer.callback_metrics
        self.seen.append((float(metrics["train/d_loss"]), float(metrics["train/g_loss"])))


def first_losses(
    dataset_cache: Path, precision: str = "32-true", **fast: bool
) -> tuple[list[tuple[float, float]], GAN]:
    """D and G losses of the first three batches of a small DCGAN on the digits, from the same seed."""
    L.seed_everything(0, verbose=False)
    model = GAN(
        image_size=28,
        channels=1,
        generator={"_target_": "ganlab.nets.DCGANGenerator", "width": 16},
        discriminator={"_target_": "ganlab.nets.DCGANDiscriminator", "width": 16},
        **fast,
    )
    losses = Losses()
    trainer = L.Trainer(
        accelerator="cpu", precision=precision, max_epochs=1, limit_train_batches=3, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[losses],
    )  # fmt: skip
    trainer.fit(model, MnistMiniDataModule(batch_size=32, cache_dir=dataset_cache))
    return losses.seen, model


@pytest.mark.parametrize(
    ("switch", "tolerance"),
    [({"precision": "bf16-mixed"}, 5e-2), ({"compile": True}, 1e-4), ({"channels_last": True}, 1e-4)],
    ids=["bf16-mixed", "compile", "channels_last"],
)
def test_fast_paths_train_as_the_plain_loop_does(dataset_cache: Path, switch: dict, tolerance: float) -> None:
    """Each switch trains batches whose losses are the plain float32 run's, to its float tolerance
    (bfloat16 keeps 8 bits of mantissa)."""
    plain, _ = first_losses(dataset_cache)
    fast, model = first_losses(dataset_cache, **switch)
    assert len(fast) == 3 and all(torch.isfinite(torch.tensor(fast)).flatten())
    torch.testing.assert_close(torch.tensor(fast), torch.tensor(plain), rtol=tolerance, atol=0)
    # checkpoints stay interchangeable: the same parameter names
    assert (
        model.state_dict().keys()
        == GAN(
            image_size=28,
            channels=1,
            generator={"_target_": "ganlab.nets.DCGANGenerator", "width": 16},
            discriminator={"_target_": "ganlab.nets.DCGANDiscriminator", "width": 16},
        )
        .state_dict()
        .keys()
    )
    conv = model.discriminator.get_submodule("body.2").weight
    assert conv.is_contiguous(memory_format=torch.channels_last) == ("channels_last" in switch)
    if "precision" not in switch:
        return
    model = GAN(
        image_size=28,
        channels=1,
        generator={"_target_": "ganlab.nets.DCGANGenerator", "width": 16},
        discriminator={"_target_": "ganlab.nets.DCGANDiscriminator", "width": 16},
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as inside a bf16-mixed training step
        inside = next(generated_batches(model, 16, 16, seed=0))
    assert torch.equal(inside, next(generated_batches(model, 16, 16, seed=0)))  # metrics sample in float32
