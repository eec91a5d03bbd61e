"""Conditional DCGAN: the base GAN machinery with class-conditional networks and one grid row per class."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganlab.models.dcgan import DCGAN
from ganlab.nets.conditional import ConditionalDiscriminator, ConditionalGenerator
from ganlab.utils.errors import GanlabError


class CGAN(DCGAN):
    """DCGAN's options, plus the number of classes, G's label embedding size and D's conditioning."""

    def __init__(
        self,
        num_classes: int | None,
        embed_dim: int = 50,
        conditioning: str = "concat",
        grid_columns: int = 10,
        **kwargs: Any,
    ) -> None:
        if not num_classes:
            raise GanlabError(
                "model=cgan needs the number of classes: use a labelled dataset (mnist, fashion_mnist, "
                "mnist_mini) or data=image_folder data.labels=true data.num_classes=<number of sub-folders>"
            )
        super().__init__(**kwargs)

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        generator = ConditionalGenerator(
            hp.latent_dim, hp.num_classes, hp.embed_dim, channels=hp.channels, image_size=hp.image_size,
            width=hp.g_width, upsample=hp.upsample, dense_first=hp.g_dense_first,
            extra_convs=hp.g_extra_convs,
        )  # fmt: skip
        discriminator = ConditionalDiscriminator(
            hp.channels, hp.image_size, hp.num_classes, hp.conditioning, width=hp.d_width,
            leaky_slope=hp.leaky_slope, dropout=hp.d_dropout, norm=hp.d_norm, spectral_norm=hp.spectral_norm,
            extra_convs=hp.d_extra_convs,
        )  # fmt: skip
        return generator, discriminator

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.sampling_generator(z, labels)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(images, labels)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Classes drawn uniformly (the class balance of MNIST and Fashion-MNIST)."""
        device = None if generator is not None else self.device
        return torch.randint(self.hparams.num_classes, (n,), generator=generator, device=device)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        if batch_idx == 0 and int(batch[1].min()) < 0:
            raise GanlabError(
                "model=cgan needs labelled images, and this dataset has none: use data.labels=true "
                "(image_folder, one sub-folder per class) or a labelled dataset"
            )
        super().training_step(batch, batch_idx)

    @torch.no_grad()
    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """One row per class; column j uses the same noise in every row, so rows differ only by class."""
        columns, classes = min(self.hparams.grid_columns, len(self.fixed_z)), self.hparams.num_classes
        z = self.fixed_z[:columns].repeat(classes, 1)
        labels = torch.arange(classes, device=self.device).repeat_interleave(columns)
        return {"fixed_noise": (self.generate(z, labels), columns)}
