"""Multiruns as a user types them: real Hydra sweeps in subprocesses from a copy of the project, faults
included (a failing job, a diverging one, kill -9), read back through their results and summaries."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from conftest import BUDGET, DOC_PAGES, SMALL, compose_config, page_commands, run_command
from hydra.core.global_hydra import GlobalHydra
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

from ganlab.callbacks.core_share import cores
from ganlab.train import train

# Smaller networks where a test is not a README command.
TINY = (*SMALL, "model.num_fixed_samples=8")
METRICS_BUDGET = ("metrics.num_samples=32", "metrics.is_splits=2", "metrics.kid_subsets=2")


def readme_commands() -> set[str]:
    """The `python ...` commands of README.md and docs/*.md."""
    return {command for page in DOC_PAGES for command in page_commands(page) if command.startswith("python ")}


def the_sweep(project: Path) -> Path:
    """The one multirun folder a command made (no hydra.sweep.dir given: it finds its own)."""
    sweeps = list((project / "outputs" / "train" / "multiruns").iterdir())
    assert len(sweeps) == 1, sweeps
    return sweeps[0]


def run_readme_sweep(command: str, project: Path, *budget: str, env: dict | None = None):
    """A sweep command of the README, as typed plus `budget`: it succeeds; its output and its one folder."""
    assert command in readme_commands()
    result = run_command(command, project, *budget, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, the_sweep(project)


def kill_when(args: list[str], cwd: Path, env: dict, pattern: str, after_s: float = 0.0) -> None:
    """Start a command in its own process group and kill -9 all of it once `pattern` exists under cwd."""
    process = subprocess.Popen(args, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while not list(cwd.glob(pattern)):
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(after_s)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def results(sweep: Path) -> dict[str, dict]:
    """job folder name -> its results.json"""
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/results.json")}


def summary_rows(sweep: Path, name: str = "summary.csv") -> list[dict[str, str]]:
    with (sweep / name).open() as f:
        return list(csv.DictReader(f))


def finite_checkpoint(path: Path) -> bool:
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    return all(v.isfinite().all() for v in state.values() if v.is_floating_point())


def test_readme_sweep_as_typed_ends_with_table_heatmap_and_contact_sheet(project: Path) -> None:
    command = "python train.py -m model.lr=1e-4,2e-4 model.beta1=0.3,0.5"
    result, sweep = run_readme_sweep(command, project, *BUDGET)
    found = results(sweep)
    assert len(found) == 4 and {r["status"] for r in found.values()} == {"completed"}
    # readable run names side by side in TensorBoard, that paste into a command as they are (no '=' or ',')
    assert sorted(name.split("_", 1)[1].split("_trainer.")[0] for name in found) == [
        "model.beta1-0.3_model.lr-0.0001", "model.beta1-0.3_model.lr-0.0002",
        "model.beta1-0.5_model.lr-0.0001", "model.beta1-0.5_model.lr-0.0002",
    ]  # fmt: skip
    settings = set()
    for name in found:
        checkpoint = torch.load(sweep / name / "checkpoints" / "last.ckpt", weights_only=True)
        settings.add((checkpoint["hyper_parameters"]["lr"], checkpoint["hyper_parameters"]["beta1"]))
    assert settings == {(1e-4, 0.3), (1e-4, 0.5), (2e-4, 0.3), (2e-4, 0.5)}

    rows = summary_rows(sweep)
    assert [r["status"] for r in rows] == ["completed"] * 4
    # Without metrics there is no optimized_metric: ranked by each run's final train/g_loss, lowest first.
    losses = [float(r["train/g_loss"]) for r in rows]
    assert losses == sorted(losses)
    by_job = {str(r["job_num"]): r["final"]["train/g_loss"] for r in found.values()}
    assert {r["job"]: float(r["train/g_loss"]) for r in rows} == pytest.approx(by_job)
    assert "ranked by train/g_loss" in result.stdout  # the table in the terminal
    markdown = (sweep / "summary.md").read_text()
    assert "| model.lr | model.beta1 |" in markdown and "![heatmap](summary_heatmap.png)" in markdown
    for picture in ("summary_heatmap.png", "summary_contact_sheet.png"):
        with Image.open(sweep / picture) as image:
            assert image.width > 300 and image.height > 200


def test_readme_seed_sweep_gives_mean_and_std_per_configuration(project: Path) -> None:
    command = "python train.py -m seed=1,2 model.lr=1e-4,2e-4"
    _, sweep = run_readme_sweep(command, project, *BUDGET)
    found = list(results(sweep).values())
    rows = summary_rows(sweep, "summary_seeds.csv")
    assert sorted(r["model.lr"] for r in rows) == ["0.0001", "0.0002"]
    for row in rows:
        lr = f"model.lr={float(row['model.lr']):g}"
        losses = [r["final"]["train/g_loss"] for r in found if lr in r["overrides"]]
        assert row["seeds"] == row["completed"] == "2" and len(losses) == 2
        assert float(row["train/g_loss mean"]) == pytest.approx(statistics.fmean(losses))
        assert float(row["train/g_loss std"]) == pytest.approx(statistics.stdev(losses))  # n - 1 (ddof=1)
    assert not (sweep / "summary_heatmap.png").exists()  # one swept number besides the seed: no grid


def test_readme_local_parallel_sweep_runs_through_submitit(project: Path) -> None:
    """Two processes side by side; on the CPU they divide its cores (long enough to meet: 100 batches)."""
    command = "python train.py -m hydra/launcher=local_parallel model.lr=1e-4,2e-4"
    _, sweep = run_readme_sweep(
        command, project, "trainer.max_epochs=1", "trainer.limit_train_batches=100",
        env={"GANLAB_THREADS": None},  # the tests' fixed thread (conftest) off: the jobs share the cores
    )  # fmt: skip
    assert [r["status"] for r in results(sweep).values()] == ["completed"] * 2
    assert len([p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]) == 2  # two processes
    assert (sweep / "summary.md").is_file() and len(summary_rows(sweep)) == 2
    if cores() >= 2:
        shared = f"{cores() // 2} torch threads: {cores()} cores shared by 2 ganlab runs"
        for job in sorted(p for p in sweep.iterdir() if p.name[0].isdigit()):
            assert shared in (job / "train.log").read_text(), job.name


def test_a_failing_and_a_diverging_job_do_not_stop_the_sweep(project: Path) -> None:
    """lr=-1: Adam refuses it (an exception); lr=1000: finite losses that blow up past model.max_loss in the
    first steps (no NaN: the guard's bound catches it); lr=2e-4 completes. All three run; the command exits
    1, the summary ranks the completed job first, then the diverged one, then the failed one."""
    result = run_command(
        "python train.py -m model.lr=2e-4,1000,-1", project, "trainer.max_epochs=3",
        "trainer.limit_train_batches=3", "callbacks.model_checkpoint.every_n_epochs=1", *TINY,
    )  # fmt: skip
    assert result.returncode == 1
    sweep = the_sweep(project)
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: 1 of 3 jobs failed: 2 (failed); see {sweep / 'summary.md'}"
    )
    rows = summary_rows(sweep)
    assert [(r["model.lr"], r["status"]) for r in rows] == [
        ("0.0002", "completed"), ("1000.0", "diverged"), ("-1.0", "failed"),
    ]  # fmt: skip
    found = {r["job_num"]: r for r in results(sweep).values()}
    assert "model.lr=-1 is out of range" in found[2]["error"]
    blown = r"diverged at step \d+ \(epoch 0\): train/[dg]_loss is [\d.e+]+, beyond model.max_loss=100000; "
    error = found[1]["error"]
    assert re.match(blown + r"lower the learning rate \(model.lr=1000 now", error), error
    assert f"job 1 stopped: {found[1]['error']}" in result.stdout  # one line in the log, then the next job
    diverged = next(sweep.glob("1_*"))
    assert not list((diverged / "checkpoints").glob("*.ckpt"))  # nothing saved after the bad step


def test_an_unknown_sweep_key_fails_before_any_job(project: Path) -> None:
    result = run_command("python train.py -m model.lrr=1e-4,2e-4", project, *BUDGET)
    assert result.returncode == 1
    assert "Key 'lrr' is not in struct" in result.stderr and "Traceback" not in result.stderr
    assert not list((project / "outputs").glob("train/multiruns/*/0_*"))


