"""Denoising autoencoder: gaussian noise on the input, the clean image as the target."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.latent import truncated_normal
from ganlab.models.components import build, check_output
from ganlab.models.interface import Denoises, GenerativeModel, row_grid
from ganlab.models.module import GanlabModule
from ganlab.utils.modes import eval_mode


class DAE(GanlabModule, GenerativeModel, Denoises):
    """Encoder and decoder trained to undo `noise_factor` gaussian noise (in [0, 1] pixel units, as in the
    Keras tutorials: 0.25 is a standard deviation of a quarter of the pixel range).

    It also generates, for `evaluate.py`: a diagonal gaussian fitted to each epoch's codes is its prior
    (ex-post density estimation, Ghosh et al. 2020), since nothing pushes its codes towards N(0, I)."""

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        generator: dict[str, Any] | None = None,
        image_size: int = 28,
        channels: int = 1,
        latent_dim: int = 32,
        noise_factor: float = 0.25,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        num_reconstructions: int = 32,
        num_fixed_samples: int = 64,
        fixed_noise_seed: int = 1234,
        max_loss: float | None = 1.0e5,
    ) -> None:
        super().__init__(max_loss)
        self.save_hyperparameters()
        self.num_reconstructions = num_reconstructions
        self.noise_factor = noise_factor
        self.image_shape = (channels, image_size, image_size)
        shape = {"latent_dim": latent_dim, "channels": channels, "image_size": image_size}
        self.encoder = build(encoder or {"_target_": "ganlab.nets.DCGANEncoder"}, "model.encoder", **shape)
        self.generator = build(
            generator or {"_target_": "ganlab.nets.DCGANGenerator"}, "model.generator", **shape
        )
        with torch.no_grad(), eval_mode(self):
            codes = self.encoder(torch.zeros(2, *self.image_shape))
            check_output(
                codes, (2, latent_dim), "model.encoder", "codes", "give model.latent_dim values per image"
            )
            check_output(
                self.generator(codes), (2, *self.image_shape), "model.generator", "images",
                "make it produce data.channels x data.image_size x data.image_size images",
            )  # fmt: skip
        self.register_buffer("code_mean", torch.zeros(latent_dim))
        self.register_buffer("code_std", torch.ones(latent_dim))
        self.register_buffer(
            "fixed_z",
            torch.randn(
                num_fixed_samples, latent_dim, generator=torch.Generator().manual_seed(fixed_noise_seed)
            ),
        )
        self._code_sums: list[torch.Tensor] = []

    def add_noise(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = (
            torch.randn(images.shape, generator=generator).to(images)
            if generator
            else torch.randn_like(images)
        )
        return (images + 2 * self.hparams.noise_factor * noise).clamp(-1, 1)  # [-1, 1] is twice [0, 1]

    def denoise(self, images: torch.Tensor) -> torch.Tensor:
        return self.generator(self.encoder(images))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, _ = batch
        codes = self.encoder(self.add_noise(images))
        loss = F.mse_loss(self.generator(codes), images)
        self.watch_loss("train/recon_loss", loss)
        self._code_sums.append(torch.stack([codes.detach().sum(0), (codes.detach() ** 2).sum(0),
                                            torch.full_like(codes[0], len(codes))]))  # fmt: skip
        self.log("train/recon_loss", loss, prog_bar=True)
        return loss

    def on_train_epoch_end(self) -> None:
        """The codes' mean and standard deviation over the epoch become the sampling prior."""
        super().on_train_epoch_end()
        if self._code_sums:
            total, squares, count = torch.stack(self._code_sums).sum(0)
            self.code_mean = total / count
            self.code_std = (squares / count - self.code_mean**2).clamp_min(1e-8).sqrt()
            self._code_sums.clear()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        hp = self.hparams
        return torch.optim.Adam(self.parameters(), lr=hp.lr, betas=(float(hp.beta1), float(hp.beta2)))

    # --- generation, for grids and evaluate.py ------------------------------------------------------------
    def sample_latent(
        self,
        n: int,
        generator: torch.Generator | None = None,
        shift: float = 0.0,
        scale: float = 1.0,
        truncation: float | None = None,
    ) -> torch.Tensor:
        noise = shift + scale * truncated_normal((n, self.hparams.latent_dim), truncation, generator)
        return self.code_mean.cpu() + self.code_std.cpu() * noise

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> None:
        return None

    prior = "normal"

    def generator_network(self) -> nn.Module:
        return FromNoise(self.generator, self.code_mean, self.code_std)

    def generate(self, z: torch.Tensor, labels: Any = None) -> torch.Tensor:
        return self.generator(z)

    @torch.no_grad()
    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """Rows of noisy inputs, their denoised outputs and the clean images; and decoded prior samples."""
        z = self.code_mean + self.code_std * self.fixed_z
        grids = {"samples": (self.generate(z), 8)}
        if self.fixed_real is not None:
            clean = self.fixed_real
            noisy = self.add_noise(clean, torch.Generator().manual_seed(self.hparams.fixed_noise_seed))
            grids["denoising"] = row_grid([noisy, self.denoise(noisy), clean])
        return grids


class FromNoise(nn.Module):
    """The decoder from N(0, I) noise: codes drawn as the training images' codes are spread."""

    def __init__(self, decoder: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.decoder = decoder
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("std", std.detach().clone())

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.mean + self.std * noise)
