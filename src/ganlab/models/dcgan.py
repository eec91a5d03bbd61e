"""DCGAN: the base GAN machinery with Radford et al.'s networks."""

from __future__ import annotations

from typing import Any

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
        **kwargs: Any,
    ) -> None:
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.generator = DCGANGenerator(latent_dim, channels, image_size, g_width, upsample, g_dense_first)
        self.discriminator = DCGANDiscriminator(channels, image_size, d_width, leaky_slope, d_dropout)