@pytest.fixture
def torch_home(tmp_path: Path, inception_weights: Path) -> dict[str, str]:
    """A torch.hub cache holding torch-fidelity's Inception file (random weights with the real architecture),
    as a user's cache holds it after the first online run."""
    checkpoints = tmp_path / "torch_home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / Path(URL_INCEPTION_V3).name).symlink_to(inception_weights)
    return {"TORCH_HOME": str(tmp_path / "torch_home")}


def test_readme_optuna_search_as_typed(project: Path, torch_home: dict[str, str]) -> None:
    command = "python train.py -m hparams_search=dcgan_optuna"
    budget = ("hydra.sweeper.n_trials=2", *BUDGET, *METRICS_BUDGET)
    _, sweep = run_readme_sweep(command, project, *budget, env=torch_home)
    fids = []
    for name, found in results(sweep).items():
        events = EventAccumulator(str(sweep / name / "tensorboard"))
        events.Reload()
        fid = min(e.value for e in events.Scalars("val/fid"))
        assert found["status"] == "completed" and found["best"]["val/fid"]["value"] == pytest.approx(fid)
        fids.append(fid)
    assert len(fids) == 2
    optimum = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert optimum["best_value"] == pytest.approx(min(fids))  # Optuna saw each trial's best FID
    assert float(summary_rows(sweep)[0]["val/fid"]) == pytest.approx(min(fids))  # the summary ranks by it
    assert set(optimum["best_params"]) == {
        "model.lr_g", "model.lr_d", "model.beta1", "model.label_smoothing", "data.batch_size",
    }  # fmt: skip


