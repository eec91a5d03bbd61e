"""ResNet generator and discriminator in the SNGAN style (Miyato et al. 2018; the "resnet" backbone of
mimicry and StudioGAN), for 28, 32, 64 and 128 px.

G: z -> a dense layer to the smallest map -> one up-block per doubling (BN, ReLU, nearest upsample, 3x3
conv, BN, ReLU, 3x3 conv, plus a 1x1 upsampled shortcut) -> BN, ReLU, 3x3 conv, tanh. D: an "optimised"
first block at the image's size, down-blocks to the smallest map, one block there, ReLU, global sum
pooling, a linear head; spectral norm on every conv and the head. Widths double towards the smallest map,
as in DCGAN, so `width` and the image size fix the whole net.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganlab.nets.dcgan import stages_for
from ganlab.nets.interface import FeatureDiscriminator


def _xavier(module: nn.Module, gain: float) -> nn.Module:
    """mimicry's init: Xavier-uniform weights (gain sqrt(2) in residual paths, 1 elsewhere), zero biases."""
    nn.init.xavier_uniform_(module.weight, gain)
    if module.bias is not None:
        nn.init.zeros_(module.bias)
    return module


def _conv(in_ch: int, out_ch: int, kernel: int, gain: float = math.sqrt(2)) -> nn.Conv2d:
    return _xavier(nn.Conv2d(in_ch, out_ch, kernel, 1, kernel // 2), gain)


class UpBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(in_ch), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(in_ch, out_ch, 3), nn.BatchNorm2d(out_ch), nn.ReLU(), _conv(out_ch, out_ch, 3),
        )  # fmt: skip
        self.shortcut = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), _conv(in_ch, out_ch, 1, 1.0)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class DownBlock(nn.Module):
    """Pre-activation residual block, average-pooled by 2 when `down`; `first`: no activation before the
    first conv and the shortcut pooled before its 1x1 conv (SNGAN's optimised block on the image)."""

    def __init__(self, in_ch: int, out_ch: int, down: bool, first: bool, slope: float) -> None:
        super().__init__()
        pool = [nn.AvgPool2d(2)] if down else []
        act = [] if first else [nn.LeakyReLU(slope)]
        self.residual = nn.Sequential(
            *act, _conv(in_ch, out_ch, 3), nn.LeakyReLU(slope), _conv(out_ch, out_ch, 3), *pool
        )
        learnable = down or in_ch != out_ch
        shortcut = [_conv(in_ch, out_ch, 1, 1.0)] if learnable else []
        self.shortcut = nn.Sequential(*(pool + shortcut if first else shortcut + pool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class ResNetGenerator(nn.Module):
    """z (B, latent_dim) -> image (B, channels, image_size, image_size) in [-1, 1]."""

    def __init__(
        self, latent_dim: int = 128, channels: int = 3, image_size: int = 32, width: int = 64
    ) -> None:
        super().__init__()
        base, n = stages_for(image_size)
        # As DCGAN's G: e.g. 32 px, 4w at 4x4, 2w at 8x8, w at 16x16 and at 32x32
        widths = [width * 2 ** max(n - 1 - i, 0) for i in range(n + 1)]
        self.project = nn.Sequential(
            _xavier(nn.Linear(latent_dim, widths[0] * base * base), 1.0),
            nn.Unflatten(1, (widths[0], base, base)),
        )
        self.blocks = nn.Sequential(*(UpBlock(widths[i], widths[i + 1]) for i in range(n)))
        self.out = nn.Sequential(
            nn.BatchNorm2d(widths[-1]), nn.ReLU(), _conv(widths[-1], channels, 3, 1.0), nn.Tanh()
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.project(z)))


class ResNetDiscriminator(nn.Module, FeatureDiscriminator):
    """image -> one logit per image (or `out_features` per image: an encoder); features are the summed
    last feature map. `leaky_slope` 0 is SNGAN's ReLU."""

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 32,
        width: int = 64,
        leaky_slope: float = 0.0,
        spectral_norm: bool = True,
        out_features: int = 1,
    ) -> None:
        super().__init__()
        _, n = stages_for(image_size)
        widths = [width * 2**i for i in range(n)]  # e.g. 32 px: w at 16x16, 2w at 8x8, 4w at 4x4
        blocks = [DownBlock(channels, widths[0], down=True, first=True, slope=leaky_slope)]
        blocks += [DownBlock(widths[i], widths[i + 1], True, False, leaky_slope) for i in range(n - 1)]
        blocks += [DownBlock(widths[-1], widths[-1], False, False, leaky_slope)]
        self.body = nn.Sequential(*blocks, nn.LeakyReLU(leaky_slope))
        self.feature_dim = widths[-1]
        self.out = _xavier(nn.Linear(widths[-1], out_features), 1.0)
        self.out_features = out_features
        if spectral_norm:
            for module in self.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    nn.utils.parametrizations.spectral_norm(module)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images).sum(dim=(2, 3))  # global sum pooling (SNGAN)

    def logit(self, features: torch.Tensor) -> torch.Tensor:
        out = self.out(features)
        return out.flatten(0) if self.out_features == 1 else out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(images))


class ResNetEncoder(ResNetDiscriminator):
    """image -> latent code (B, latent_dim): the discriminator's blocks with a latent-sized head and no
    spectral norm (an encoder is not a critic to keep Lipschitz)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int = 3,
        image_size: int = 32,
        width: int = 64,
        leaky_slope: float = 0.2,
    ) -> None:
        super().__init__(
            channels, image_size, width, leaky_slope, spectral_norm=False, out_features=latent_dim
        )
