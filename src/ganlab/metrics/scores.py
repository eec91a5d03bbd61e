"""FID, IS and KID through torchmetrics, on features extracted once per image.

torchmetrics' metrics run their own Inception per metric; here one extractor pass feeds all three
(through identity feature modules), so the reference protocol costs one Inception forward per image.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from typing import Any

import torch
from torch import nn
from torchmetrics.image import FrechetInceptionDistance, InceptionScore, KernelInceptionDistance

from ganlab.metrics.features import FeatureExtractor


class _PrecomputedFeatures(nn.Identity):
    """A 'feature extractor' for torchmetrics that passes on features computed beforehand."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features


class GenerativeScores(nn.Module):
    """Accumulate real and generated images; `compute()` gives FID, IS (of the generated) and KID."""

    def __init__(
        self,
        extractor: nn.Module,
        feature_dim: int | None = None,
        is_splits: int = 10,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.extractor = extractor
        if not feature_dim:
            feature_dim = extractor.num_features if isinstance(extractor, FeatureExtractor) else 2048
        with warnings.catch_warnings():  # that IS and KID keep their features is the point here
            warnings.filterwarnings("ignore", message=".*will save all extracted features")
            self.fid = FrechetInceptionDistance(
                feature=_PrecomputedFeatures(feature_dim), reset_real_features=False
            )
            self.inception_score = InceptionScore(feature=_PrecomputedFeatures(0), splits=is_splits)
            self.kid = KernelInceptionDistance(
                feature=_PrecomputedFeatures(feature_dim), subsets=kid_subsets, subset_size=kid_subset_size,
                reset_real_features=False,
            )  # fmt: skip
        self.seed = seed
        self.is_splits, self.kid_subsets, self.kid_subset_size = is_splits, kid_subsets, kid_subset_size
        self.counts = {"real": 0, "fake": 0}

    @torch.no_grad()
    def update(self, images: torch.Tensor, real: bool) -> None:
        """uint8 images (N, C, H, W)."""
        features = self.extractor(images)
        self.fid.update(features["pool"], real=real)
        self.kid.update(features["pool"], real=real)
        if not real:
            # float64 as in torch-fidelity: float32 softmax underflows to 0 and 0 * log 0 is NaN
            self.inception_score.update(features["logits"].double())
        self.counts["real" if real else "fake"] += len(images)

    def reset_fake(self) -> None:
        """Forget the generated images, keep the real ones (the same real set scores every epoch)."""
        self.fid.reset()
        self.kid.reset()
        self.inception_score.reset()
        self.counts["fake"] = 0

    def real_state(self) -> dict[str, Any]:
        """What the real images leave behind (FID sums, KID features, count): the cacheable part."""
        return {
            "fid_sum": self.fid.real_features_sum,
            "fid_cov_sum": self.fid.real_features_cov_sum,
            "fid_n": self.fid.real_features_num_samples,
            "kid_features": torch.cat(self.kid.real_features),
            "count": self.counts["real"],
        }

    def load_real_state(self, state: dict[str, Any]) -> None:
        self.fid.real_features_sum = state["fid_sum"]
        self.fid.real_features_cov_sum = state["fid_cov_sum"]
        self.fid.real_features_num_samples = state["fid_n"]
        self.kid.real_features = [state["kid_features"]]
        self.counts["real"] = state["count"]

    def compute(self) -> dict[str, float]:
        # KID's subsets cannot be larger than the smaller set.
        self.kid.subset_size = min(self.kid_subset_size, self.counts["real"], self.counts["fake"])
        # IS splits and KID subsets are drawn from the global RNG: seed a fork of it, so the same images
        # give the same numbers and a training run's own random stream is left alone.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            kid_mean, kid_std = self.kid.compute()
            is_mean, is_std = self.inception_score.compute()
        return {
            "fid": float(self.fid.compute()),
            "is": float(is_mean),
            "is_std": float(is_std),
            "kid": float(kid_mean),
            "kid_std": float(kid_std),
        }

    def protocol(self) -> dict[str, Any]:
        protocol = self.extractor.protocol() if isinstance(self.extractor, FeatureExtractor) else {}
        return {
            **protocol,
            "num_real": self.counts["real"],
            "num_fake": self.counts["fake"],
            "is_splits": self.is_splits,
            "kid_subsets": self.kid_subsets,
            "kid_subset_size": min(self.kid_subset_size, self.counts["real"], self.counts["fake"]),
            "versions": {name: version(name) for name in ("torch", "torchmetrics", "torch-fidelity")},
        }