def test_optuna_records_diverged_trials_as_failed_and_goes_on(project: Path, classifier_file: Path) -> None:
    """Trials drawing lr_d=1e30 diverge at their first step; the study records them and completes."""
    result = run_command(
        "python train.py -m hparams_search=dcgan_optuna metrics=domain model.lr_d=choice(0.0002,1e30)",
        project, f"metrics.classifier={classifier_file}", "hydra.sweeper.n_trials=4",
        "hydra.sweeper.sampler.n_startup_trials=4", *BUDGET, *TINY, *METRICS_BUDGET,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = the_sweep(project)
    statuses = {r["job"]: (float(r["model.lr_d"]), r["status"]) for r in summary_rows(sweep)}
    assert len(statuses) == 4 and {s for _, s in statuses.values()} == {"completed", "diverged"}
    for job, (lr_d, status) in statuses.items():
        assert status == ("diverged" if lr_d > 1 else "completed")
        if status == "diverged":
            assert f"Failed experiment: job {job} diverged: diverged at step 1" in result.stdout
    optimum = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert optimum["best_params"]["model.lr_d"] == 0.0002
    assert optimum["best_value"] == pytest.approx(float(summary_rows(sweep)[0]["val/fid"]))


def test_readme_optuna_study_with_storage_resumes_after_kill(
    project: Path, torch_home: dict[str, str]
) -> None:
    """Killed during its first trial and run again, the study goes on in its folder, runs the cut-off trial
    again and completes n_trials."""
    command = "python train.py -m hparams_search=dcgan_optuna hydra.sweeper.storage=sqlite:///optuna.db"
    assert command in readme_commands()
    budget = ["hydra.sweeper.n_trials=2", *BUDGET, *METRICS_BUDGET]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **torch_home}
    args = [sys.executable, *command.split()[1:], *budget]
    # Inside trial 0: starting a Trainer alone takes longer than a poll.
    kill_when(args, project, env, "outputs/train/multiruns/*/0_*/.hydra")
    again, sweep = run_readme_sweep(command, project, *budget, env=torch_home)
    assert "1 cut off and re-queued, 2 to run" in again.stdout  # and went on in its first folder
    found = {r["job_num"]: r for r in results(sweep).values()}
    assert sorted(found) == [0, 1, 2]
    assert found[0]["status"] == "interrupted" and "run again as job 1" in found[0]["error"]
    study = optuna.load_study(study_name="dcgan", storage=f"sqlite:///{project / 'optuna.db'}")
    trials = {t.number: t for t in study.trials}
    assert trials[0].state == optuna.trial.TrialState.FAIL
    assert trials[1].params == trials[0].params  # the cut-off trial ran again
    for number in (1, 2):
        assert trials[number].state == optuna.trial.TrialState.COMPLETE
        assert trials[number].value == pytest.approx(found[number]["best"]["val/fid"]["value"])
    assert trials[2].params != trials[0].params  # a new draw, not the first session's replayed


