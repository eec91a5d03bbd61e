"""DCGAN networks (Radford et al. 2016), after pytorch/examples' dcgan, for 28, 32, 64 and 128 px.

Feature maps double in width as they halve in size; the smallest map is 4x4 (7x7 for 28 px MNIST-sized
images), so the number of stages follows from the image size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from ganlab.nets.interface import FeatureDiscriminator
from ganlab.utils.errors import GanlabError

Upsample = Literal["transposed", "nearest"]
Norm = Literal["batch", "layer", "none"]


def stages_for(image_size: int) -> tuple[int, int]:
    """(base, n): image_size = base * 2**n with base 4 or 7 and n >= 1; e.g. 64 -> (4, 4), 28 -> (7, 2)."""
    for base in (4, 7):
        n, size = 0, image_size
        while size > base and size % 2 == 0:
            size //= 2
            n += 1
        if size == base and n >= 1:
            return base, n
    raise GanlabError(
        f"data.image_size={image_size} is not supported by the DCGAN and ResNet networks: use 4*2^k or 7*2^k "
        "pixels (28, 32, 64, 128, ...)"
    )


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights for convs and linears, N(1, 0.02) for norm scales, zero biases."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d | nn.GroupNorm):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _up(in_ch: int, out_ch: int, upsample: Upsample) -> nn.Module:
    """Double the spatial size: strided transposed conv, or nearest upsample + 3x3 conv (no checkerboard)."""
    if upsample == "transposed":
        return nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False)
    if upsample == "nearest":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False)
        )
    raise GanlabError(f"upsample={upsample!r} is not known: use transposed or nearest")


def _extra_convs(count: int, channels: int, after: Callable[[], list[nn.Module]]) -> list[nn.Module]:
    """`count` 3x3 stride-1 convs at one resolution, each followed by `after()` (norm, activation): capacity
    where DCGAN has only the one strided layer per resolution."""
    return [m for _ in range(count) for m in (nn.Conv2d(channels, channels, 3, 1, 1, bias=False), *after())]


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) -> image (B, channels, image_size, image_size) in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int = 100,
        channels: int = 3,
        image_size: int = 64,
        width: int = 64,
        upsample: Upsample = "transposed",
        dense_first: bool = False,
        extra_convs: int = 0,
    ) -> None:
        super().__init__()
        base, n = stages_for(image_size)
        top = width * 2 ** (n - 1)

        def refine(ch: int) -> list[nn.Module]:
            return _extra_convs(extra_convs, ch, lambda: [nn.BatchNorm2d(ch), nn.ReLU(True)])

        if dense_first:  # a dense layer projects z to the first feature map (the Keras-style variant)
            self.project = nn.Sequential(
                nn.Linear(latent_dim, top * base * base, bias=False),
                nn.Unflatten(1, (top, base, base)),
                nn.BatchNorm2d(top),
                nn.ReLU(True),
                *refine(top),
            )
        else:  # a transposed conv spreads the 1x1 latent to base x base
            self.project = nn.Sequential(
                nn.Unflatten(1, (latent_dim, 1, 1)),
                nn.ConvTranspose2d(latent_dim, top, base, 1, 0, bias=False),
                nn.BatchNorm2d(top),
                nn.ReLU(True),
                *refine(top),
            )
        layers: list[nn.Module] = []
        for i in range(n - 1):
            in_ch, out_ch = top // 2**i, top // 2 ** (i + 1)
            layers += [_up(in_ch, out_ch, upsample), nn.BatchNorm2d(out_ch), nn.ReLU(True), *refine(out_ch)]
        layers += [_up(width, channels, upsample), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(self.project(z))


def _norm(kind: Norm, channels: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    if kind == "layer":  # over (C, H, W) of each image: per-image, as gradient penalties need
        return [nn.GroupNorm(1, channels)]
    if kind == "none":
        return []
    raise GanlabError(f"norm={kind!r} is not known: use batch, layer or none")


class DCGANDiscriminator(nn.Module, FeatureDiscriminator):
    """image -> one logit per image (no sigmoid: the loss applies it), or `out_features` per image.

    `norm`: batch (Radford et al.), layer (for WGAN-GP) or none; `spectral_norm` wraps every conv in
    Miyato et al.'s spectral normalisation (torch.nn.utils.parametrizations). Its features are the last
    feature map, flattened; the head is one conv over that whole map."""

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 64,
        width: int = 64,
        leaky_slope: float = 0.2,
        dropout: float = 0.0,
        norm: Norm = "batch",
        spectral_norm: bool = False,
        out_features: int = 1,
        extra_convs: int = 0,
    ) -> None:
        super().__init__()
        base, n = stages_for(image_size)

        def act() -> list[nn.Module]:
            return [nn.LeakyReLU(leaky_slope, True)] + ([nn.Dropout(dropout)] if dropout > 0 else [])

        def refine(ch: int) -> list[nn.Module]:
            return _extra_convs(extra_convs, ch, lambda: [*_norm(norm, ch), *act()])

        layers: list[nn.Module] = [
            nn.Conv2d(channels, width, 4, 2, 1, bias=False),
            *act(),
            *refine(width),
        ]  # no normalisation on the input
        for i in range(n - 1):
            in_ch, out_ch = width * 2**i, width * 2 ** (i + 1)
            layers += [
                nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False),
                *_norm(norm, out_ch),
                *act(),
                *refine(out_ch),
            ]
        self.body = nn.Sequential(*layers)
        top = width * 2 ** (n - 1)
        self.map_shape = (top, base, base)
        self.feature_dim = top * base * base
        # One logit per image; an encoder (out_features = latent size) keeps a vector per image.
        self.out = nn.Conv2d(top, out_features, base, 1, 0, bias=out_features > 1)
        self.apply(dcgan_init)
        if spectral_norm:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.utils.parametrizations.spectral_norm(module)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images).flatten(1)

    def logit(self, features: torch.Tensor) -> torch.Tensor:
        out = self.out(features.view(-1, *self.map_shape)).flatten(1)
        return out.flatten(0) if out.shape[1] == 1 else out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.out(self.body(images)).flatten(1)
        return out.flatten(0) if out.shape[1] == 1 else out


class DCGANEncoder(DCGANDiscriminator):
    """image -> latent code (B, latent_dim): the discriminator's conv stack with a latent-sized head."""

    def __init__(
        self,
        latent_dim: int,
        channels: int = 3,
        image_size: int = 64,
        width: int = 64,
        leaky_slope: float = 0.2,
    ) -> None:
        super().__init__(channels, image_size, width, leaky_slope, out_features=latent_dim)


class LatentDiscriminator(nn.Module):
    """latent code -> one logit: the AAE's discriminator between encoded codes and prior samples."""

    def __init__(self, latent_dim: int, hidden: int = 512, leaky_slope: float = 0.2) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.LeakyReLU(leaky_slope, True),
            nn.Linear(hidden, hidden), nn.LeakyReLU(leaky_slope, True),
            nn.Linear(hidden, 1), nn.Flatten(0),
        )  # fmt: skip

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)
