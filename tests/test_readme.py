"""The README's commands as typed: its --help, training on each kind of data, watching, evaluating
and resuming a run, with `<run>` and `/path/to/...` filled in as a user fills them in; and the ratchet
that every command of README.md and docs/*.md appears in a test."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import BUDGET, CONF, DOC_PAGES, PROJECT, page_commands, run_command, shared
from PIL import Image
from test_sweeps import METRICS_BUDGET, readme_commands, torch_home  # noqa: F401 (a fixture)

PAGES = DOC_PAGES
# Pages whose every command one test runs, reading them from the page.
SELF_TESTED = {"extending.md", "architectures.md", "recipes.md"}


def test_every_documented_command_is_in_a_test() -> None:
    """A command in the README or docs is a string some test runs, or CI's script."""
    ci = (PROJECT / ".ci" / "run").read_text().replace("python -m pip", "pip").replace(" --quiet", "")
    strings = set(ci.splitlines())
    for test in (PROJECT / "tests").glob("*.py"):
        nodes = ast.walk(ast.parse(test.read_text()))
        strings |= {n.value.strip() for n in nodes if isinstance(n, ast.Constant) and type(n.value) is str}
    strings |= {command for page in PAGES if page.name in SELF_TESTED for command in page_commands(page)}
    missing = [
        (page.name, command)
        for page in PAGES
        if page.name not in SELF_TESTED
        for command in page_commands(page)
        if command not in strings and f"{command} -q" not in strings
    ]
    assert not missing, missing


def test_help_lists_every_config_group(project: Path) -> None:
    command = "python train.py --help"
    assert command in readme_commands()
    result = run_command(command, project)
    assert result.returncode == 0, result.stderr[-2000:]
    listed = dict(line.split(": ", 1) for line in result.stdout.splitlines() if re.match(r"^[\w/]+: ", line))
    groups = {str(p.parent.relative_to(CONF)) for p in CONF.rglob("*.yaml") if p.parent != CONF}
    groups -= {"hydra", "hydra/help"}
    assert groups <= set(listed), groups - set(listed)
    assert set(listed["model"].split(", ")) >= {"dcgan", "sngan", "cgan", "aae", "dae"}
    assert "Examples:" in result.stdout and len(result.stdout.splitlines()) < 60  # not the whole config
    evaluate = run_command("python evaluate.py --help", project)
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    assert "metrics: inception, domain" in evaluate.stdout


def write_images(folder: Path, count: int, size: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return folder


def train_as_typed(command: str, project: Path, **fill: str) -> dict:
    assert command in readme_commands()
    for placeholder, value in fill.items():
        command = command.replace(placeholder, value)
    result = run_command(command, project, *BUDGET)
    assert result.returncode == 0, (command, result.stderr[-3000:])
    done = re.findall(r"done: (\S+) ", result.stdout)
    return json.loads((project / done[-1] / "results.json").read_text())


def test_the_readme_trains_on_each_kind_of_data(project: Path, tmp_path: Path) -> None:
    """A folder of any images, Fashion-MNIST's IDX files where torchvision leaves them, anime faces."""
    folder = write_images(tmp_path / "any" / "folder", 256, 40)  # two batches of 128
    found = train_as_typed(
        "python train.py data=image_folder data.root=/any/folder data.image_size=32", project,
        **{"/any/folder": str(folder)},
    )  # fmt: skip
    assert found["status"] == "completed"
    (project / "data").mkdir()
    os.symlink(shared("fashion-mnist"), project / "data" / "fashion-mnist")
    assert train_as_typed("python train.py data=fashion_mnist", project)["status"] == "completed"
    faces = tmp_path / "anime" / "images"
    faces.mkdir(parents=True)
    for face in sorted(shared("anime-faces/images").iterdir())[:256]:
        shutil.copy2(face, faces / face.name)
    found = train_as_typed(
        "python train.py model=dcgan data=anime data.root=/path/to/anime/images", project,
        **{"/path/to/anime/images": str(faces)},
    )  # fmt: skip
    assert found["status"] == "completed"


def test_a_run_is_watched_evaluated_and_resumed_as_the_readme_says(project: Path, torch_home) -> None:  # noqa: F811
    trained = run_command("python train.py", project, *BUDGET)
    assert trained.returncode == 0, trained.stderr[-3000:]
    [run] = (project / "outputs" / "train" / "runs").iterdir()
    command = "python evaluate.py ckpt_path=outputs/train/runs/<run>/checkpoints/last.ckpt"
    assert command in readme_commands()
    evaluated = run_command(command.replace("<run>", run.name), project, *METRICS_BUDGET, env=torch_home)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    [scored] = (project / "outputs" / "evaluate" / "runs").glob("*/metrics.json")
    assert "fid" in json.loads(scored.read_text())
    command = (
        "python train.py ckpt_path=outputs/train/runs/<run>/checkpoints/last.ckpt "
        "hydra.run.dir=outputs/train/runs/<run>"
    )
    assert command in readme_commands()
    resumed = run_command(command.replace("<run>", run.name), project, "trainer.max_epochs=2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run / "results.json").read_text())["epochs"] == 2  # carried on in the same folder
    watch = "tensorboard --logdir outputs"
    assert watch in {c for page in PAGES for c in page_commands(page)}
    board = subprocess.Popen(watch.split(), cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        runs, deadline = None, time.time() + 60
        while runs is None and time.time() < deadline and board.poll() is None:
            try:
                with urllib.request.urlopen("http://localhost:6006/data/runs", timeout=2) as answer:
                    runs = json.loads(answer.read())
            except OSError:
                time.sleep(0.5)
        failed = board.poll() is not None
        assert runs is not None, board.stderr.read().decode()[-2000:] if failed else "no answer in 60 s"
        assert any(run.name in name for name in runs), runs
    finally:
        board.kill()
        board.wait()


@pytest.mark.parametrize("page", [p for p in PAGES if p.name not in SELF_TESTED], ids=lambda p: p.name)
def test_each_page_links_to_files_that_exist(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
        if not target.startswith("http"):
            assert (page.parent / target).exists(), (page.name, target)
