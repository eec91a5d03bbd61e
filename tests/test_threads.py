"""Runs on one machine divide its cores: each sets its torch threads to its share, recounted as others
start and end (real processes, a real registry folder; test_sweeps.py runs a real local_parallel sweep)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

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



@pytest.mark.parametrize(("environment", "threads"), [("3", 3), (None, None), ("null", None)])
def test_ganlab_threads_in_the_environment_sets_threads(
    make_cfg, monkeypatch, environment: str | None, threads: int | None
) -> None:
    """A job script's `export GANLAB_THREADS=3` is `threads=3`; unset (or null), the cores are shared."""
    if environment is None:
        monkeypatch.delenv("GANLAB_THREADS")
    else:
        monkeypatch.setenv("GANLAB_THREADS", environment)
    assert make_cfg().threads == threads
