"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) of everything D sees, real and generated.

With a few thousand images D soon memorises the training set (its accuracy near 1) and G's gradients stop
saying anything useful. Translating and cutting out both real and generated images, differentiably so
that G learns through them, keeps D from memorising without G learning to make shifted, holed images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ganlab.utils.errors import GanlabError

POLICIES = ("translation", "cutout")


def check_policy(policy: Sequence[str] | None) -> tuple[str, ...]:
    names = (policy,) if isinstance(policy, str) else tuple(policy or ())  # model.augment=translation
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise GanlabError(
            f"model.augment: {unknown[0]!r} is not known; use a list of {', '.join(POLICIES)}, "
            "e.g. model.augment=[translation,cutout]"
        )
    return names


def diff_augment(images: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """Each image shifted by up to 1/8 of its side (zeros, i.e. mid-grey, coming in) and/or with a
    square of half its side cut out (set to 0), at random per image."""
    for name in policy:
        images = _translation(images) if name == "translation" else _cutout(images)
    return images


def _translation(images: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, height, width = images.shape
    limit = torch.tensor([width * ratio, height * ratio], device=images.device).round()
    shift = (torch.rand(n, 2, device=images.device) * (2 * limit + 1)).floor() - limit  # whole pixels
    theta = torch.zeros(n, 2, 3, device=images.device, dtype=images.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = -2 * shift / torch.tensor([width, height], device=images.device)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _cutout(images: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, height, width = images.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = torch.randint(0, height + (1 - size_y % 2), (n, 1, 1), device=images.device)
    centre_x = torch.randint(0, width + (1 - size_x % 2), (n, 1, 1), device=images.device)
    rows = torch.arange(height, device=images.device).view(1, -1, 1)
    cols = torch.arange(width, device=images.device).view(1, 1, -1)
    top, left = centre_y - size_y // 2, centre_x - size_x // 2
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return images * (~inside).unsqueeze(1).to(images.dtype)
