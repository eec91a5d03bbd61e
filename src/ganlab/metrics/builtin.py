"""The built-in metrics, registered like any user's: FID, IS, KID through torchmetrics (the torch-fidelity
protocol), and precision / recall / density / coverage on FID's features.

Each metric that draws random numbers (IS splits, KID subsets) runs in a fork of the global RNG seeded
with the metrics seed: the same images give the same numbers, whichever other metrics run beside it, and a
training run's own random stream is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ganlab.metrics.manifold import precision_recall
from ganlab.metrics.registry import MetricInputs, register_metric


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@register_metric("fid", directions={"fid": "min"})
def frechet_inception_distance(inputs: MetricInputs) -> dict[str, float]:
    return {"fid": float(inputs.state.fid.compute())}


@register_metric("is", directions={"is": "max", "is_std": None}, needs=("logits",))
def inception_score(inputs: MetricInputs) -> dict[str, float]:
    with seeded(inputs.seed):
        mean, std = inputs.state.inception_score.compute()
    return {"is": float(mean), "is_std": float(std)}


@register_metric("kid", directions={"kid": "min", "kid_std": None})
def kernel_inception_distance(inputs: MetricInputs) -> dict[str, float]:
    with seeded(inputs.seed):
        mean, std = inputs.state.kid.compute()
    return {"kid": float(mean), "kid_std": float(std)}


@register_metric(
    "prdc",
    directions={"precision": "max", "recall": "max", "density": "max", "coverage": "max", "f_score": None},
)
def precision_recall_density_coverage(inputs: MetricInputs) -> dict[str, float]:
    """k-NN metrics (`metrics.prc_neighborhood` = k, 3 as torch-fidelity) on every real and generated
    image's features."""
    return precision_recall(inputs.real, inputs.fake, inputs.settings["prc_neighborhood"])
