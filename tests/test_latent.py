"""Latent exploration: interpolation paths and `evaluate.py task=interpolate|latent_shift`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganlab.evaluate import evaluate
from ganlab.latent import lerp, slerp
from ganlab.train import train
from ganlab.utils.errors import GanlabError


def test_slerp_follows_the_great_circle() -> None:
    a, b = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 2.0, 0.0]])
    t = torch.linspace(0, 1, 5)
    path = slerp(a, b, t)[0]
    torch.testing.assert_close(path[0], a[0])
    torch.testing.assert_close(path[-1], b[0])
    unit = slerp(a, b / 2, t)[0]  # equal norms: every point keeps the norm, at even angular steps
    torch.testing.assert_close(unit.norm(dim=1), torch.ones(5))
    angles = [math.degrees(math.atan2(p[1], p[0])) for p in unit.tolist()]
    assert angles == pytest.approx([0.0, 22.5, 45.0, 67.5, 90.0])
    straight = lerp(a, b, t)[0]
    torch.testing.assert_close(straight[2], torch.tensor([0.5, 1.0, 0.0]))
    assert straight[2].norm() < path[2].norm()  # the straight line cuts through the centre
    torch.testing.assert_close(slerp(a, 3 * a, t), lerp(a, 3 * a, t))  # parallel: the same path


@pytest.fixture
def checkpoint(make_cfg, tmp_path: Path) -> Path:
    train(make_cfg(run_dir=tmp_path / "gan"))
    return tmp_path / "gan" / "checkpoints" / "last.ckpt"


def test_interpolation_grid(make_eval_cfg, checkpoint: Path, tmp_path: Path) -> None:
    for method in ("slerp", "linear"):
        result = evaluate(make_eval_cfg(
            f"ckpt_path={checkpoint}", "task=interpolate", "interpolate.pairs=3", "interpolate.steps=5",
            f"interpolate.method={method}",
        ))  # fmt: skip
        grid = Image.open(result["files"][0])
        assert Path(result["files"][0]).name == f"interpolate_{method}.png"
        assert grid.size == (5 * 30 + 2, 3 * 30 + 2)  # 5 steps per row, 3 pairs
    with pytest.raises(GanlabError, match=r"interpolate\.method='cubic' is not known"):
        evaluate(make_eval_cfg(f"ckpt_path={checkpoint}", "task=interpolate", "interpolate.method=cubic"))


def test_latent_shift_grids_and_mean_images(make_eval_cfg, checkpoint: Path, tmp_path: Path) -> None:
    result = evaluate(make_eval_cfg(
        f"ckpt_path={checkpoint}", "task=latent_shift", "latent_shift.means=[-1.0,0.0,0.8]",
        "latent_shift.samples=16",
    ))  # fmt: skip
    names = [Path(f).name for f in result["files"]]
    assert names == [
        "latent_shift_mean-1.00_std0.40.png", "latent_shift_mean+0.00_std0.40.png",
        "latent_shift_mean+0.80_std0.40.png", "latent_shift_means.png",
    ]  # fmt: skip
    assert Image.open(result["files"][0]).size == (4 * 30 + 2, 4 * 30 + 2)
    means = Image.open(result["files"][-1])
    assert means.size == (3 * 30 + 2, 30 + 2)  # the three average images in one row
    with pytest.raises(GanlabError, match="task='dance' is not known"):
        evaluate(make_eval_cfg(f"ckpt_path={checkpoint}", "task=dance"))
