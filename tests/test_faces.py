"""`face_rate`: the anime face detector of ../shared/judges finds the real faces and no noise, through the
images ganlab decodes; as a metric it is scored by evaluate.py and logged in training; what it lacks is
one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, run_command
from test_sweeps import METRICS_BUDGET, readme_commands, torch_home  # noqa: F401 (a fixture)

from ganlab.data import ImageFolderDataModule
from ganlab.evaluate import evaluate
from ganlab.metrics.faces import FaceDetector
from ganlab.train import train
from ganlab.utils.errors import GanlabError


@pytest.fixture(scope="module")
def cascade() -> Path:
    path = SHARED_DATA.parent / "judges" / "lbpcascade_animeface.xml"
    if not path.is_file():
        pytest.skip(f"the anime face detector {path} is absent (../shared is beside the project's checkouts)")
    return path


def test_real_faces_are_found_and_noise_is_not(cascade: Path, dataset_cache: Path, tmp_path: Path) -> None:
    faces = SHARED_DATA / "anime-faces" / "images"
    if not faces.is_dir():
        pytest.skip(f"real dataset {faces} is absent (../shared/data is only beside the project's checkouts)")
    folder = tmp_path / "faces"  # 300 of them, decoded as data=anime decodes them (64 px)
    folder.mkdir()
    for path in sorted(faces.iterdir())[:300]:
        (folder / path.name).symlink_to(path)
    real = ImageFolderDataModule(root=str(folder), image_size=64, cache_dir=str(dataset_cache)).real_images()
    detector = FaceDetector(cascade)
    assert detector(torch.from_numpy(np.asarray(real))).mean() >= 0.98
    draw = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (100, 3, 64, 64), dtype=torch.uint8, generator=draw)
    assert detector(noise).sum() == 0
    assert detector(torch.full((10, 1, 28, 28), 128, dtype=torch.uint8)).sum() == 0  # gray images work too


def test_face_rate_is_logged_in_training_and_scored_by_evaluate(
    make_cfg, make_eval_cfg, cascade: Path, classifier_file: Path, tmp_path: Path
) -> None:
    """On digits there are no faces: 0, through both paths; the value carries its protocol."""
    scored = ["metrics=domain", f"metrics.classifier={classifier_file}", "metrics.num_samples=24",
              "metrics.batch_size=16", "metrics.is_splits=2", "metrics.kid_subsets=2",
              "metrics.face_samples=20", "metrics.names=[fid,face_rate]",
              f"metrics.face_detector={cascade}"]  # fmt: skip
    train(make_cfg(*scored, "metrics.every_n_epochs=1", run_dir=tmp_path / "run"))
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["final"]["val/face_rate"] == 0.0 and results["directions"]["val/face_rate"] == "max"
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    report = evaluate(make_eval_cfg(f"ckpt_path={checkpoint}", *scored))
    assert report["face_rate"]["value"] == 0.0


def test_what_face_rate_lacks_is_one_line(make_eval_cfg, make_cfg, tmp_path: Path, monkeypatch) -> None:
    missing = r"^face_rate: no cascade file at metrics\.face_detector=.*nagadomi"
    with pytest.raises(GanlabError, match=missing):
        FaceDetector(tmp_path / "missing.xml")
    (tmp_path / "not-a-cascade.xml").write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(GanlabError, match=r"is not an OpenCV cascade file"):
        FaceDetector(tmp_path / "not-a-cascade.xml")
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(GanlabError, match=r'^face_rate needs OpenCV.*pip install -e "\.\[faces\]"'):
        FaceDetector(tmp_path / "missing.xml")


def test_the_face_rate_command_as_typed(project: Path, make_cfg, cascade: Path, tmp_path: Path, torch_home):  # noqa: F811
    command = (
        "python evaluate.py ckpt_path=... 'metrics.names=[fid,kid,prdc,face_rate]' "
        "metrics.face_detector=/path/to/lbpcascade_animeface.xml"
    )
    assert command in readme_commands()
    train(make_cfg(run_dir=tmp_path / "gan"))
    typed = command.replace("ckpt_path=...", f"ckpt_path={tmp_path / 'gan' / 'checkpoints' / 'last.ckpt'}")
    typed = typed.replace("/path/to/lbpcascade_animeface.xml", str(cascade))
    result = run_command(typed, project, *METRICS_BUDGET, "metrics.face_samples=50", env=torch_home)
    assert result.returncode == 0, result.stderr[-3000:]
    [report] = project.glob("outputs/evaluate/runs/*/metrics.json")
    assert json.loads(report.read_text())["face_rate"]["value"] == 0.0
