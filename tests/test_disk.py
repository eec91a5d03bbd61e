"""A full disk, for real: the run folder on a small tmpfs. A run that cannot hold two checkpoints stops after
its first batch in one line; one that fills the disk later stops at that save in one line, its previous
last.ckpt whole, and results.json says the same."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from test_faults import error_lines, run_train


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A tmpfs of `request.param` KiB, mounted for the test (it needs root, as CI and this machine have)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={request.param}k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mount.stderr.strip() or 'mount failed'}): it needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("small_disk", [600], indirect=True)  # a checkpoint of these nets: ~0.47 MB
def test_a_disk_without_room_for_two_checkpoints_stops_after_the_first_batch(project: Path, small_disk: Path):
    run = small_disk / "run"
    result = run_train(project, run)
    assert result.returncode == 1, result.stderr[-3000:]
    [line] = error_lines(result.stderr)
    assert line.startswith(f"error: no space for this run's checkpoints in '{run / 'checkpoints'}': "), line
    sizes = r": 0\.\d MB free, last\.ckpt needs 0\.\d MB \(two of 0\.\d MB: the old one stays whole"
    assert re.search(sizes, line), line
    assert line.endswith("free some space there, or point hydra.run.dir at a disk with room"), line
    results = json.loads((run / "results.json").read_text())
    assert (results["status"], results["global_step"]) == ("failed", 2)  # one batch, no checkpoint
    assert line == f"error: {results['error']}"
    assert not list(run.glob("checkpoints/*"))


@pytest.mark.parametrize("small_disk", [1300], indirect=True)  # room for two checkpoints, not three
def test_a_disk_that_fills_at_a_later_save_keeps_the_previous_checkpoint(project: Path, small_disk: Path):
    run = small_disk / "run"
    result = run_train(project, run, "callbacks.model_checkpoint.every_n_epochs=1")  # one more file an epoch
    assert result.returncode == 1, result.stderr[-3000:]
    assert "the disk fills before the run ends" in result.stdout  # the warning, at the start
    [line] = error_lines(result.stderr)
    checkpoints = run / "checkpoints"
    last = checkpoints / "last.ckpt"
    # epoch 0 ends: epoch_000.ckpt fits beside last.ckpt (step 8), the new last.ckpt beside both does not
    assert line.startswith(f"error: no space left on device writing '{last}' (0.5 MB needed, 0."), line
    assert f"; the last checkpoint {last} is intact: free some space" in line, line
    assert "; resume with: python train.py " in line and f"ckpt_path={last}" in line, line
    assert torch.load(last, weights_only=True)["global_step"] == 8  # the one before, whole
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]  # no stray part
    results = json.loads((run / "results.json").read_text())
    assert (results["status"], results["checkpoint"]) == ("failed", str(checkpoints / "last.ckpt"))
    assert line == f"error: {results['error']}"
