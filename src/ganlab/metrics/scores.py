"""The features every metric reads, extracted once: FID, IS and KID through torchmetrics' accumulators,
and any registered metric (metrics/registry.py) on the same real and generated features.

torchmetrics' metrics run their own Inception per metric; here one extractor pass feeds all of them
(through identity feature modules), so the reference protocol costs one Inception forward per image.
Under DDP each process extracts its share and every process receives all features (`add_shared`), so
torchmetrics' own synchronisation is off: it would count real statistics once per process.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import version
from typing import Any

import torch
from torch import nn
from torchmetrics.image import FrechetInceptionDistance, InceptionScore, KernelInceptionDistance

from ganlab.metrics.distributed import gather_rows
from ganlab.metrics.features import FeatureExtractor
from ganlab.metrics.registry import MetricInputs, chosen, compute_all, logged_directions
from ganlab.utils.errors import GanlabError
from ganlab.utils.modes import eval_mode

DEFAULT_METRICS = ("fid", "is", "kid", "prdc")


class _PrecomputedFeatures(nn.Identity):
    """A 'feature extractor' for torchmetrics that passes on features computed beforehand."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features


class GenerativeScores(nn.Module):
    """Accumulate real and generated images; `compute()` gives the values of the chosen metrics (`names`,
    registered ones; `extra`, import paths of the user's): by default FID, IS (of the generated), KID and,
    with a `prc_neighborhood` k, precision, recall, density and coverage on the same features (FID's)."""

    def __init__(
        self,
        extractor: nn.Module,
        feature_dim: int | None = None,
        is_splits: int = 10,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        prc_neighborhood: int | None = 3,
        seed: int = 0,
        names: Sequence[str] = DEFAULT_METRICS,
        extra: Sequence[str] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """`options`: the other plain `metrics.*` values, which metrics read in their settings (face_rate's
        metrics.face_detector, a user's metric's own key)."""
        super().__init__()
        self.extractor = extractor
        self.options = dict(options or {})
        if not feature_dim:
            feature_dim = extractor.num_features if isinstance(extractor, FeatureExtractor) else 2048
        with warnings.catch_warnings():  # that IS and KID keep their features is the point here
            warnings.filterwarnings("ignore", message=".*will save all extracted features")
            self.fid = FrechetInceptionDistance(
                feature=_PrecomputedFeatures(feature_dim), reset_real_features=False, sync_on_compute=False
            )
            self.inception_score = InceptionScore(
                feature=_PrecomputedFeatures(0), splits=is_splits, sync_on_compute=False
            )
            self.kid = KernelInceptionDistance(
                feature=_PrecomputedFeatures(feature_dim), subsets=kid_subsets, subset_size=kid_subset_size,
                reset_real_features=False, sync_on_compute=False,
            )  # fmt: skip
        self.seed = seed
        self.is_splits, self.kid_subsets, self.kid_subset_size = is_splits, kid_subsets, kid_subset_size
        if prc_neighborhood is not None and prc_neighborhood < 1:
            raise GanlabError(
                f"metrics.prc_neighborhood={prc_neighborhood} must be 1 or more (3 as torch-fidelity) or null"
            )
        self.prc_neighborhood = prc_neighborhood
        # prc_neighborhood=null (the older switch) leaves out the k-NN metrics
        self.metrics = chosen([n for n in names if n != "prdc" or prc_neighborhood], extra)
        self.has_logits = not isinstance(extractor, FeatureExtractor) or extractor.has_logits
        if not self.has_logits and (needing := [m.name for m in self.metrics if "logits" in m.needs]):
            raise GanlabError(
                f"metrics.names: {', '.join(needing)} needs class logits, and this feature space (a "
                f"self-supervised encoder) has none: leave {needing[0]} out: metrics.names=[fid,kid,prdc]"
            )
        self.directions = logged_directions(self.metrics)  # val/<value> -> min | max: what is logged
        self.counts = {"real": 0, "fake": 0}
        self.real_downscale: str | None = None  # how the dataset's images were resized (protocol)

    @torch.no_grad()
    def update(self, images: torch.Tensor, real: bool) -> None:
        """uint8 images (N, C, H, W), all scored by this process."""
        self.update_features(self.extractor(images), real)

    @torch.no_grad()
    def add_shared(self, batches: Iterable[torch.Tensor], real: bool) -> None:
        """This process's share of the images (`distributed.share`); every process's features are
        gathered in rank order, so all processes hold, and compute from, the whole set."""
        parts = [self.extractor(images) for images in batches]
        keys = ("pool",) if real or not self.has_logits else ("pool", "logits")
        self.update_features({key: gather_rows(torch.cat([p[key] for p in parts])) for key in keys}, real)

    def update_features(self, features: dict[str, torch.Tensor], real: bool) -> None:
        self.fid.update(features["pool"], real=real)
        self.kid.update(features["pool"], real=real)
        if not real and "logits" in features:
            # float64 as in torch-fidelity: float32 softmax underflows to 0 and 0 * log 0 is NaN
            self.inception_score.update(features["logits"].double())
        self.counts["real" if real else "fake"] += len(features["pool"])

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

    @classmethod
    def from_settings(
        cls, extractor: nn.Module, settings: Mapping[str, Any], **overrides: Any
    ) -> GenerativeScores:
        """From a `metrics` config node (conf/metrics/): one construction for every command."""
        keys = ("is_splits", "kid_subsets", "kid_subset_size", "prc_neighborhood", "seed", "names", "extra")
        chosen = {k: settings[k] for k in keys if k in settings}
        plain = {
            k: v for k, v in settings.items() if k not in keys and isinstance(v, str | int | float | None)
        }
        return cls(extractor, **{**chosen, "options": plain, **overrides})

    def compute(self, model: nn.Module | None = None) -> dict[str, float]:
        """Every chosen metric's values; `model` for the metrics that need the generator itself."""
        # KID's subsets cannot be larger than the smaller set.
        self.kid.subset_size = min(self.kid_subset_size, self.counts["real"], self.counts["fake"])
        logits = self.inception_score.features
        inputs = MetricInputs(
            real=torch.cat(self.kid.real_features), fake=torch.cat(self.kid.fake_features),
            fake_logits=torch.cat(logits) if logits else None, settings=self.settings(), seed=self.seed,
            model=model, state=self,
        )  # fmt: skip
        if model is None:
            return compute_all(self.metrics, inputs)
        # G as when sampling for scores: eval mode, no gradients, float32 (outside any autocast)
        with eval_mode(model), torch.no_grad(), torch.autocast(self.fid.device.type, enabled=False):
            return compute_all(self.metrics, inputs)

    def settings(self) -> dict[str, Any]:
        names = ("is_splits", "kid_subsets", "kid_subset_size", "prc_neighborhood", "seed")
        return {**self.options, **{name: getattr(self, name) for name in names}}

    def protocol(self) -> dict[str, Any]:
        protocol = self.extractor.protocol() if isinstance(self.extractor, FeatureExtractor) else {}
        return {
            **protocol,
            "num_real": self.counts["real"],
            "num_fake": self.counts["fake"],
            "is_splits": self.is_splits,
            "kid_subsets": self.kid_subsets,
            "kid_subset_size": min(self.kid_subset_size, self.counts["real"], self.counts["fake"]),
            "prc_neighborhood": self.prc_neighborhood,
            "metrics": [m.name for m in self.metrics],
            "real_downscale": self.real_downscale,
            "versions": {name: version(name) for name in ("torch", "torchmetrics", "torch-fidelity")},
        }
