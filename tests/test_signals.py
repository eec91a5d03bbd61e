"""Stop signals, sent to real training processes: SIGTERM (schedulers, `docker stop`) and SIGINT (Ctrl+C)
end the run at the next batch with a checkpoint, one line and exit code 128 + signal; the printed command
resumes it to the weights of a run never stopped."""

from __future__ import annotations

import copy
import json
import os
import random
import shlex
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import ANIME_EXTRAS, copy_project, run_command
from omegaconf import OmegaConf
from test_faults import RUN, TESTS, error_lines, run_train, weights

from ganlab.utils.restore import load_generator


class SignalAt(L.Callback):
    """`times` x signal `signum` to this very process as batch `batch` of epoch `epoch` starts (once: the
    resumed run passes there again only if it resumed before it)."""

    def __init__(self, epoch: int, batch: int, signum: int, times: int = 1, rank: int = 0) -> None:
        self.at, self.signum, self.times, self.rank = (epoch, batch), signum, times, rank

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        sent = Path(trainer.default_root_dir) / "signal_sent"
        here = (trainer.current_epoch, batch_idx) == self.at and trainer.global_rank == self.rank
        if here and not sent.exists():
            sent.touch()
            for _ in range(self.times):
                os.kill(os.getpid(), self.signum)


class SignalAtSetup(L.Callback):
    """SIGTERM as the Trainer sets up: before training, while data and model are being prepared."""

    def setup(self, trainer, pl_module, stage: str) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


def signal_at(batch: int, signum: int, times: int = 1, rank: int = 0) -> list[str]:
    return [
        "+callbacks.signal._target_=test_signals.SignalAt", "+callbacks.signal.epoch=1",
        f"+callbacks.signal.batch={batch}", f"+callbacks.signal.signum={signum}",
        f"+callbacks.signal.times={times}", f"+callbacks.signal.rank={rank}",
    ]  # fmt: skip


def resume(printed: str, project: Path):
    """The resume command exactly as the one line prints it."""
    command = printed.split("; resume with: ")[1]
    args = shlex.split(command)
    return run_command(shlex.join(args), project, env={"PYTHONPATH": str(TESTS)})


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """The weights of the same 3-epoch run, never stopped."""
    project = copy_project(tmp_path_factory.mktemp("straight"))
    done = run_train(project, project / "straight")
    assert done.returncode == 0, done.stderr[-3000:]
    return weights(project / "straight" / "checkpoints" / "last.ckpt")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGUSR1])
def test_a_stop_signal_saves_at_the_next_batch_and_resumes_exactly(project: Path, straight, signum) -> None:
    batch = random.Random().randrange(6)  # a random batch of epoch 1 (of 0, 1, 2; 6 batches each)
    run = project / "run"
    stopped = run_train(project, run, *signal_at(batch, signum))
    assert stopped.returncode == 128 + signum, stopped.stderr[-3000:]
    last = run / "checkpoints" / "last.ckpt"
    step = 12 + 2 * (batch + 1)  # that batch finished (2 optimizer steps a batch), nothing more
    [line] = error_lines(stopped.stderr)
    stop = f"interrupted: stopped by {signum.name} at step {step}, checkpoint {last}; resume with: "
    assert line.startswith(stop + "python train.py "), line
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == step
    results = json.loads((run / "results.json").read_text())
    assert (results["status"], results["signal"]) == ("interrupted", signum.name)
    assert results["global_step"] == step
    assert results["checkpoint"] == str(last) and line.endswith(results["resume"])

    resumed = resume(line, project)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = weights(last)
    assert got.keys() == straight.keys()
    for key, value in straight.items():
        assert torch.equal(value, got[key]), (signum.name, batch, key)
    assert json.loads((run / "results.json").read_text())["status"] == "completed"


def test_a_second_ctrl_c_stops_at_once_with_the_last_good_checkpoint(project: Path, straight) -> None:
    run = project / "run"
    stopped = run_train(project, run, *signal_at(3, signal.SIGINT, times=2))  # last.ckpt every 4 steps
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    last = run / "checkpoints" / "last.ckpt"
    [line] = error_lines(stopped.stderr)
    assert line.startswith(f"interrupted: stopped at once by SIGINT at step 18, checkpoint {last}; "), line
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 16  # the periodic one
    resumed = resume(line, project)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = weights(last)
    for key, value in straight.items():
        assert torch.equal(value, got[key]), key


