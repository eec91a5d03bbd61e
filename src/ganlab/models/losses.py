"""Adversarial losses on raw discriminator outputs: components chosen as `model/loss=ns|hinge|lsgan|wgan_gp|
relativistic` (conf/model/loss/), or any AdversarialLoss subclass by `_target_`; a loss's own parameters
(WGAN-GP's penalty weight) are its config node's keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlab.models.components import build
from ganlab.utils.errors import GanlabError


class AdversarialLoss:
    """D's and G's loss on D's raw outputs on real and generated images. `real_target`/`fake_target` carry
    label smoothing and noise for the losses that have targets; `decision` is the output at which D calls an
    image real.

    In G's step `real_out` is D's output on the same real batch from D's own step (before D's update), at no
    cost; a loss that declares `g_step_needs_current_real` gets it from the updated D instead (one more D
    forward on the real batch, as relativistic losses' reference code does)."""

    decision = 0.0
    penalises_gradients = False  # whether `penalty` needs per-image gradients of D (no batch norm)
    g_step_needs_current_real = False

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_out: Tensor, real_out: Tensor) -> Tensor:
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

    def g_loss(self, fake_out: Tensor, real_out: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))

    def belief(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out)  # the probability that an image is real


class HingeLoss(AdversarialLoss):
    """Lim & Ye / Miyato et al.: D pushes real outputs above 1 and fake ones below -1; G raises D(G(z))."""

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()

    def g_loss(self, fake_out: Tensor, real_out: Tensor) -> Tensor:
        return -fake_out.mean()


class LeastSquaresLoss(AdversarialLoss):
    """Mao et al.'s LSGAN (a=0, b=c=1): squared distance of D's output to the (smoothed) targets."""

    decision = 0.5

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return 0.5 * ((real_out - real_target) ** 2).mean() + 0.5 * ((fake_out - fake_target) ** 2).mean()

    def g_loss(self, fake_out: Tensor, real_out: Tensor) -> Tensor:
        return 0.5 * ((fake_out - 1.0) ** 2).mean()


class WassersteinGPLoss(AdversarialLoss):
    """Gulrajani et al.'s WGAN-GP: the critic maximises D(real) - D(fake) under a penalty that keeps
    ||grad D|| near 1 on random points between real and fake images."""

    penalises_gradients = True

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return fake_out.mean() - real_out.mean()

    def g_loss(self, fake_out: Tensor, real_out: Tensor) -> Tensor:
        return -fake_out.mean()

    def penalty(self, discriminate: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(discriminate(mixed).sum(), mixed, create_graph=True)
        return self.gp_weight * ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


class RelativisticAverageLoss(AdversarialLoss):
    """Jolicoeur-Martineau 2019's RaGAN (relativistic average, BCE): D judges whether a real image looks more
    real than the average generated one, and the reverse; G's loss is the mirror image, so G's gradients
    also come from the real images' outputs."""

    g_step_needs_current_real = True

    def d_loss(self, real_out: Tensor, fake_out: Tensor, real_target: Tensor, fake_target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            real_out - fake_out.mean(), real_target
        ) + F.binary_cross_entropy_with_logits(fake_out - real_out.mean(), fake_target)

    def g_loss(self, fake_out: Tensor, real_out: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            fake_out - real_out.mean(), torch.ones_like(fake_out)
        ) + F.binary_cross_entropy_with_logits(real_out - fake_out.mean(), torch.zeros_like(real_out))

    def belief(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out)


# `model.loss=<name>`: the built-in losses by name (conf/model/loss/ has a node for each).
LOSSES: dict[str, type[AdversarialLoss]] = {
    "ns": NonSaturatingLoss,
    "hinge": HingeLoss,
    "lsgan": LeastSquaresLoss,
    "wgan_gp": WassersteinGPLoss,
    "relativistic": RelativisticAverageLoss,
}


def loss_by_name(name: str) -> AdversarialLoss:
    if name not in LOSSES:
        raise GanlabError(
            f"model.loss={name!r} is not known: use one of {', '.join(LOSSES)}, or a _target_ node "
            "(model.loss._target_=<your AdversarialLoss class>)"
        )
    return LOSSES[name]()


def build_loss(loss: dict[str, Any] | str) -> AdversarialLoss:
    """A built-in loss by name (`model.loss=hinge`) or any AdversarialLoss from its config node."""
    built = loss_by_name(loss) if isinstance(loss, str) else build(loss, "model.loss")
    if not isinstance(built, AdversarialLoss):
        raise GanlabError(
            f"model.loss ({type(built).__name__}) is not an AdversarialLoss: subclass "
            "ganlab.models.losses.AdversarialLoss (docs/extending.md)"
        )
    return built
