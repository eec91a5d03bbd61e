"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose codes a latent discriminator pushes
towards the prior, so decoding prior samples generates images."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.models.base import GANModule
from ganlab.models.interface import Reconstructs, row_grid
from ganlab.nets.dcgan import DCGANEncoder, DCGANGenerator, LatentDiscriminator


class AAE(GANModule, Reconstructs):
    """Per batch: a reconstruction step (encoder + decoder, MSE), then the regularisation phase of the base
    machinery on codes: D tells prior samples (real) from encoded codes (fake), then the encoder steps as
    D's generator. `generator` is the decoder: sampling, grids, metrics and EMA use it as in a GAN."""

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        latent_dim: int = 8,
        g_width: int = 64,
        e_width: int = 64,
        d_hidden: int = 512,
        leaky_slope: float = 0.2,
        upsample: str = "transposed",
        g_dense_first: bool = False,
        lr_ae: float | None = None,
        num_reconstructions: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.encoder = DCGANEncoder(latent_dim, channels, image_size, e_width, leaky_slope)

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        decoder = DCGANGenerator(
            hp.latent_dim, hp.channels, hp.image_size, hp.g_width, hp.upsample, hp.g_dense_first
        )
        return decoder, LatentDiscriminator(hp.latent_dim, hp.d_hidden, hp.leaky_slope)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.generate(self.encode(images))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, _ = batch
        opt_d, opt_e, opt_ae = self.optimizers()
        # reconstruction phase
        self.toggle_optimizer(opt_ae)
        recon_loss = F.mse_loss(self.generator(self.encode(images)), images)
        self._backward_and_step(opt_ae, recon_loss, "train/recon_loss")
        self.untoggle_optimizer(opt_ae)
        self.update_ema()
        self.log("train/recon_loss", recon_loss, prog_bar=True)
        # regularisation phase: prior samples are D's "real", codes its "fake", the encoder its generator
        g_steps = (batch_idx + 1) % self.hparams.n_critic == 0
        with torch.set_grad_enabled(g_steps):
            codes = self.encode(images)
        self.adversarial_step(
            self.sample_latent(images.shape[0]), codes, None, opt_d, opt_e if g_steps else None
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[D's, the encoder's (regularisation), encoder + decoder's (reconstruction)]."""
        hp = self.hparams
        autoencoder = [*self.encoder.parameters(), *self.generator.parameters()]
        return [
            self.make_optimizer(self.discriminator.parameters(), hp.lr_d or hp.lr),
            self.make_optimizer(self.encoder.parameters(), hp.lr_g or hp.lr),
            self.make_optimizer(autoencoder, hp.lr_ae or hp.lr),
        ]

    @torch.no_grad()
    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """Decoded prior samples (fixed noise), and real inputs in odd rows above their reconstructions."""
        grids = super().sample_grids()
        if self.fixed_real is not None:
            grids["reconstructions"] = row_grid([self.fixed_real, self.reconstruct(self.fixed_real)])
        return grids
