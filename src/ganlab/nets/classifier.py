"""A small CNN for MNIST-like data, whose penultimate layer serves as a domain feature space for FID/IS."""

from __future__ import annotations

import torch
from torch import nn


class DomainClassifier(nn.Module):
    """Two conv blocks, a `feature_dim` dense layer (the features), a linear head (the logits)."""

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        width: int = 32,
        feature_dim: int = 128,
    ) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(True)]

        flat = 2 * width * (image_size // 4) ** 2
        self.body = nn.Sequential(
            *block(channels, width), *block(width, width), nn.MaxPool2d(2),
            *block(width, 2 * width), *block(2 * width, 2 * width), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(flat, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(True),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))
