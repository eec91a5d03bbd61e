"""Choose the feature space of FID / IS / KID by name (`metrics.kind`)."""

from __future__ import annotations

import os

from torch import nn

from ganlab.metrics.domain import DomainFeatures
from ganlab.metrics.features import InceptionFeatures
from ganlab.utils.errors import GanlabError


def make_extractor(
    kind: str, inception_weights: str | os.PathLike | None = None, classifier: str | os.PathLike | None = None
) -> nn.Module:
    """`inception`: torch-fidelity's TF-Inception; `domain`: the dataset's own classifier."""
    if kind == "inception":
        return InceptionFeatures(inception_weights)
    if kind == "domain":
        if classifier is None:
            raise GanlabError("metrics=domain needs metrics.classifier=<a classifier .pt file>")
        return DomainFeatures(classifier)
    raise GanlabError(f"metrics.kind={kind!r} is not known: use inception or domain")
