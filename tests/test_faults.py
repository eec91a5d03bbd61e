"""Nothing lost: killed runs resume exactly, run folders and caches are guarded, every image mode decodes,
and every bad value is one line."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import signal
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from conftest import TINY, classifier_checkpoint, run_command, write_image

from ganlab.data import ImageFolderDataModule, sources
from ganlab.train import train
from ganlab.utils.errors import GanlabError

TESTS = Path(__file__).resolve().parent
# 3 epochs of 6 batches; last.ckpt every 2 batches (a GAN batch is 2 optimizer steps) and at epoch ends.
RUN = [*[o for o in TINY if not o.startswith(("trainer.max_epochs", "trainer.limit_train_batches"))],
       "trainer.max_epochs=3", "trainer.limit_train_batches=6", "callbacks.progress_bar=null",
       "callbacks.last_checkpoint.every_n_train_steps=4", "data.flip=true"]  # fmt: skip


class KillAt(L.Callback):
    """kill -9 of this very process after batch `batch` of epoch `epoch` has trained (before any
    checkpoint of that batch is written): what the OOM killer or a pre-emption does."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch = epoch, batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            os.kill(os.getpid(), signal.SIGKILL)


class KillWhileSaving:
    """Put into a checkpoint, it kills the process when torch.save reaches it: mid-write, after the
    weights' bytes have gone to the file."""

    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGKILL)


class KillDuringSave(L.Callback):
    def __init__(self, save: int) -> None:
        self.save, self.saves = save, 0

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        self.saves += 1
        if self.saves == self.save:
            checkpoint["zz_kill"] = KillWhileSaving()


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def error_lines(stderr: str) -> list[str]:
    """stderr without the log lines (time-stamped, or Lightning's seed line) before an error."""
    return [line for line in stderr.strip().splitlines() if not line.startswith(("[", "Seed set"))]


def run_train(project: Path, run_dir: Path, *extra: str):
    return run_command(
        "python train.py", project, *RUN, f"hydra.run.dir='{run_dir}'", *extra,
        env={"PYTHONPATH": str(TESTS)},
    )  # fmt: skip


