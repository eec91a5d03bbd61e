"""Adversarial losses on raw discriminator logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlab.utils.errors import GanlabError


class NonSaturatingLoss:
    """Goodfellow et al.'s BCE loss; G maximises log D(G(z)) instead of minimising log(1 - D(G(z)))."""

    def d_loss(
        self,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        real_target: torch.Tensor,
        fake_target: torch.Tensor,
    ) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(
            real_logits, real_target
        ) + F.binary_cross_entropy_with_logits(fake_logits, fake_target)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

    def prob(self, logits: torch.Tensor) -> torch.Tensor:
        """What D 'believes': the probability that an image is real."""
        return torch.sigmoid(logits)


LOSSES = {"ns": NonSaturatingLoss}


def make_loss(name: str) -> NonSaturatingLoss:
    if name not in LOSSES:
        raise GanlabError(f"model.loss={name!r} is not known: use one of {', '.join(LOSSES)}")
    return LOSSES[name]()
