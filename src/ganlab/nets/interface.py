"""What a model may rely on in a network beyond `forward`, declared once (checked with `isinstance`).

Any nn.Module is a generator (`forward(z) -> images in [-1, 1]`) or a discriminator (`forward(images) -> one
logit per image`); the shape arguments it is built with are the model's (see docs/extending.md). A
discriminator that also splits into features and a head can be class-conditioned by projection.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch


class FeatureDiscriminator(ABC):
    """A discriminator whose logit comes from a feature vector: `logit(features(x)) == forward(x)`.

    Projection conditioning (Miyato & Koyama 2018) adds the inner product of a class embedding with
    `features(x)` to that logit, so it works with any discriminator that declares this."""

    feature_dim: int

    @abstractmethod
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, feature_dim): what the logit is computed from."""

    @abstractmethod
    def logit(self, features: torch.Tensor) -> torch.Tensor:
        """(B,): each image's logit from its features."""