def test_standing_statistics_are_saved_at_a_stop_signal_and_the_resumed_run_ends_as_one_never_stopped(
    project: Path,
) -> None:
    """The anime recipe's standing statistics and DiffAugment: the checkpoint a SIGTERM writes mid-epoch
    carries statistics of its own weights (evaluate.py samples it as the grids would), and refreshing them
    there, or at the periodic checkpoints, changes nothing the run goes on to train; the augmentation's
    draws resume where they stopped."""
    done = run_train(project, project / "straight", *ANIME_EXTRAS)
    assert done.returncode == 0, done.stderr[-3000:]
    run = project / "run"
    stopped = run_train(project, run, *ANIME_EXTRAS, *signal_at(2, signal.SIGTERM))
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    last = run / "checkpoints" / "last.ckpt"
    model, _ = load_generator(OmegaConf.create({"ckpt_path": str(last), "device": "cpu"}))
    saved = copy.deepcopy(model.state_dict())
    model.refresh_statistics()
    assert all(torch.allclose(saved[k], v, atol=1e-5) for k, v in model.state_dict().items())
    [line] = error_lines(stopped.stderr)
    resumed = resume(line, project)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = weights(last)
    for key, value in weights(project / "straight" / "checkpoints" / "last.ckpt").items():
        assert torch.equal(value, got[key]), key


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failed_resume_changes_nothing_and_a_resume_keeps_every_attempt(project: Path) -> None:
    run = project / "run"
    stopped = run_train(project, run, *signal_at(2, signal.SIGTERM))
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    [line] = error_lines(stopped.stderr)
    last = run / "checkpoints" / "last.ckpt"
    broken = run / "checkpoints" / "broken.ckpt"  # a copy cut short, as a full disk or a kill leaves one
    broken.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    before = snapshot(run)

    failed = resume(line.replace(str(last), str(broken)), project)
    assert failed.returncode == 1
    assert error_lines(failed.stderr) == [
        f"error: ckpt_path '{broken}' could not be read as a checkpoint (RuntimeError): it is truncated or "
        "not a ganlab checkpoint; pass a last.ckpt or epoch_NNN.ckpt that train.py wrote"
    ]
    assert snapshot(run) == before  # not a byte changed: results, configs, checkpoints, logs

    resumed = resume(line, project)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "completed" and results["global_step"] == 36
    [earlier] = results["attempts"]
    assert (earlier["record"], earlier["status"]) == ("attempts/1", "interrupted")
    assert earlier["signal"] == "SIGTERM"
    kept = snapshot(run / "attempts" / "1")
    assert kept == {name: before[name] for name in kept}  # the first attempt's record, byte for byte
    assert set(kept) == {"results.json", ".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml"}


def test_a_signal_before_training_stops_at_once_and_says_there_is_no_checkpoint(project: Path) -> None:
    run = project / "run"
    stopped = run_train(project, run, "+callbacks.signal._target_=test_signals.SignalAtSetup")
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    assert error_lines(stopped.stderr) == [
        "interrupted: stopped at once by SIGTERM at step 0, before any checkpoint: start it again (into a "
        "new run folder)"
    ]
    results = json.loads((run / "results.json").read_text())
    assert (results["status"], results["signal"], results["resume"]) == ("interrupted", "SIGTERM", None)


def test_a_signal_to_one_ddp_process_stops_both_at_the_same_batch_with_one_checkpoint(project: Path) -> None:
    """Two CPU processes (gloo); SIGTERM reaches rank 1 only, the one that writes nothing."""
    run = project / "run"
    ddp = ["trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu"]
    stopped = run_train(project, run, *ddp, *signal_at(2, signal.SIGTERM, rank=1))
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    last = run / "checkpoints" / "last.ckpt"
    said = ("interrupted", "error", "Traceback")  # besides Lightning's lines on setting up DDP
    lines = [line for line in error_lines(stopped.stderr) if line.startswith(said)]
    assert len(lines) == 1, stopped.stderr[-3000:]  # rank 0's: one line for the run
    line = lines[0]
    assert line.startswith(f"interrupted: stopped by SIGTERM at step 18, checkpoint {last}; resume"), line
    assert [p.name for p in last.parent.iterdir()] == ["last.ckpt"]
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 18
    resumed = resume(line, project)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 36


def test_a_signal_during_a_sweep_stops_the_sweep_with_the_jobs_resume_command(project: Path) -> None:
    stopped = run_command(
        "python train.py -m model.lr=1e-4,2e-4", project, *RUN, *signal_at(2, signal.SIGTERM),
        env={"PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    [sweep] = (project / "outputs" / "train" / "multiruns").iterdir()
    [job] = [p for p in sweep.iterdir() if p.name[0].isdigit()]  # the second job never started
    last = job / "checkpoints" / "last.ckpt"
    [line] = error_lines(stopped.stderr)
    assert line.startswith(f"interrupted: stopped by SIGTERM at step 18, checkpoint {last}; resume"), line
    # Hydra's form of the job's overrides; the job's folder as it is (its name holds no '=' or ',')
    assert " model.lr=0.0001 " in line and line.endswith(f" hydra.run.dir={job}"), line
    assert "=" not in job.name and "," not in job.name, job.name
    resumed = resume(line, project)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    results = json.loads((job / "results.json").read_text())
    assert (results["status"], results["global_step"], results["attempts"][0]["signal"]) == (
        "completed", 36, "SIGTERM"
    )