def test_a_sweep_killed_mid_job_resumes_that_job_exactly(project: Path, dataset_cache: Path) -> None:
    overrides = [
        "model.lr=1e-4", "trainer.max_epochs=3", "trainer.limit_train_batches=100",
        "callbacks.model_checkpoint.every_n_epochs=1", "callbacks.progress_bar=null", *TINY,
    ]  # fmt: skip
    sweep = [sys.executable, "train.py", "-m", "model.lr=1e-4,2e-4", *overrides[1:]]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "GANLAB_CACHE_DIR": str(dataset_cache)}
    # 0.3 s after the first epoch's checkpoint: past the epoch-end saves, inside the second epoch
    kill_when(sweep, project, env, "outputs/train/multiruns/*/0_*/checkpoints/epoch_000.ckpt", after_s=0.3)
    job = next(the_sweep(project).glob("0_*"))
    assert not (job / "results.json").exists()  # killed: no results, so `ganlab.summary` says so
    last = job / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] < 3

    # Sweep job folders hold "=" and ",": quoted, as on a shell command line.
    resumed = run_command(
        "python train.py", project, *overrides, f"ckpt_path='{last}'", f"hydra.run.dir='{job}'", env=env
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    straight = compose_config("train", overrides, project, project / "straight", dataset_cache)
    train(straight)
    GlobalHydra.instance().clear()
    expected = torch.load(project / "straight" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    got = torch.load(last, weights_only=True)["state_dict"]
    for key, value in expected.items():
        assert torch.equal(value, got[key]), key
    assert json.loads((job / "results.json").read_text())["status"] == "completed"


def test_runs_started_in_the_same_second_get_their_own_folders(project: Path) -> None:
    """Folders for the next minute exist already, so two runs started together collide for sure."""
    runs = project / "outputs" / "train" / "runs"
    now = datetime.now()
    for second in range(60):
        (runs / (now + timedelta(seconds=second)).strftime("%Y-%m-%d_%H-%M-%S")).mkdir(parents=True)
    assert "python train.py" in readme_commands()
    command = [sys.executable, "train.py", *BUDGET]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    both = [subprocess.Popen(command, cwd=project, env=env, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    assert [p.wait(timeout=300) for p in both] == [0, 0], [p.stderr.read()[-2000:] for p in both]
    used = sorted(p.parent.name for p in runs.glob("*/results.json"))
    assert len(used) == 2 and all(re.fullmatch(r".*_\d{2}-\d{2}-\d{2}_[23]", name) for name in used), used


def test_summary_of_a_half_finished_sweep(make_cfg, tmp_path: Path) -> None:
    """`python -m ganlab.summary` on a folder where one job has no results (running, or killed)."""
    sweep = tmp_path / "sweep"
    for num, lr in enumerate(("1e-4", "2e-4", "4e-4")):
        train(make_cfg(f"model.lr={lr}", run_dir=sweep / f"{num}_model.lr={lr}"))
    unfinished = sweep / "2_model.lr=4e-4"
    (unfinished / "results.json").unlink()
    (unfinished / ".hydra").mkdir()
    (unfinished / ".hydra" / "overrides.yaml").write_text("- model.lr=4e-4\n")
    assert "python -m ganlab.summary outputs/train/multiruns/<date>_<time>" in readme_commands()
    result = run_command(f"python -m ganlab.summary {sweep}", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 job(s) have no results file (still running, or killed): 2_model.lr=4e-4" in result.stdout
    rows = summary_rows(sweep)
    assert [(r["job"], r["model.lr"], r["status"]) for r in rows][-1] == ("2", "0.0004", "no result")
    assert {r["status"] for r in rows[:2]} == {"completed"}
    assert "no results file" in (sweep / "summary.md").read_text()
    missing = run_command(f"python -m ganlab.summary {tmp_path / 'nope'}", tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: '{tmp_path}/nope' is not a folder: pass a multirun folder " + (
        "(outputs/train/multiruns/...)"
    )


def test_slurm_launcher_asks_for_the_trainers_devices_and_nodes(tmp_path: Path) -> None:
    overrides = ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2",
                 "hydra.launcher.partition=gpu"]  # fmt: skip
    cfg = compose_config("train", overrides, tmp_path, tmp_path / "run", tmp_path / "cache")
    GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
    assert launcher.partition == "gpu" and launcher.timeout_min > 0 and launcher.mem_gb > 0
