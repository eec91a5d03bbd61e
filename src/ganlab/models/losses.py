"""Adversarial losses on raw discriminator outputs (`model.loss=ns|hinge|lsgan|wgan_gp`)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlab.utils.errors import GanlabError


class AdversarialLoss:
    """D's and G's loss on D's raw outputs. `real_target`/`fake_target` carry label smoothing and noise
    for the losses that have targets; `decision` is the output at which D calls an image real."""

    decision = 0.0
    penalises_gradients = False  # whether `penalty` needs per-image gradients of D (no batch norm)

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_out: Tensor) -> Tensor:
        raise NotImplementedError

    def belief(self, out: Tensor) -> Tensor:
        """What `train/d_real` and `train/d_fake` average: D's raw output unless it is a logit."""
        return out

    def penalty(self, discriminate: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor | None:
        """An extra D loss term that needs D itself (WGAN-GP's gradient penalty); None for the others."""
        return None


class NonSaturatingLoss(AdversarialLoss):
    """Goodfellow et al.'s BCE loss; G maximises log D(G(z)) instead of minimising log(1 - D(G(z)))."""

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(real_out, real_target) + F.binary_cross_entropy_with_logits(
            fake_out, fake_target
        )

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))

    def belief(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out)  # the probability that an image is real


class HingeLoss(AdversarialLoss):
    """Lim & Ye / Miyato et al.: D pushes real outputs above 1 and fake ones below -1; G raises D(G(z))."""

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return -fake_out.mean()


class LeastSquaresLoss(AdversarialLoss):
    """Mao et al.'s LSGAN (a=0, b=c=1): squared distance of D's output to the (smoothed) targets."""

    decision = 0.5

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return 0.5 * ((real_out - real_target) ** 2).mean() + 0.5 * ((fake_out - fake_target) ** 2).mean()

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return 0.5 * ((fake_out - 1.0) ** 2).mean()


class WassersteinGPLoss(AdversarialLoss):
    """Gulrajani et al.'s WGAN-GP: the critic maximises D(real) - D(fake) under a penalty that keeps
    ||grad D|| near 1 on random points between real and fake images."""

    penalises_gradients = True

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return fake_out.mean() - real_out.mean()

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return -fake_out.mean()

    def penalty(self, discriminate: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(discriminate(mixed).sum(), mixed, create_graph=True)
        return self.gp_weight * ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


LOSSES: dict[str, type[AdversarialLoss]] = {
    "ns": NonSaturatingLoss,
    "hinge": HingeLoss,
    "lsgan": LeastSquaresLoss,
    "wgan_gp": WassersteinGPLoss,
}


def make_loss(name: str, gp_weight: float = 10.0) -> AdversarialLoss:
    if name not in LOSSES:
        raise GanlabError(f"model.loss={name!r} is not known: use one of {', '.join(LOSSES)}")
    return WassersteinGPLoss(gp_weight) if name == "wgan_gp" else LOSSES[name]()