def test_a_run_killed_anywhere_in_an_epoch_resumes_exactly(project: Path) -> None:
    straight = run_train(project, project / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    batch = random.Random().randrange(6)  # a random point of epoch 1 (of 0, 1, 2)
    killed = run_train(
        project, project / "killed", "+callbacks.kill._target_=test_faults.KillAt",
        "+callbacks.kill.epoch=1", f"+callbacks.kill.batch={batch}",
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    last = project / "killed" / "checkpoints" / "last.ckpt"
    saved_step = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    assert 12 + 2 * (batch - 1) <= saved_step <= 12 + 2 * batch, (batch, saved_step)  # lost < 2 batches
    resumed = run_train(project, project / "killed", f"ckpt_path='{last}'")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected = weights(project / "straight" / "checkpoints" / "last.ckpt")
    got = weights(last)
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert torch.equal(value, got[key]), (batch, key)


def test_a_kill_in_the_middle_of_a_save_leaves_the_previous_checkpoint_whole(project: Path) -> None:
    kill = ["+callbacks.kill._target_=test_faults.KillDuringSave", "+callbacks.kill.save=3"]
    killed = run_train(project, project / "run", *kill)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    checkpoints = project / "run" / "checkpoints"
    stray = [p for p in checkpoints.iterdir() if p.name != "last.ckpt"]
    assert len(stray) == 1 and stray[0].name.startswith(".last.ckpt.")  # the cut-off new one
    last = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["global_step"] == 8  # the second save (4 and 8 steps), whole
    resumed = run_train(project, project / "run", f"ckpt_path='{checkpoints / 'last.ckpt'}'")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"] == 36
    assert [p.name for p in checkpoints.iterdir()] == ["last.ckpt"]  # the stray file cleared away


# --- run directories ----------------------------------------------------------------------------------
def test_a_second_run_into_a_used_directory_is_refused_in_one_line(project: Path) -> None:
    first = run_train(project, project / "shared", "trainer.max_epochs=1")
    assert first.returncode == 0, first.stderr[-3000:]
    config = (project / "shared" / ".hydra" / "config.yaml").read_text()
    results = (project / "shared" / "results.json").read_text()
    second = run_train(project, project / "shared", "model.lr=1e-3")
    assert second.returncode == 1
    assert error_lines(second.stderr) == [
        f"error: run directory '{project / 'shared'}' was used by an earlier run: pass a new hydra.run.dir "
        f"(or none), or resume that run with ckpt_path={project / 'shared'}/checkpoints/last.ckpt"
    ]
    assert (project / "shared" / ".hydra" / "config.yaml").read_text() == config  # the first run's, kept
    assert (project / "shared" / "results.json").read_text() == results
    assert [p.name for p in (project / "shared" / "checkpoints").iterdir()] == ["last.ckpt"]


def test_an_unwritable_checkpoint_folder_is_found_before_training(project: Path) -> None:
    blocker = project / "a_file"
    blocker.write_text("a file where a folder should be: mkdir fails as on a read-only disk")
    result = run_train(project, project / "run", f"callbacks.last_checkpoint.dirpath='{blocker}/checkpoints'")
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"error: cannot write to '{blocker}/checkpoints' (Not a directory): point "
        "callbacks.last_checkpoint.dirpath at a writable folder (or fix its permissions / free space)"
    ]
    assert not (project / "run" / "tensorboard").exists()  # no training started


# --- bad values: one line each, exit code 1, nothing else printed -------------------------------------
# As typed on the command line: one line each, exit code 1, nothing else printed.
BAD_VALUES = {
    "model.lr=abc": "error: model.lr='abc' is not a number: pass model.lr=<a number>",
    "model.lr=-1e-3": "error: model.lr=-0.001 is out of range: pass a positive learning rate, e.g. 0.0002",
    "data=image_folder": "error: data.root is not set: pass data.root=<folder>",
    "data.channels=2": "error: data.channels=2 is not supported: use 1 (grayscale) or 3 (RGB)",
    "data.image_size=48": "error: data.image_size=48 is not supported by the DCGAN and ResNet networks: use "
    "4*2^k or 7*2^k pixels (28, 32, 64, 128, ...)",
    # the settings it lists come from GAN's signature: any list that names lr will do
    "+model.lr_typo=1": re.compile(
        r"error: model\.lr_typo is not a setting of GAN: known are (\w+, )+lr, [\w, ]+"
    ),
    "model.generator._target_=nolab.nets.G": "error: model.generator._target_='nolab.nets.G' cannot be "
    "imported (ModuleNotFoundError: No module named 'nolab'): put its package on PYTHONPATH (or install it) "
    "and check the name",
    # The default run's recipe tunes DCGAN's G: another G on the default data is told where the key came from
    "model/generator=resnet": re.compile(
        r"error: model\.generator\.dense_first is not a setting of ResNetGenerator: known are [\w, ]+ "
        r"\(another component: model/generator=<option>\); conf/data_model/mnist_mini_dcgan\.yaml may have "
        "set it for other networks: drop it with ~data_model"
    ),
}
# The same checks, through train() (the command prints these messages as above, after "error: ").
MORE_BAD_VALUES = {
    "model.beta1=2": "model.beta1=2 is out of range: pass a value in [0, 1), e.g. 0.5",
    "model.max_loss=0": "model.max_loss=0 is out of range: pass a positive bound on a loss's size, e.g. 1e5, "
    "or null",
    "threads=0": "threads=0 is out of range: pass a whole number of threads (1 or more) or null",
    "data.batch_size=0": "data.batch_size=0 is out of range: pass a positive whole number, e.g. 64",
    "data.flip=maybe": "data.flip='maybe' is not true or false: pass data.flip=<true or false>",
    "trainer.max_epochs=-5": "trainer.max_epochs=-5 is out of range: pass -1 (no limit) or a number of "
    "epochs",
    "model.loss=foo": "model.loss='foo' is not known: use one of ns, hinge, lsgan, wgan_gp, relativistic, or "
    "a _target_ node (model.loss._target_=<your AdversarialLoss class>)",
    "model.discriminator.norm=group": "model.discriminator.norm='group' is not known: use batch, layer, none",
    "model.augment=[flip]": "model.augment: 'flip' is not known; use a list of translation, cutout, e.g. "
    "model.augment=[translation,cutout]",
    "model/loss=wgan_gp model.discriminator.norm=layer model.compile=true": "model.compile=true cannot train "
    "WassersteinGPLoss: torch.compile does not differentiate twice (its gradient penalty does); drop one of "
    "them",
    "seed=abc": "seed='abc' is not a whole number: pass seed=<an integer>, e.g. seed=0",
}


def test_every_bad_value_is_one_line_and_exit_code_1(project: Path) -> None:
    def run(override: str):
        return run_command(f"python train.py {override}", project, "callbacks.progress_bar=null")

    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: the commands wait on imports
        results = dict(zip(BAD_VALUES, pool.map(run, BAD_VALUES), strict=True))
    for override, line in BAD_VALUES.items():
        result = results[override]
        assert result.returncode == 1, (override, result.stderr[-2000:])
        [got] = error_lines(result.stderr)
        assert line.fullmatch(got) if isinstance(line, re.Pattern) else got == line, (override, got)
        assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("override", MORE_BAD_VALUES)
def test_more_bad_values_stop_before_training_with_their_line(
    make_cfg, tmp_path: Path, override: str
) -> None:
    with pytest.raises(GanlabError) as err:
        train(make_cfg(*override.split()))
    assert str(err.value) == MORE_BAD_VALUES[override]
    assert not (tmp_path / "run" / "tensorboard").exists()  # stopped before the Trainer


def test_a_file_that_cannot_be_resumed_is_one_line_before_any_work(
    project: Path, classifier_file: Path
) -> None:
    """`train.py ckpt_path=` takes evaluate.py's checks: a text file, a truncated checkpoint and another
    model's checkpoint are one line each, exit code 1, before the run folder or the data are touched."""
    text = project / "notes.txt"
    text.write_text("not a checkpoint\n")
    classifier = classifier_checkpoint(classifier_file)
    truncated = project / "truncated.ckpt"
    truncated.write_bytes(classifier.read_bytes()[: classifier.stat().st_size // 2])
    unreadable = (
        "it is truncated or not a ganlab checkpoint; pass a last.ckpt or epoch_NNN.ckpt that train.py wrote"
    )
    expected = {
        text: f"error: ckpt_path '{text}' could not be read as a checkpoint (UnpicklingError): {unreadable}",
        truncated: f"error: ckpt_path '{truncated}' could not be read as a checkpoint (RuntimeError): "
        + unreadable,
        classifier: "error: ckpt_path holds a Classifier run but this run builds GAN: choose the model it "
        "was trained with (its run's .hydra/overrides.yaml) or another checkpoint",
    }
    for path, line in expected.items():
        result = run_command(f"python train.py ckpt_path={path}", project)
        assert result.returncode == 1, result.stderr[-2000:]
        assert error_lines(result.stderr) == [line]
    assert not list(project.glob("outputs/**/tensorboard")) and not (project / ".cache").exists()


# --- the dataset cache checks itself -------------------------------------------------------------------
def _cached_folder(tmp_path: Path) -> tuple[ImageFolderDataModule, np.ndarray]:
    rng = np.random.default_rng(0)
    for i in range(6):
        write_image(tmp_path / "images" / f"{i}.png", rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    dm = ImageFolderDataModule(root=tmp_path / "images", image_size=16, cache_dir=tmp_path / "cache")
    dm.prepare_data()
    dm.setup()
    return dm, np.array(dm.real_images())


@pytest.mark.parametrize("damage", ["truncated", "empty", "same_size_garbage", "deleted"])
def test_a_damaged_cache_file_is_named_and_rebuilt(tmp_path: Path, caplog, damage: str) -> None:
    dm, images = _cached_folder(tmp_path)
    array = dm.cache_paths()["images.npy"]
    size = array.stat().st_size
    if damage == "truncated":
        os.truncate(array, size // 2)
    elif damage == "empty":
        os.truncate(array, 0)
    elif damage == "same_size_garbage":
        array.write_bytes(np.random.default_rng(1).bytes(size))
    else:
        array.unlink()
    fresh = ImageFolderDataModule(root=tmp_path / "images", image_size=16, cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        fresh.prepare_data()
        fresh.setup()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(array) in warnings[0] and "rebuild" in warnings[0], warnings
    assert np.array_equal(np.array(fresh.real_images()), images)
    assert array.stat().st_size == size


# --- every common image mode decodes to what a viewer shows --------------------------------------------
def _png16(path: Path, pixels: np.ndarray) -> None:
    """A 16-bit PNG, gray (H, W) or RGB (H, W, 3), written byte by byte (PIL cannot write 16-bit RGB)."""
    height, width = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    rows = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))  # fmt: skip


def test_every_image_mode_decodes_to_the_expected_pixels(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "modes"
    root.mkdir()
    ramp = np.tile(np.linspace(0, 65535, 16).round().astype(np.uint16), (16, 1))  # dark left, bright right
    _png16(root / "gray16.png", ramp)
    _png16(root / "rgb16.png", np.stack([ramp, 65535 - ramp, np.full_like(ramp, 32896)], -1))
    Image.fromarray(np.full((16, 16, 3), (200, 30, 30), np.uint8)).convert("P").save(root / "palette.png")
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(root / "cmyk.jpg", quality=100)  # red in CMYK
    la = np.zeros((16, 16, 2), np.uint8)  # transparent, except an opaque black centre
    la[4:12, 4:12] = (0, 255)
    Image.fromarray(la, "LA").save(root / "la.png")
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[4:12, 4:12] = (0, 0, 255, 255)
    Image.fromarray(rgba).save(root / "rgba.png")
    tall = np.zeros((16, 8, 3), np.uint8)  # stored 8 wide and 16 tall, top half white; EXIF: rotate 90
    tall[:8] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the stored image is rotated; a viewer turns it 90 degrees clockwise
    Image.fromarray(tall).save(root / "rotated.jpg", exif=exif, quality=100)
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(root / "whole.jpg")
    (root / "truncated.jpg").write_bytes((root / "whole.jpg").read_bytes()[:100])
    (root / "empty.png").write_bytes(b"")

    images, kept, failed = sources.decode_images(sorted(root.iterdir()), 16, 3)
    files = sorted(root.iterdir())
    decoded = {files[index].name: image.astype(int) for image, index in zip(images, kept, strict=True)}
    assert sorted(p.name for p in failed) == ["empty.png", "truncated.jpg"]
    gray = decoded["gray16.png"][0]
    assert gray[:, 0].max() <= 1 and gray[:, -1].min() >= 254 and abs(gray.mean() - 127.5) < 3  # a ramp
    rgb = decoded["rgb16.png"]
    assert rgb[0, :, -1].min() >= 254 and rgb[1, :, -1].max() <= 1 and abs(rgb[2].mean() - 128) <= 1
    assert np.abs(decoded["palette.png"].mean((1, 2)) - (200, 30, 30)).max() < 12
    assert np.abs(decoded["cmyk.jpg"].mean((1, 2)) - (255, 0, 0)).max() < 12
    la_img = decoded["la.png"]
    assert la_img[:, 0, 0].min() == 255 and la_img[:, 8, 8].max() == 0  # white around a black centre
    rgba_img = decoded["rgba.png"]
    assert tuple(rgba_img[:, 0, 0]) == (255, 255, 255) and tuple(rgba_img[:, 8, 8]) == (0, 0, 255)
    upright = decoded["rotated.jpg"].mean(0)  # turned clockwise: the white top half is now the right half
    assert upright[:, 12:].mean() > 240 and upright[:, :4].mean() < 15


# --- SLURM: Lightning's requeue-on-signal with ganlab's checkpoints ------------------------------------
class RequeueSignal(L.Callback):
    """SIGUSR1 as batch `batch` of epoch 1 starts: what SLURM sends before a time limit
    (`--signal=USR1@90`), here between two batches."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        sent = Path(trainer.default_root_dir) / "signal_sent"  # once: the requeued job runs this batch again
        if (trainer.current_epoch, batch_idx) == (1, self.batch) and not sent.exists():
            sent.touch()
            os.kill(os.getpid(), signal.SIGUSR1)


def test_a_slurm_job_requeued_by_lightning_resumes_in_its_directory(project: Path, tmp_path: Path) -> None:
    """SLURM itself is not here: its job variables are set, and `scontrol` is a script that records the
    requeue and ends the job as SLURM does (kill -9). The same command again is the requeued job."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "scontrol_calls"
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {calls}\nkill -9 $PPID\n')
    (bin_dir / "scontrol").chmod(0o755)
    slurm = {
        "SLURM_NTASKS": "1",
        "SLURM_NTASKS_PER_NODE": "1",
        "SLURM_JOB_NAME": "ganlab",
        "SLURM_JOB_ID": "4242",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "SLURM_NODELIST": "node1",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(TESTS),
    }
    requeue = ["+callbacks.requeue._target_=test_faults.RequeueSignal", "+callbacks.requeue.batch=3"]
    # No random flips: they are drawn as a batch is loaded, before the signal, so the requeue checkpoint
    # would hold the RNG after batch 3's draw; between batches otherwise, the resume is exact.
    job = [*RUN, "data.flip=false", f"hydra.run.dir='{project / 'job'}'", *requeue]
    first = run_command("python train.py", project, *job, env=slurm)
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    assert calls.read_text().split() == ["requeue", "4242"]
    assert (project / "job" / "hpc_ckpt_1.ckpt").is_file()
    again = run_command("python train.py", project, *job, env=slurm)
    assert again.returncode == 0, again.stderr[-3000:]
    straight = run_train(project, project / "straight", "data.flip=false")
    assert straight.returncode == 0, straight.stderr[-3000:]
    expected = weights(project / "straight" / "checkpoints" / "last.ckpt")
    got = weights(project / "job" / "checkpoints" / "last.ckpt")
    for key, value in expected.items():
        assert torch.equal(value, got[key]), key


def test_evaluate_refuses_another_image_size_before_decoding_anything(project: Path, tmp_path: Path) -> None:
    trained = run_train(project, project / "gan", "trainer.max_epochs=1")
    assert trained.returncode == 0, trained.stderr[-3000:]
    cache = tmp_path / "cache"
    result = run_command(
        f"python evaluate.py ckpt_path={project / 'gan' / 'checkpoints' / 'last.ckpt'} +data.image_size=64",
        project, f"+data.cache_dir='{cache}'",
    )  # fmt: skip
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        "error: data.image_size=64 does not match the checkpoint's generator, which makes image_size=28: "
        "drop +data.image_size (the real images are compared at the generator's image_size)"
    ]
    assert not cache.exists()  # no image decoded at 64 px


class LastSteps(L.Callback):
    """Notes the global step last.ckpt holds as each batch starts, into `<run>/last_steps.json`."""

    def __init__(self) -> None:
        self.steps: list[int | None] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        last = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
        self.steps.append(torch.load(last, weights_only=True)["global_step"] if last.is_file() else None)

    def on_train_end(self, trainer, pl_module) -> None:
        (Path(trainer.default_root_dir) / "last_steps.json").write_text(json.dumps(self.steps))


def test_every_n_minutes_saves_mid_epoch(make_cfg, tmp_path: Path) -> None:
    """A time interval shorter than a batch: last.ckpt follows every batch (2 optimizer steps each), the
    epoch's last batch left to the epoch-end save."""
    budget = ["trainer.max_epochs=2", "trainer.limit_train_batches=4"]
    recorder = "+callbacks.steps._target_=test_faults.LastSteps"
    train(make_cfg(*budget, "callbacks.last_checkpoint.every_n_minutes=1e-9", recorder))
    steps = json.loads((tmp_path / "run" / "last_steps.json").read_text())
    assert steps == [None, 2, 4, 6, 8, 10, 12, 14]


# --- the real-statistics cache checks itself too --------------------------------------------------------
class _Identity(torch.nn.Module):
    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        flat = images.flatten(1).double()
        return {"pool": flat, "logits": flat[:, :10]}


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other_count"])
def test_a_damaged_real_statistics_cache_is_named_and_rebuilt(tmp_path: Path, caplog, damage: str) -> None:
    from ganlab.metrics import GenerativeScores
    from ganlab.metrics.evaluation import add_real_images

    real = np.random.default_rng(0).integers(0, 256, (40, 1, 4, 4), dtype=np.uint8)

    def scores() -> GenerativeScores:
        return GenerativeScores(_Identity(), feature_dim=16, is_splits=1, kid_subsets=2, kid_subset_size=10)

    fresh = scores()
    add_real_images(fresh, real, 30, 0, 8, tmp_path / "stats.pt")
    whole = (tmp_path / "stats.pt").read_bytes()
    if damage == "truncated":
        (tmp_path / "stats.pt").write_bytes(whole[: len(whole) // 2])
    elif damage == "garbage":
        (tmp_path / "stats.pt").write_bytes(np.random.default_rng(1).bytes(len(whole)))
    else:  # a file of another image count under this name (a hand-copied cache)
        add_real_images(scores(), real, 20, 0, 8, tmp_path / "other.pt")
        (tmp_path / "other.pt").rename(tmp_path / "stats.pt")
    again = scores()
    with caplog.at_level(logging.WARNING):
        add_real_images(again, real, 30, 0, 8, tmp_path / "stats.pt")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(tmp_path / "stats.pt") in warnings[0] and "rebuild" in warnings[0]
    assert torch.equal(again.fid.real_features_sum, fresh.fid.real_features_sum)
    assert again.counts["real"] == 30
    reread = scores()  # the rebuilt file is whole again
    add_real_images(reread, real, 30, 0, 8, tmp_path / "stats.pt")
    assert torch.equal(reread.fid.real_features_sum, fresh.fid.real_features_sum)
