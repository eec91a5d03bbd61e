"""Conditional GAN: the base machinery with class conditioning around any G and D; one grid row per class."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from ganlab.models.base import GAN
from ganlab.models.components import build
from ganlab.models.interface import Conditional
from ganlab.nets.conditional import ConcatDiscriminator, ConditionalGenerator, ProjectionDiscriminator
from ganlab.utils.errors import GanlabError


class CGAN(GAN, Conditional):
    """The number of classes, G's label embedding size and D's conditioning: `concat` (the label as an
    extra image channel, any D) or `projection` (Miyato & Koyama; any D that declares its features)."""

    def __init__(
        self,
        num_classes: int | None,
        embed_dim: int = 50,
        conditioning: Literal["concat", "projection"] = "concat",
        grid_columns: int = 10,
        **kwargs: Any,
    ) -> None:
        if not num_classes:
            raise GanlabError(
                "model=cgan needs the number of classes: use a labelled dataset (mnist, fashion_mnist, "
                "mnist_mini) or data=image_folder data.labels=true data.num_classes=<number of sub-folders>"
            )
        self.num_classes = num_classes
        super().__init__(**kwargs)

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """G takes z joined to the label's embedding; a concat D takes one channel more than the data."""
        hp = self.hparams
        generator = ConditionalGenerator(
            self.build_generator(hp.latent_dim + hp.embed_dim), hp.num_classes, hp.embed_dim
        )
        concat = hp.conditioning == "concat"
        net_d = build(
            hp.discriminator or self.default_discriminator, "model.discriminator",
            channels=hp.channels + concat, image_size=hp.image_size,
        )  # fmt: skip
        if concat:
            return generator, ConcatDiscriminator(net_d, hp.num_classes, hp.image_size)
        return generator, ProjectionDiscriminator(net_d, hp.num_classes)

    def run_generator(self, network: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return network(z, labels)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(images, labels)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Classes drawn uniformly (the class balance of MNIST and Fashion-MNIST)."""
        device = None if generator is not None else self.device
        return torch.randint(self.num_classes, (n,), generator=generator, device=device)

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
        columns, classes = min(self.hparams.grid_columns, len(self.fixed_z)), self.num_classes
        z = self.fixed_z[:columns].repeat(classes, 1)
        labels = torch.arange(classes, device=self.device).repeat_interleave(columns)
        return {"fixed_noise": (self.generate(z, labels), columns)}
