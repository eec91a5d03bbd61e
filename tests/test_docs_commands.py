"""The commands of docs/metrics.md, evaluate.md, models.md, results.md and sweeps.md, as typed: `...`,
`<run>` and `/path/...` filled in as a user fills them in, a budget only where they train. Independent
commands run two at a time (each waits on its imports half the time); ganlab divides the cores between them.
Commands that need what this machine lacks (a GPU, SLURM) are run too: they must end in one line."""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tomllib
import torch
from conftest import BUDGET, DOC_PAGES, PROJECT, page_commands, run_command, shared
from test_faults import error_lines
from test_sweeps import METRICS_BUDGET, readme_commands, results, the_sweep, torch_home  # noqa: F401

SCORED = (*BUDGET, *METRICS_BUDGET)


def as_typed(command: str, project: Path, *budget: str, env: dict | None = None, **fill: str):
    """A documented command with its placeholders filled in, plus `budget`: the finished process."""
    assert command in readme_commands(), command
    for placeholder, value in fill.items():
        command = command.replace(placeholder, value)
    return run_command(command, project, *budget, env=env)


def both(*calls):
    """Run two or more as_typed calls (argument tuples) two at a time; their processes, in order."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda args: as_typed(*args[0], **args[1]), calls))


def call(command: str, project: Path, *budget: str, env: dict | None = None, **fill: str):
    return (command, project, *budget), {"env": env, **fill}


def run_folder(result) -> Path:
    """The folder a training run's closing line names (it must have one: the run completed)."""
    assert result.returncode == 0, result.stderr[-3000:]
    return Path(re.findall(r"done: (\S+) ", result.stdout)[-1])


def fashion_data(project: Path) -> None:
    """Fashion-MNIST's IDX files where `data=fashion_mnist` looks (./data/fashion-mnist)."""
    (project / "data").mkdir(exist_ok=True)
    os.symlink(shared("fashion-mnist"), project / "data" / "fashion-mnist")


