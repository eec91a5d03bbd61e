"""Pixel conversions, in one place: uint8 [0, 255] as stored and scored, floats in [-1, 1] as trained."""

from __future__ import annotations

import torch


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (a new tensor; the input is left alone)."""
    return images.to(torch.float32, copy=True).div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8, rounded exactly as torchvision's save_image writes PNGs."""
    return ((images + 1) / 2).mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
