"""Class conditioning around any generator and discriminator: the label joins z in G, and the image (or D's
features) in D. The wrapped networks are built by the model (models/cgan.py) from its config nodes."""

from __future__ import annotations

import torch
from torch import nn

from ganlab.nets.interface import FeatureDiscriminator
from ganlab.utils.errors import GanlabError


class ConditionalGenerator(nn.Module):
    """(z, label) -> image: a learned `embed_dim` label embedding concatenated to z (Mirza & Osindero);
    `net` takes latents of size latent_dim + embed_dim."""

    def __init__(self, net: nn.Module, num_classes: int, embed_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.net = net

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


class ConcatDiscriminator(nn.Module):
    """(image, label) -> logit: the label's embedding, one image-sized map, joins the image as an extra
    channel; `net` takes images with one channel more than the data's."""

    def __init__(self, net: nn.Module, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.net = net
        self.image_size = image_size
        self.embed = nn.Embedding(num_classes, image_size * image_size)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        maps = self.embed(labels).view(-1, 1, self.image_size, self.image_size)
        return self.net(torch.cat([images, maps], dim=1))


class ProjectionDiscriminator(nn.Module):
    """(image, label) -> logit(features) + <embedding(label), features> (Miyato & Koyama 2018), for any
    discriminator that declares its features (nets.interface.FeatureDiscriminator)."""

    def __init__(self, net: nn.Module, num_classes: int) -> None:
        super().__init__()
        if not isinstance(net, FeatureDiscriminator):
            raise GanlabError(
                f"model.conditioning=projection needs a discriminator that declares its features "
                f"(ganlab.nets.FeatureDiscriminator); {type(net).__name__} does not: use "
                "model.conditioning=concat"
            )
        self.net = net
        self.embed = nn.Embedding(num_classes, net.feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        features = self.net.features(images)
        return self.net.logit(features) + (self.embed(labels) * features).sum(1)
