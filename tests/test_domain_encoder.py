"""`model=simclr`: a self-supervised domain encoder learnt from unlabelled images, the feature space of
`metrics=domain` with its protocol; its checks (held-out real near 0, corruptions worse, two seeds agree);
docs/metrics.md's anime commands as typed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BUDGET, SHARED_DATA, run_command
from scipy.stats import spearmanr
from test_sweeps import METRICS_BUDGET, readme_commands

from ganlab.data import MnistMiniDataModule
from ganlab.evaluate import evaluate
from ganlab.metrics.checks import space_report, tiles_shuffled
from ganlab.metrics.domain import DomainFeatures
from ganlab.models import DomainEncoder
from ganlab.train import train
from ganlab.utils.errors import GanlabError


def encoder(make_cfg, tmp_path: Path, *settings: str) -> Path:
    path = tmp_path / "encoder.pt"
    gan_only = ("model.generator.width", "model.discriminator.width", "model.latent_dim",
                "model.num_fixed_samples")  # fmt: skip
    train(make_cfg("model=simclr", f"model.export_path={path}", *settings, run_dir=tmp_path / "encoder",
                   drop=gan_only))  # fmt: skip
    return path


def test_an_encoder_of_unlabelled_images_scores_a_generator(make_cfg, make_eval_cfg, tmp_path):
    path = encoder(make_cfg, tmp_path)
    saved = torch.load(path, map_location="cpu", weights_only=True)
    assert saved["kind"] == "encoder" and saved["trained"]["method"] == "SimCLR"
    assert (saved["trained"]["dataset"], saved["trained"]["epochs"]) == ("mnist_mini", 1)
    train(make_cfg(run_dir=tmp_path / "gan"))
    space = ["metrics=domain", f"metrics.classifier={path}", "metrics.num_samples=40",
             "metrics.batch_size=20", "metrics.kid_subsets=2"]  # fmt: skip
    checkpoint = f"ckpt_path={tmp_path / 'gan' / 'checkpoints' / 'last.ckpt'}"
    report = evaluate(make_eval_cfg(checkpoint, *space, "metrics.names=[fid,kid,prdc]"))
    assert report["fid"]["value"] > 0 and "recall" in report
    assert report["fid"]["feature_extractor"].startswith("self-supervised domain encoder: 128-d")
    assert report["fid"]["trained"]["method"] == "SimCLR" and len(report["fid"]["weights_sha256"]) == 64
    line = r"^metrics\.names: is needs class logits.*metrics\.names=\[fid,kid,prdc\]"
    with pytest.raises(GanlabError, match=line):
        evaluate(make_eval_cfg(checkpoint, *space))


def test_tiles_are_shuffled_not_changed() -> None:
    draw = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8, generator=draw)
    shuffled = tiles_shuffled(images, torch.Generator().manual_seed(0))

    def tiles(x: torch.Tensor) -> list[list[int]]:
        return sorted(x[..., r : r + 4, c : c + 4].flatten().tolist() for r in (0, 4) for c in (0, 4))

    for before, after in zip(images, shuffled, strict=True):
        assert tiles(before) == tiles(after)
    assert not torch.equal(images, shuffled)


@pytest.mark.slow
def test_the_space_ranks_corruptions_and_two_seeds_agree(make_cfg, dataset_cache: Path, tmp_path) -> None:
    """Two encoders (seeds 0 and 1), 2 epochs of the 5,000 digits each: held-out digits against 2,000 others
    near 0; every corruption clearly worse by FID, or by recall where FID barely moves (the collapse)."""
    real = torch.from_numpy(np.array(MnistMiniDataModule(cache_dir=dataset_cache / "datasets").real_images()))
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))
    reference, held_out = real[order[:2000]], real[order[2000:4000]]
    fids = []
    for seed in (0, 1):
        path = encoder(make_cfg, tmp_path / str(seed), f"seed={seed}", "trainer.max_epochs=2",
                       "trainer.limit_train_batches=null", "data.batch_size=128")  # fmt: skip
        report = space_report(DomainFeatures(path), reference, held_out)
        real_fid, real_recall = report["real"]["fid"], report["real"]["recall"]
        assert real_fid < 1 and real_recall > 0.8, report["real"]
        for name, values in report.items():
            if name not in ("real", "collapsed"):
                assert values["fid"] > 20 * real_fid, (seed, name, values)
        assert report["collapsed"]["recall"] < 0.1 * real_recall and report["collapsed"]["fid"] > 3 * real_fid
        assert report["blurred"]["recall"] < 0.5 * real_recall
        fids.append([values["fid"] for values in report.values()])
    assert spearmanr(*fids).statistic >= 0.8, fids


def test_the_anime_encoder_commands_as_typed(project: Path, tmp_path: Path) -> None:
    faces = SHARED_DATA / "anime-faces" / "images"
    judge = SHARED_DATA.parent / "judges" / "lbpcascade_animeface.xml"
    if not faces.is_dir() or not judge.is_file():
        pytest.skip(f"{faces} or {judge} is absent (../shared is only beside the project's own checkouts)")
    commands = [
        "python train.py model=simclr data=anime data.root=/path/to/anime/images",
        "python train.py model=dcgan data=anime data.root=/path/to/anime/images metrics=domain "
        "'metrics.names=[fid,kid,prdc,face_rate]'",
        "python benchmarks/domain_checks.py --encoder .cache/ganlab/domain/anime-64px.pt "
        "--root /path/to/anime/images",
    ]
    for command in commands:
        assert command in readme_commands(), command
    (project / "data").mkdir()
    shutil.copy(judge, project / "data" / "lbpcascade_animeface.xml")  # where the user saves the download
    shutil.copytree(Path(__file__).resolve().parents[1] / "benchmarks", project / "benchmarks")
    typed = [c.replace("/path/to/anime/images", str(faces)) for c in commands]
    trained = run_command(typed[0], project, *BUDGET)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (project / ".cache" / "ganlab" / "domain" / "anime-64px.pt").is_file()
    scored = run_command(typed[1], project, *BUDGET, *METRICS_BUDGET, "metrics.face_samples=20")
    assert scored.returncode == 0, scored.stderr[-3000:]
    [results] = [json.loads(p.read_text()) for p in project.glob("outputs/train/runs/*/results.json")
                 if "metrics=domain" in json.loads(p.read_text())["overrides"]]  # fmt: skip
    assert {"val/fid", "val/recall", "val/face_rate"} <= set(results["final"])
    checks = run_command(typed[2], project, "--count", "400")
    assert checks.returncode == 0, checks.stderr[-3000:]
    assert "| real |" in checks.stdout and "| collapsed |" in checks.stdout


def test_a_colour_jitter_of_the_wrong_length_is_one_line(make_cfg, tmp_path: Path) -> None:
    with pytest.raises(GanlabError, match=r"model.jitter=\[0.4, 0.4\] needs 4 numbers"):
        DomainEncoder(jitter=(0.4, 0.4))
    with pytest.raises(GanlabError, match="needs 4 numbers"):  # as a user's override reaches it
        encoder(make_cfg, tmp_path, "model.jitter=[0.4,0.4,0.4]")
