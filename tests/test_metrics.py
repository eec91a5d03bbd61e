"""FID / IS / KID against the reference implementations: torch-fidelity, and SciPy for the Fréchet distance.

The real Inception weights can't be downloaded here, so the tests build torch-fidelity's exact
architecture, leave it randomly initialised (BatchNorm statistics calibrated on random images so that
features are well scaled), save its state dict to a file, and run both implementations on that file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch_fidelity
from conftest import write_image
from PIL import Image
from scipy import linalg
from torch import nn

from ganlab.evaluate import evaluate
from ganlab.metrics import GenerativeScores, InceptionFeatures
from ganlab.utils.errors import GanlabError


def image_folder(root: Path, count: int, seed: int, tint: tuple[int, int, int]) -> Path:
    """Smooth random images (blurred noise with a colour cast), as PNG files."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((32, 32), Image.Resampling.BICUBIC)
        array = np.clip(np.asarray(image, dtype=np.int16) + np.array(tint), 0, 255).astype(np.uint8)
        write_image(root / f"{i:03d}.png", array)
    return root


def load_folder(root: Path) -> torch.Tensor:
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(root.glob("*.png"))]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


@pytest.mark.slow
def test_fid_is_kid_match_torch_fidelity(make_eval_cfg, inception_weights: Path, tmp_path: Path) -> None:
    n = 48
    fake_dir = image_folder(tmp_path / "fake", n, seed=1, tint=(40, -20, 0))
    real_dir = image_folder(tmp_path / "real", n, seed=2, tint=(0, 0, 0))
    # Splits and subsets that cover every sample make the two implementations' random orders irrelevant.
    reference = torch_fidelity.calculate_metrics(
        input1=str(fake_dir), input2=str(real_dir), cuda=False, fid=True, isc=True, kid=True, prc=True,
        feature_extractor="inception-v3-compat", feature_layer_prc="2048",  # prc on FID's features, as ours
        feature_extractor_weights_path=str(inception_weights), isc_splits=1, kid_subsets=2, kid_subset_size=n,
        cache=False, verbose=False,
    )  # fmt: skip
    # `python evaluate.py real_dir=... fake_dir=...` on the same two folders and weights file
    got = evaluate(make_eval_cfg(
        f"real_dir={real_dir}", f"fake_dir={fake_dir}", f"metrics.inception_weights={inception_weights}",
        "metrics.is_splits=1", "metrics.kid_subsets=2", f"metrics.kid_subset_size={n}",
    ))  # fmt: skip
    assert reference["frechet_inception_distance"] > 1  # the two folders differ: a non-trivial check
    assert got["fid"]["value"] == pytest.approx(reference["frechet_inception_distance"], rel=1e-3)
    assert got["is"]["value"] == pytest.approx(reference["inception_score_mean"], rel=1e-2)
    assert got["kid"]["value"] == pytest.approx(reference["kernel_inception_distance_mean"], rel=1e-2)
    assert got["fid"]["n_real"] == got["fid"]["n_fake"] == n
    for name in ("precision", "recall"):  # fractions of 48 images: equal (to float32 round-off)
        assert got[name]["value"] == pytest.approx(reference[name], abs=1e-6), name
        assert got[name]["prc_neighborhood"] == 3 and got[name]["n_real"] == got[name]["n_fake"] == n
    assert 0 < reference["precision"] < 1 or 0 < reference["recall"] < 1  # not a trivial 0 or 1 each
    assert "PIL Lanczos" in got["fid"]["real_downscale"]  # how the real folder was brought to 32 px
    # metrics.json also speaks torch-fidelity's names (the means; stds differ in ddof), with its values
    assert set(got["torch_fidelity"]) == {k for k in reference if not k.endswith("_std")}
    for key, value in got["torch_fidelity"].items():
        assert value == pytest.approx(reference[key], rel=1e-2), key


@pytest.mark.slow
def test_same_set_against_itself_gives_fid_near_zero(inception_weights: Path, tmp_path: Path) -> None:
    images = load_folder(image_folder(tmp_path / "a", 24, seed=3, tint=(0, 0, 0)))
    scores = GenerativeScores(
        InceptionFeatures(inception_weights), is_splits=1, kid_subsets=2, kid_subset_size=24
    )
    scores.update(images, real=True)
    scores.update(images, real=False)
    fid = scores.compute()["fid"]
    n, total = scores.fid.real_features_num_samples, scores.fid.real_features_sum
    trace = (scores.fid.real_features_cov_sum.trace() - (total**2).sum() / n) / (n - 1)
    assert trace > 100 and abs(fid) < 1e-5 * trace  # zero up to the round-off of a 2048-d sqrtm


def frechet_scipy(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula, independently: |mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2))."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_distance_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 32))
    y = rng.normal(size=(400, 32)) @ rng.normal(scale=0.3, size=(32, 32)) + 0.5

    class Features(nn.Module):
        def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"pool": z, "logits": z[:, :10]}

    scores = GenerativeScores(Features(), feature_dim=32, is_splits=1, kid_subsets=2, kid_subset_size=100)
    scores.update(torch.from_numpy(x), real=True)
    scores.update(torch.from_numpy(y), real=False)
    assert scores.compute()["fid"] == pytest.approx(frechet_scipy(x, y), rel=1e-5)


