"""DCGAN: the base GAN machinery with Radford et al.'s networks."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganlab.models.augment import check_policy, diff_augment
from ganlab.models.base import GANModule
from ganlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator


class DCGAN(GANModule):
    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        latent_dim: int = 100,
        g_width: int = 64,
        d_width: int = 64,
        leaky_slope: float = 0.2,
        d_dropout: float = 0.0,
        upsample: str = "transposed",
        g_dense_first: bool = False,
        g_extra_convs: int = 0,
        d_extra_convs: int = 0,
        d_norm: str = "batch",
        spectral_norm: bool = False,
        augment: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.augment_policy = check_policy(augment)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return diff_augment(images, self.augment_policy) if self.augment_policy else images

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        generator = DCGANGenerator(
            hp.latent_dim, hp.channels, hp.image_size, hp.g_width, hp.upsample, hp.g_dense_first,
            hp.g_extra_convs,
        )  # fmt: skip
        discriminator = DCGANDiscriminator(
            hp.channels, hp.image_size, hp.d_width, hp.leaky_slope, hp.d_dropout, hp.d_norm, hp.spectral_norm,
            extra_convs=hp.d_extra_convs,
        )  # fmt: skip
        return generator, discriminator
