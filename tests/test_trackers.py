"""docs/trackers.md's commands as typed, read back with each tracker's own reader, offline: W&B's offline
run files, MLflow's client on the local store, Aim's Repo, the CSV file; a kill -9 and resume continues the
same runs; a sweep's jobs are runs of one group; a missing package, an unreachable or refusing W&B server."""

from __future__ import annotations

import csv
import json
import signal
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tomllib
import torch
from aim.storage.context import Context
from conftest import BUDGET, DOC_PAGES, PROJECT, page_commands, run_command
from test_faults import RUN, TESTS, error_lines
from test_sweeps import readme_commands, the_sweep
from tracker_readers import aim_run, mlflow_client, wandb_runs

from ganlab.train import train
from ganlab.utils.errors import GanlabError

LOGGED = (*BUDGET, "trainer.log_every_n_steps=1")  # two batches, each one logged
NO_SERVER = {"WANDB_BASE_URL": "http://127.0.0.1:9", "WANDB_API_KEY": None, "WANDB_MODE": None}
OFFLINE = {"WANDB_MODE": "offline", "WANDB_API_KEY": None}


def documented(command: str) -> str:
    assert command in readme_commands(), command
    return command


def only_run(project: Path) -> Path:
    runs = list((project / "outputs" / "train" / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def trackers_of(run: Path) -> dict[str, dict]:
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "completed", results["error"]
    saved = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["ganlab_trackers"] == results["trackers"]  # a checkpoint names the runs it was logged to
    return {run["kind"]: run for run in results["trackers"]}


def test_the_extras_install_each_trackers_package() -> None:
    assert 'pip install -e ".[wandb,mlflow,aim]"' in {c for page in DOC_PAGES for c in page_commands(page)}
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra, package in (("wandb", "wandb"), ("mlflow", "mlflow"), ("aim", "aim")):
        assert any(r.startswith(package) for r in extras[extra])
        assert extra in extras["dev"][0]  # CI installs and tests them
    from aim.pytorch_lightning import AimLogger  # noqa: F401
    from lightning.pytorch.loggers import MLFlowLogger, WandbLogger  # noqa: F401


def test_many_loggers_get_scalars_grids_settings_and_config(project: Path) -> None:
    """W&B's server unreachable (a closed port): the run logs offline and says so in one line."""
    result = run_command(documented("python train.py logger=many"), project, *LOGGED, env=NO_SERVER)
    assert result.returncode == 0, result.stderr[-3000:]
    unreachable = [line for line in (result.stdout + result.stderr).splitlines() if "is unreachable" in line]
    assert len(unreachable) == 1 and "wandb sync" in unreachable[0], result.stdout[-3000:]
    run = only_run(project)
    trackers = trackers_of(run)
    assert list(trackers) == ["tensorboard", "csv", "wandb", "mlflow"]
    name = f"train/runs/{run.name}"

    [wandb] = wandb_runs(run)
    assert (wandb["id"], wandb["name"]) == (trackers["wandb"]["id"], name)
    assert wandb["config"]["model"]["lr"] > 0 and "params/total" in wandb["config"]
    assert [row["trainer/global_step"] for row in wandb["history"] if "train/d_loss" in row] == [0, 1]
    assert any("samples/fixed_noise/filenames" in row for row in wandb["history"])
    files = wandb["dir"] / "files"
    assert (files / "config.yaml").read_text() == (run / ".hydra" / "config.yaml").read_text()
    assert list((files / "media" / "images" / "samples").glob("fixed_noise_*.png"))

    client = mlflow_client(project / "outputs")
    mlflow = client.get_run(trackers["mlflow"]["id"])
    assert (mlflow.info.status, mlflow.info.run_name) == ("FINISHED", name)
    assert float(mlflow.data.params["model/lr"]) > 0
    assert [m.step for m in client.get_metric_history(mlflow.info.run_id, "train/d_loss")] == [0, 1]
    artifacts = {a.path for a in client.list_artifacts(mlflow.info.run_id)}
    assert artifacts == {"config.yaml", "images"}
    images = [a.path for a in client.list_artifacts(mlflow.info.run_id, "images")]
    assert any(p.startswith("images/samples~fixed_noise+step+2+") and p.endswith(".png") for p in images)

    with open(run / "csv" / "metrics.csv") as rows:
        assert len([row["train/d_loss"] for row in csv.DictReader(rows) if row["train/d_loss"]]) == 2


def test_aim_and_a_list_of_loggers(project: Path) -> None:
    aim, listed = ThreadPoolExecutor(2).map(
        lambda command: run_command(documented(command), project, *LOGGED),
        ["python train.py logger=aim", 'python train.py "logger=[tensorboard,mlflow]"'],
    )
    assert aim.returncode == 0, aim.stderr[-3000:]
    assert listed.returncode == 0, listed.stderr[-3000:]
    by_kinds = {tuple(trackers_of(run)): run for run in (project / "outputs" / "train" / "runs").iterdir()}
    assert set(by_kinds) == {("aim",), ("tensorboard", "mlflow")}
    assert {p.name for p in by_kinds["tensorboard", "mlflow"].iterdir()} >= {"tensorboard"}
    assert not (by_kinds["tensorboard", "mlflow"] / "csv").exists()

    run = aim_run(project / "outputs", trackers_of(by_kinds["aim",])["aim"]["id"])
    assert run.name == f"train/runs/{by_kinds['aim',].name}" and run.experiment == "ganlab"
    losses = next(m for m in run.metrics() if m.name == "train/d_loss")
    assert len(losses.values.values_list()) == 2
    lr = run["hparams"]["model"]["lr"]
    assert lr > 0 and run["config"]["model"]["lr"] == lr

    images = run.get_image_sequence("samples/fixed_noise", Context({}))
    assert images is not None and images.values.values_list()


def test_a_sweeps_jobs_are_tracked_runs_of_one_group(project: Path) -> None:
    command = documented("python train.py -m logger=many model.lr=1e-4,2e-4")
    result = run_command(command, project, *LOGGED, env=OFFLINE)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = the_sweep(project)
    group = f"train/multiruns/{sweep.name}"
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 2
    client = mlflow_client(project / "outputs")
    ids = set()
    for job in jobs:
        trackers = trackers_of(job)
        [wandb] = wandb_runs(job)
        assert (wandb["id"], wandb["group"]) == (trackers["wandb"]["id"], group)
        assert wandb["exited"]  # finished before the next job started
        mlflow = client.get_run(trackers["mlflow"]["id"])
        assert (mlflow.data.tags["sweep"], mlflow.info.status) == (group, "FINISHED")
        assert float(mlflow.data.params["model/lr"]) == float(job.name.split("model.lr-")[1].split("_")[0])
        ids |= {trackers["wandb"]["id"], trackers["mlflow"]["id"]}
    assert len(ids) == 4


def test_a_killed_run_resumes_into_the_same_tracked_runs(project: Path) -> None:
    run = project / "outputs" / "killed"
    common = [*RUN, "logger=[csv,wandb,mlflow,aim]", "trainer.log_every_n_steps=1", f"hydra.run.dir={run}"]
    env = {**OFFLINE, "PYTHONPATH": str(TESTS)}
    kill = ["+callbacks.kill._target_=test_faults.KillAt", "+callbacks.kill.epoch=1"]
    kill.append("+callbacks.kill.batch=3")
    killed = run_command("python train.py", project, *common, *kill, env=env)  # after batch 9 of 18
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    last = run / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=True)
    first = {r["kind"]: r for r in saved["ganlab_trackers"]}
    client = mlflow_client(project / "outputs")
    assert client.get_run(first["mlflow"]["id"]).info.status == "RUNNING"  # killed: nobody closed it

    resumed = run_command("python train.py", project, *common, f"ckpt_path={last}", env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    trackers = trackers_of(run)
    ids = {kind: run.get("id") for kind, run in first.items()}
    assert {kind: run.get("id") for kind, run in trackers.items()} == ids
    batches = saved["global_step"] // 2  # two optimizer steps a batch
    [_, second] = wandb_runs(run)  # the first attempt's offline records died with it (kill -9)
    steps = [row["trainer/global_step"] for row in second["history"] if "train/d_loss" in row]
    assert second["id"] == first["wandb"]["id"] and steps == list(range(batches, 18))

    [only] = client.search_runs([first["mlflow"]["experiment_id"]])
    assert (only.info.run_id, only.info.status) == (first["mlflow"]["id"], "FINISHED")
    history = [m.step for m in client.get_metric_history(only.info.run_id, "train/d_loss")]
    assert history[-(18 - batches) :] == list(range(batches, 18)) and len(history) > 18 - batches

    aim = aim_run(project / "outputs", first["aim"]["id"])
    losses = next(m for m in aim.metrics() if m.name == "train/d_loss")
    assert len(losses.values.values_list()) > 18 - batches  # both attempts, in one run
    with open(run / "csv" / "metrics.csv") as rows:
        assert [int(r["step"]) for r in csv.DictReader(rows) if r["train/d_loss"]][-1] == 17


def test_a_missing_trackers_package_is_one_line_naming_its_extra(make_cfg, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # what `import wandb` does where it is not installed
    cfg = make_cfg("logger=wandb")
    line = r'^logger=wandb needs the wandb package.*pip install -e "\.\[wandb\]"'
    with pytest.raises(GanlabError, match=line):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "wandb").exists()


def test_a_wandb_server_refusing_the_run_is_one_line_before_training(project: Path, tmp_path: Path) -> None:
    """A reachable server, no API key (a fresh HOME): W&B refuses the run; said in ganlab's line."""
    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: [server.accept() for _ in range(8)], daemon=True).start()
    env = {"WANDB_BASE_URL": f"http://127.0.0.1:{server.getsockname()[1]}", "HOME": str(tmp_path),
           "WANDB_API_KEY": None, "WANDB_MODE": None}  # fmt: skip
    result = run_command("python train.py logger=wandb", project, *LOGGED, env=env)
    server.close()
    assert result.returncode == 1, result.stderr[-3000:]
    [line] = [line for line in error_lines(result.stderr) if not line.startswith("wandb:")]
    assert line.startswith("error: logger=wandb: ") and "wandb login" in line and "WANDB_MODE=offline" in line
    results = json.loads((only_run(project) / "results.json").read_text())
    assert results["status"] == "failed" and results["global_step"] == 0


def test_a_stop_signal_closes_the_tracked_runs_and_the_resume_reopens_them(project: Path) -> None:
    """SIGTERM (a scheduler's): MLflow's run KILLED, W&B's finished with its records; the printed resume
    command continues both, and they end FINISHED."""
    run = project / "outputs" / "stopped"
    signal_at = ["+callbacks.signal._target_=test_signals.SignalAt", "+callbacks.signal.epoch=1",
                 "+callbacks.signal.batch=2", f"+callbacks.signal.signum={int(signal.SIGTERM)}"]  # fmt: skip
    env = {**OFFLINE, "PYTHONPATH": str(TESTS)}
    common = [*RUN, "logger=[wandb,mlflow]", "trainer.log_every_n_steps=1", f"hydra.run.dir={run}"]
    stopped = run_command("python train.py", project, *common, *signal_at, env=env)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-3000:]
    [line] = [line for line in error_lines(stopped.stderr) if not line.startswith("wandb:")]
    assert line.startswith("interrupted: stopped by SIGTERM at step 18"), line
    first = {r["kind"]: r for r in json.loads((run / "results.json").read_text())["trackers"]}
    client = mlflow_client(project / "outputs")
    assert client.get_run(first["mlflow"]["id"]).info.status == "KILLED"
    [killed] = wandb_runs(run)
    assert killed["exited"] and killed["id"] == first["wandb"]["id"]
    logged = [row["trainer/global_step"] for row in killed["history"] if "train/d_loss" in row]
    assert logged and max(logged) < 9  # 9 batches trained and saved (step 18)

    resumed = run_command(line.split("; resume with: ")[1], project, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {k: r.get("id") for k, r in trackers_of(run).items()} == {k: r.get("id") for k, r in first.items()}
    assert client.get_run(first["mlflow"]["id"]).info.status == "FINISHED"
    [_, again] = wandb_runs(run)
    steps = [row["trainer/global_step"] for row in again["history"] if "train/d_loss" in row]
    assert steps == list(range(9, 18))  # after the checkpoint's, none twice


def test_a_diverged_run_is_failed_in_its_tracker(make_cfg) -> None:
    cfg = make_cfg("logger=mlflow", "model.lr=1000", "trainer.max_epochs=3")
    with pytest.raises(GanlabError, match="diverged at step"):
        train(cfg)
    [tracked] = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())["trackers"]
    run = mlflow_client(Path(cfg.paths.log_dir)).get_run(tracked["id"])
    assert run.info.status == "FAILED" and float(run.data.params["model/lr"]) == 1000


def test_a_requeued_slurm_job_reopens_the_runs_of_its_newest_hpc_checkpoint(tmp_path: Path) -> None:
    """Lightning restores hpc_ckpt_<n>.ckpt by itself in a requeued job (no ckpt_path): its runs reopen."""
    from ganlab.trackers import resumed_runs

    assert resumed_runs(None, tmp_path) == []
    for number in (2, 10):
        saved = {"ganlab_trackers": [{"kind": "wandb", "id": f"run{number}"}]}
        torch.save(saved, tmp_path / f"hpc_ckpt_{number}.ckpt")
    (tmp_path / "hpc_ckpt_x.ckpt").write_text("not Lightning's")
    assert resumed_runs(None, tmp_path) == [{"kind": "wandb", "id": "run10"}]
    assert resumed_runs({"ganlab_trackers": [{"kind": "mlflow", "id": "a"}]}, tmp_path)[0]["id"] == "a"
