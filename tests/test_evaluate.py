"""`evaluate.py`: a checkpoint scored with its own run config, two folders, metrics.json, PNG export."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import PROJECT, classifier_checkpoint, shared, write_image
from PIL import Image

from ganlab.data import MnistMiniDataModule
from ganlab.evaluate import evaluate
from ganlab.metrics.evaluation import real_subset
from ganlab.train import train
from ganlab.utils.errors import GanlabError


@pytest.fixture
def gan_checkpoint(make_cfg, tmp_path: Path) -> Path:
    """A tiny DCGAN trained for 3 batches on the embedded digits."""
    train(make_cfg(run_dir=tmp_path / "gan"))
    return tmp_path / "gan" / "checkpoints" / "last.ckpt"


def domain(classifier_file: Path, n: int) -> list[str]:
    return [
        "metrics=domain", f"metrics.classifier={classifier_file}", f"metrics.num_samples={n}",
        "metrics.batch_size=16", "metrics.is_splits=2", "metrics.kid_subsets=3",
    ]  # fmt: skip


def test_checkpoint_scores_with_its_own_config_and_exports_the_scored_pixels(
    make_eval_cfg, gan_checkpoint: Path, classifier_file: Path, dataset_cache: Path, tmp_path: Path
) -> None:
    n = 40
    results = evaluate(
        make_eval_cfg(f"ckpt_path={gan_checkpoint}", "save_images=true", *domain(classifier_file, n))
    )
    out = tmp_path / "eval"
    written = json.loads((out / "metrics.json").read_text())
    assert written == json.loads(json.dumps(results))
    sha = hashlib.sha256(classifier_file.read_bytes()).hexdigest()
    for name in ("fid", "is", "kid"):
        entry = written[name]
        assert np.isfinite(entry["value"]) and entry["weights_sha256"] == sha
        assert entry.get("n", entry.get("n_fake")) == n and "resize" in entry
        assert set(entry["versions"]) == {"torch", "torchmetrics", "torch-fidelity"}
    assert written["fid"]["n_real"] == n and written["source"]["model"] == "ganlab.models.GAN"
    assert "mnist_mini train split, 40 of 5000" in written["source"]["real"]
    grid = Image.open(out / "samples.png")
    assert grid.size == (7 * 30 + 2, 6 * 30 + 2)  # 40 images, 7 per row, 28 px + 2 px padding
    pngs = sorted((out / "images").glob("*.png"))
    assert [p.name for p in pngs[:2]] == ["000000.png", "000001.png"] and len(pngs) == n

    # The same real subset and the exported images, as two folders: the same numbers, so the PNG files
    # hold exactly the pixels that were scored.
    real = MnistMiniDataModule(cache_dir=dataset_cache / "datasets").real_images()
    for i, index in enumerate(real_subset(len(real), n, seed=0)):
        write_image(tmp_path / "real" / f"{i:03d}.png", real[index][0])
    folders = evaluate(
        make_eval_cfg(
            f"real_dir={tmp_path / 'real'}", f"fake_dir={out / 'images'}", *domain(classifier_file, n),
            run_dir=tmp_path / "folders",
        )
    )  # fmt: skip
    assert folders["fid"]["value"] == pytest.approx(results["fid"]["value"], rel=1e-5)
    assert folders["is"]["value"] == pytest.approx(results["is"]["value"], rel=1e-6)


def test_evaluation_is_repeatable_and_reuses_real_statistics(
    make_eval_cfg, gan_checkpoint: Path, classifier_file: Path, tmp_path: Path, caplog
) -> None:
    overrides = [f"ckpt_path={gan_checkpoint}", *domain(classifier_file, 32)]
    first = evaluate(make_eval_cfg(*overrides, run_dir=tmp_path / "a"))
    with caplog.at_level("INFO", logger="ganlab"):
        second = evaluate(make_eval_cfg(*overrides, run_dir=tmp_path / "b"))
    assert "real statistics from" in caplog.text
    assert second["fid"]["value"] == first["fid"]["value"] and second["is"] == first["is"]


def test_fashion_mnist_generator_against_the_test_split(
    make_cfg, make_eval_cfg, classifier_file: Path, tmp_path: Path
) -> None:
    root = shared("fashion-mnist")
    train(make_cfg("data=fashion_mnist", f"data.root={root}", "data.download=false", run_dir=tmp_path / "fm"))
    results = evaluate(
        make_eval_cfg(
            f"ckpt_path={tmp_path / 'fm' / 'checkpoints' / 'last.ckpt'}", "real_split=test",
            *domain(classifier_file, 48),
        )
    )  # fmt: skip
    assert results["source"]["real"].startswith("fashion_mnist test split, 48 of 10000 images")


def test_overrides_apply_over_the_checkpoint_config(
    make_eval_cfg, gan_checkpoint: Path, classifier_file: Path
) -> None:
    base = [f"ckpt_path={gan_checkpoint}", *domain(classifier_file, 16)]
    with pytest.raises(GanlabError, match=r"data\.colour is not a setting of the checkpoint's data.*known"):
        evaluate(make_eval_cfg(*base, "+data.colour=1"))
    # settings that change the networks
    with pytest.raises(GanlabError, match=r"generator\.width=8 \(now 16\)"):
        evaluate(make_eval_cfg(*base, "+model.generator.width=16"))
    with pytest.raises(GanlabError, match=r"mnist_mini has no test split: use real_split=train"):
        evaluate(make_eval_cfg(*base, "real_split=test"))


def test_bad_inputs_are_one_line_errors(
    make_eval_cfg, classifier_file: Path, gan_checkpoint: Path, tmp_path: Path
) -> None:
    torch.save({"state_dict": {}}, tmp_path / "foreign.ckpt")
    older = torch.load(gan_checkpoint, weights_only=True)  # as ganlab 0.1 wrote them: no version, flat keys
    del older["ganlab_version"]
    torch.save(older, tmp_path / "release-0.1.ckpt")
    (tmp_path / "empty").mkdir()
    cases = {
        "nothing to evaluate": [],
        "is not a file": [f"ckpt_path={tmp_path / 'missing.ckpt'}"],
        "real_split='val' is not known: use train or test": ["ckpt_path=x.ckpt", "real_split=val"],
        "holds no ganlab run config": [f"ckpt_path={tmp_path / 'foreign.ckpt'}"],
        "written by ganlab 0.1, whose networks were flat model settings": [
            f"ckpt_path={tmp_path / 'release-0.1.ckpt'}"
        ],
        "Classifier, which does not generate images": [f"ckpt_path={classifier_checkpoint(classifier_file)}"],
        "needs both real_dir=": [f"real_dir={tmp_path}"],
        "holds no png/jpg/webp/gif/bmp/tiff/ppm/tga images": [
            f"real_dir={tmp_path}", f"fake_dir={tmp_path / 'empty'}"
        ],
    }
    for message, overrides in cases.items():
        with pytest.raises(GanlabError, match=message) as err:
            evaluate(make_eval_cfg(*overrides))
        assert "\n" not in str(err.value)


def test_command_line_error_has_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "evaluate.py", f"ckpt_path={tmp_path / 'nope.ckpt'}", f"hydra.run.dir={tmp_path}"],
        cwd=PROJECT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == f"error: ckpt_path '{tmp_path / 'nope.ckpt'}' is not a file: pass the path of a .ckpt " + (
        "(e.g. .../last.ckpt)"
    )