def test_the_domain_metrics_chain_and_every_evaluate_command(project: Path, torch_home, tmp_path) -> None:  # noqa: F811
    """metrics.md's classifier, then a run scored with it; evaluate.md's commands on that run."""
    fashion_data(project)
    classifier = as_typed("python train.py model=classifier data=fashion_mnist", project, *BUDGET)
    run_folder(classifier)
    assert (project / ".cache/ganlab/domain/fashion_mnist-28px.pt").is_file()  # where domain looks
    run = run_folder(as_typed("python train.py data=fashion_mnist metrics=domain", project, *SCORED))
    assert json.loads((run / "results.json").read_text())["status"] == "completed"
    checkpoint = {"ckpt_path=...": f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"}

    domain, saved = both(
        call("python evaluate.py ckpt_path=... metrics=domain real_split=test metrics.num_samples=10000",
             project, *METRICS_BUDGET, **checkpoint),
        call("python evaluate.py ckpt_path=... save_images=true", project, *METRICS_BUDGET, env=torch_home,
             **checkpoint),
    )  # fmt: skip
    for result in (domain, saved):
        assert result.returncode == 0, result.stderr[-3000:]
    scored = [json.loads(p.read_text()) for p in project.glob("outputs/evaluate/runs/*/metrics.json")]
    extractors = {s["fid"]["feature_extractor"] for s in scored}
    assert len(scored) == 2 and len(extractors) == 2, extractors  # the classifier's features, Inception's
    images = sorted(project.glob("outputs/evaluate/runs/*/images/*.png"))
    assert len(images) == 32  # metrics.num_samples of the budget: the pixels that were scored

    moved = tmp_path / "moved" / "data"
    moved.parent.mkdir()
    (project / "data" / "fashion-mnist").rename(moved)  # the run's data.root is gone
    real = tmp_path / "real"
    shutil.copytree(images[0].parent, real)
    moved_run, folders = both(
        call("python evaluate.py ckpt_path=... +data.root=/moved/data", project, *METRICS_BUDGET,
             env=torch_home, **checkpoint, **{"/moved/data": str(moved)}),
        call("python evaluate.py real_dir=path/to/real fake_dir=path/to/generated", project, env=torch_home,
             **{"path/to/real": str(real), "path/to/generated": str(images[0].parent)}),
    )  # fmt: skip
    for result in (moved_run, folders):
        assert result.returncode == 0, result.stderr[-3000:]
    [report] = re.findall(r"(\S+/metrics\.json)", folders.stdout)  # the folder-vs-folder run's own
    assert abs(json.loads(Path(report).read_text())["fid"]["value"]) < 1e-3  # a set against itself

    interpolated, shifted = both(
        call("python evaluate.py ckpt_path=... task=interpolate interpolate.method=slerp", project,
             **checkpoint),
        call("python evaluate.py ckpt_path=... task=latent_shift latent_shift.std=0.4 "
             "'latent_shift.means=[-1,-0.5,0,0.5,0.8]'", project, **checkpoint),
    )  # fmt: skip
    for result in (interpolated, shifted):
        assert result.returncode == 0, result.stderr[-3000:]
    assert list(project.glob("outputs/evaluate/runs/*/interpolate_slerp.png"))
    assert list(project.glob("outputs/evaluate/runs/*/latent_shift_means.png"))


def test_the_inception_runs_a_warm_start_and_the_models_page(project: Path, torch_home, tmp_path) -> None:  # noqa: F811
    """metrics.md's TF-Inception runs (weights from torch's cache, then from a path: the same numbers),
    models.md's stage two from the first of them, and its cgan / aae / dae commands."""
    weights = tmp_path / "path" / "weights-inception-2015-12-05-6726825d.pth"
    weights.parent.mkdir()
    weights.symlink_to(next(Path(torch_home["TORCH_HOME"]).rglob("*.pth")).resolve())
    both_runs = both(
        call("python train.py metrics=inception", project, *SCORED, env=torch_home),
        call("python train.py metrics=inception "
             "metrics.inception_weights=/path/weights-inception-2015-12-05-6726825d.pth", project, *SCORED,
             **{"/path": str(weights.parent)}),
    )  # fmt: skip
    fids = [json.loads((run_folder(r) / "results.json").read_text())["final"]["val/fid"] for r in both_runs]
    cached = both_runs[0]
    assert fids[0] == pytest.approx(fids[1], rel=1e-4)  # one weights file, found two ways

    fashion_data(project)
    commands = [
        "python train.py init_from=<run>/checkpoints/last.ckpt model.lr=5e-5 "
        "model.discriminator.leaky_slope=0.1",
        "python train.py model=cgan data=fashion_mnist",
        "python train.py model=cgan model.conditioning=projection",
        "python train.py model=aae data=fashion_mnist",
        "python train.py model=dae model.noise_factor=0.25",
    ]
    finished = both(*(call(c, project, *BUDGET, **{"<run>": str(run_folder(cached))}) for c in commands))
    for command, result in zip(commands, finished, strict=True):
        assert json.loads((run_folder(result) / "results.json").read_text())["status"] == "completed", command
    assert "weights from" in finished[0].stdout  # stage two starts from the first run's weights


def test_the_results_page_sweep(project: Path, classifier_file: Path) -> None:
    """results.md's 12-job sweep under metrics=domain (the digits' classifier where `model=classifier`
    leaves it): every job completes and the summary ranks all twelve."""
    domain = project / ".cache" / "ganlab" / "domain"
    domain.mkdir(parents=True)
    shutil.copy2(classifier_file, domain / "mnist_mini-28px.pt")
    command = "python train.py -m model.lr=1e-4,2e-4,4e-4,8e-4 model.beta1=0.3,0.5,0.9 metrics=domain"
    result = as_typed(command, project, *SCORED)
    assert result.returncode == 0, result.stderr[-3000:]
    found = results(the_sweep(project))
    assert len(found) == 12 and {r["status"] for r in found.values()} == {"completed"}
    summary = (the_sweep(project) / "summary.md").read_text()
    assert summary.count("| completed") == 12
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert sum("completed" in row for row in rows) == 12  # piped, the table keeps one line a job (no folds)


def test_what_this_machine_lacks_is_one_line(project: Path) -> None:
    """A GPU run without a GPU and a SLURM sweep without SLURM: one line, exit code 1, no folder. Four CPU
    processes stand in for trainer=ddp's four GPUs (DDP over gloo)."""
    commands = {
        "python train.py trainer=gpu": "error: trainer.accelerator=gpu but torch sees no GPU here",
        "python train.py -m hydra/launcher=slurm hydra.launcher.partition=gpu trainer=gpu "
        "model.lr=1e-4,2e-4,4e-4": "error: hydra/launcher=slurm submits each job to SLURM",
        "python train.py -m hydra/launcher=slurm hydra.launcher.partition=gpu trainer=ddp trainer.devices=4 "
        "trainer.num_nodes=2": "error: hydra/launcher=slurm submits each job to SLURM",
    }
    if shutil.which("sbatch") or torch.cuda.is_available():
        pytest.skip("this machine has SLURM or a GPU: the refusals are not what it does")
    refused = both(*(call(c, project, *BUDGET) for c in commands))
    for (command, line), result in zip(commands.items(), refused, strict=True):
        assert result.returncode == 1, (command, result.stderr[-2000:])
        [error] = error_lines(result.stderr)
        assert error.startswith(line), (command, error)
    assert not list(project.glob("outputs/train/multiruns/*"))  # the sweeps stopped before any job
    ddp = as_typed("python train.py trainer=ddp trainer.devices=4", project, *BUDGET)
    assert json.loads((run_folder(ddp) / "results.json").read_text())["status"] == "completed"


def test_the_submitit_extra_installs_the_launcher() -> None:
    """`pip install -e ".[submitit]"` (sweeps.md): the extra exists and names Hydra's submitit launcher,
    which CI installs through the dev extra, so hydra/launcher=slurm and local_parallel resolve."""
    assert 'pip install -e ".[submitit]"' in {c for page in DOC_PAGES for c in page_commands(page)}
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(r.startswith("hydra-submitit-launcher") for r in extras["submitit"])
    assert "submitit" in extras["dev"][0].removeprefix("ganlab[").rstrip("]").split(",")
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher  # noqa: F401

