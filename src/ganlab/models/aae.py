"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose codes a latent discriminator pushes
towards the prior, so decoding prior samples generates images."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.models.base import GAN
from ganlab.models.components import build, check_output
from ganlab.models.interface import Reconstructs, row_grid
from ganlab.utils.errors import GanlabError
from ganlab.utils.modes import eval_mode


class AAE(GAN, Reconstructs):
    """Per batch: a reconstruction step (encoder + decoder, MSE), then the regularisation phase of the base
    machinery on codes: D tells prior samples (real) from encoded codes (fake), then the encoder steps as
    D's generator. `generator` is the decoder: sampling, grids, metrics and EMA use it as in a GAN."""

    default_discriminator: dict[str, Any] = {"_target_": "ganlab.nets.LatentDiscriminator"}  # noqa: RUF012
    default_encoder: dict[str, Any] = {"_target_": "ganlab.nets.DCGANEncoder"}  # noqa: RUF012

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        image_size: int = 28,
        channels: int = 1,
        latent_dim: int = 8,
        lr_ae: float | None = None,
        num_reconstructions: int = 32,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("augment"):
            raise GanlabError(
                "model.augment augments images, and the AAE's discriminator sees codes: drop it"
            )
        super().__init__(image_size=image_size, channels=channels, latent_dim=latent_dim, **kwargs)
        self.num_reconstructions = num_reconstructions
        self.encoder = build(
            encoder or self.default_encoder, "model.encoder",
            latent_dim=latent_dim, channels=channels, image_size=image_size,
        )  # fmt: skip
        with torch.no_grad(), eval_mode(self.encoder):
            codes = self.encoder(torch.zeros(2, *self.image_shape))
        check_output(
            codes, (2, latent_dim), "model.encoder", "codes", "give model.latent_dim values per image"
        )

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """The decoder as G; D tells codes from prior samples, so it takes latent_dim."""
        hp = self.hparams
        decoder = self.build_generator(hp.latent_dim)
        discriminator = build(
            hp.discriminator or self.default_discriminator, "model.discriminator", latent_dim=hp.latent_dim
        )
        return decoder, discriminator

    def check_networks(self) -> None:
        z = torch.zeros(2, self.hparams.latent_dim, device=self.device)
        self.check_generated(self.generate(z))
        check_output(
            self.discriminate(z), (2,), "model.discriminator", "logits for 2 codes", "give one logit per code"
        )

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
        self.after_generator_step()
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
