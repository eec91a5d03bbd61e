"""Class-conditional DCGAN networks: the label joins z in G, and the image (or D's features) in D."""

from __future__ import annotations

import torch
from torch import nn

from ganlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganlab.utils.errors import GanlabError


class ConditionalGenerator(nn.Module):
    """(z, label) -> image: a learned `embed_dim` label embedding concatenated to z (Mirza & Osindero)."""

    def __init__(self, latent_dim: int, num_classes: int, embed_dim: int = 50, **dcgan: object) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.net = DCGANGenerator(latent_dim + embed_dim, **dcgan)  # type: ignore[arg-type]

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """(image, label) -> logit.

    `concat`: the label's embedding, one image-sized map, joins the image as an extra channel.
    `projection` (Miyato & Koyama): the logit gains the inner product of the label's embedding with D's
    last feature map.
    """

    def __init__(
        self,
        channels: int,
        image_size: int,
        num_classes: int,
        conditioning: str = "concat",
        **dcgan: object,
    ) -> None:
        super().__init__()
        self.conditioning = conditioning
        self.image_size = image_size
        if conditioning == "concat":
            self.net = DCGANDiscriminator(channels + 1, image_size, **dcgan)  # type: ignore[arg-type]
            self.embed = nn.Embedding(num_classes, image_size * image_size)
        elif conditioning == "projection":
            self.net = DCGANDiscriminator(channels, image_size, **dcgan)  # type: ignore[arg-type]
            head = self.net.main[-2]  # the last conv: its input is D's last feature map
            self.embed = nn.Embedding(
                num_classes, head.in_channels * head.kernel_size[0] * head.kernel_size[1]
            )
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        else:
            raise GanlabError(f"model.conditioning={conditioning!r} is not known: use concat or projection")

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.conditioning == "concat":
            maps = self.embed(labels).view(-1, 1, self.image_size, self.image_size)
            return self.net(torch.cat([images, maps], dim=1))
        features = self.net.main[:-2](images)
        return self.net.main[-2:](features) + (self.embed(labels) * features.flatten(1)).sum(1)
