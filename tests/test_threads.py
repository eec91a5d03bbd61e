"""Runs on one machine divide its cores: each sets its torch threads to its share, recounted as others
start and end (real processes, a real registry folder, a real local_parallel sweep)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import run_command
from test_sweeps import results, the_sweep

from ganlab.callbacks import CoreShare
from ganlab.callbacks.core_share import cores
from ganlab.utils.errors import GanlabError


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_run_takes_its_share_and_forgets_ended_runs(tmp_path: Path, restore_threads) -> None:
    if cores() < 2:
        pytest.skip("one core: there is nothing to divide")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # another run, alive
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    registry = tmp_path / "runs"
    registry.mkdir()
    (registry / str(other.pid)).touch()
    (registry / ended.stdout.decode().strip()).touch()  # a run killed before it could sign out
    try:
        with CoreShare(None, registry) as share:
            assert torch.get_num_threads() == cores() // 2
            assert sorted(p.name for p in registry.iterdir()) == sorted([str(other.pid), share.entry.name])
            other.kill()
            other.wait()
            share.rebalance()
            assert torch.get_num_threads() == cores()  # alone again
        assert not share.entry.exists()  # signed out
    finally:
        other.kill()


def test_threads_set_fixes_the_count_and_bad_values_are_one_line(tmp_path: Path, restore_threads) -> None:
    with CoreShare(1, tmp_path / "runs"):
        assert torch.get_num_threads() == 1
    assert not (tmp_path / "runs").exists()  # a fixed count signs in nowhere
    for bad in (0, "many", 1.5):
        with pytest.raises(GanlabError, match=rf"^threads={bad!r} is out of range: pass a whole number"):
            CoreShare(bad)


def test_local_parallel_jobs_on_the_cpu_divide_its_cores(project: Path) -> None:
    if cores() < 2:
        pytest.skip("one core: there is nothing to divide")
    command = "python train.py -m hydra/launcher=local_parallel model.lr=1e-4,2e-4"
    result = run_command(command, project, "trainer.max_epochs=1", "trainer.limit_train_batches=100")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = the_sweep(project)
    assert [r["status"] for r in results(sweep).values()] == ["completed"] * 2
    shared = f"{cores() // 2} torch threads: {cores()} cores shared by 2 ganlab runs"
    for job in sorted(p for p in sweep.iterdir() if p.name[0].isdigit()):
        assert shared in (job / "train.log").read_text(), job.name