def test_precision_recall_density_coverage_match_references() -> None:
    """On the same features: torch-fidelity's `prc` for precision/recall, the formulas of the `prdc`
    package (Naeem et al.), written out with SciPy, for density/coverage; blocks smaller than the sets."""
    from scipy.spatial.distance import cdist
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    from ganlab.metrics.manifold import precision_recall

    generator = torch.Generator().manual_seed(0)
    real = torch.randn(300, 16, generator=generator)
    fake = torch.randn(250, 16, generator=generator) + 0.8  # shifted: partial overlap both ways
    k = 5
    got = precision_recall(real, fake, k=k, block=64)
    precision, recall = calculate_precision_recall_full(fake, real, neighborhood=k)
    assert got["precision"] == pytest.approx(precision, abs=1e-6)  # of 250 and 300 samples: equal
    assert got["recall"] == pytest.approx(recall, abs=1e-6)
    assert 0.2 < precision < 0.8 and 0.2 < recall < 0.8

    x, y = real.double().numpy(), fake.double().numpy()
    radii = np.sort(cdist(x, x), axis=1)[:, k]  # k-th neighbour, itself at index 0
    real_fake = cdist(x, y)
    density = (1 / k) * (real_fake < radii[:, None]).sum(axis=0).mean()
    coverage = (real_fake.min(axis=1) < radii).mean()
    assert got["density"] == pytest.approx(density, rel=1e-6)
    assert got["coverage"] == pytest.approx(coverage, rel=1e-6)
    assert got["f_score"] == pytest.approx(2 * precision * recall / (precision + recall))
    with pytest.raises(GanlabError, match=r"prc_neighborhood=5 needs more than 5 images"):
        precision_recall(real[:5], fake, k=k)


def test_protocol_names_everything_a_reader_needs(inception_weights: Path) -> None:
    scores = GenerativeScores(InceptionFeatures(inception_weights))
    scores.update(torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8), real=True)  # 1 channel -> 3
    protocol = scores.protocol()
    assert protocol["num_real"] == 2 and protocol["num_fake"] == 0
    assert (
        protocol["weights_sha256"] == __import__("hashlib").sha256(inception_weights.read_bytes()).hexdigest()
    )
    assert "TF1-compatible bilinear" in protocol["resize"]
    assert set(protocol["versions"]) == {"torch", "torchmetrics", "torch-fidelity"}


def test_offline_without_weights_says_both_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache, so the weights must be downloaded
    try:
        InceptionFeatures()
    except GanlabError as err:
        message = str(err)
    else:
        pytest.skip("this machine is online: the weights downloaded")
    assert "go online once" in message and "metrics.inception_weights=" in message
    assert "weights-inception-2015-12-05" in message and "\n" not in message


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GanlabError, match=r"nope\.pth' is not a file"):
        InceptionFeatures(tmp_path / "nope.pth")


@pytest.mark.slow
def test_training_logs_metrics_keeps_best_checkpoint_and_caches_real_stats(
    make_cfg, inception_weights: Path, dataset_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ganlab.train import train

    overrides = [
        "metrics=inception", f"metrics.inception_weights={inception_weights}", "metrics.num_samples=16",
        "metrics.batch_size=8", "metrics.every_n_epochs=1", "metrics.is_splits=2", "metrics.kid_subsets=3",
        "trainer.max_epochs=2", "trainer.limit_train_batches=2",
    ]  # fmt: skip
    with caplog.at_level("INFO", logger="ganlab"):
        best = train(make_cfg(*overrides, run_dir=tmp_path / "a"))
    events = EventAccumulator(str(tmp_path / "a" / "tensorboard"))
    events.Reload()
    fids = [e.value for e in events.Scalars("val/fid")]
    logged = {"val/is", "val/kid", "val/precision", "val/recall", "val/density", "val/coverage"}
    assert len(fids) == 2 and logged <= set(events.Tags()["scalars"])
    protocol = json.loads((tmp_path / "a" / "metrics_protocol.json").read_text())
    assert protocol["num_real"] == protocol["num_fake"] == 16 and protocol["prc_neighborhood"] == 3
    assert protocol["real_downscale"] == "none: 28x28 as stored"
    assert best == pytest.approx(min(fids))  # what a sweeper minimises: the best FID of the run
    best_ckpt = [p.name for p in (tmp_path / "a" / "checkpoints").glob("best_fid_epoch_*.ckpt")]
    assert best_ckpt == [f"best_fid_epoch_{fids.index(min(fids)):03d}.ckpt"]
    cached = list((dataset_cache / "metrics").glob("real-stats-mnist_mini-16-*.pt"))
    assert len(cached) == 1 and "real statistics from" not in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="ganlab"):
        again = train(make_cfg(*overrides, run_dir=tmp_path / "b"))
    assert "real statistics from" in caplog.text  # the second run reused them
    assert again == pytest.approx(best)  # same seed, same real statistics: the same numbers
