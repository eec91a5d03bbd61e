"""Checks of a feature space before its numbers are trusted: held-out real images against the training
images score near 0, and sets a person sees as worse score worse: blurred, cut into shuffled tiles,
colour-shifted, and mode-collapsed (the same 50 images over and over)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torchvision.transforms.v2 import functional as TF

from ganlab.metrics.scores import GenerativeScores

SPACE_METRICS = ("fid", "kid", "prdc")


def blurred(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A Gaussian blur of 1.5 px (sigma): what a person calls soft."""
    return TF.gaussian_blur(images, kernel_size=[7, 7], sigma=[1.5, 1.5])


def tiles_shuffled(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image cut into 2x2 tiles put back in a random order: the parts of a face, not a face."""
    size = images.shape[-1] // 2
    tiles = images.unfold(2, size, size).unfold(3, size, size).reshape(*images.shape[:2], 4, size, size)
    order = torch.stack([torch.randperm(4, generator=generator) for _ in images])
    tiles = tiles[torch.arange(len(images))[:, None], :, order].transpose(1, 2)  # (N, C, 4, s, s)
    top = torch.cat([tiles[:, :, 0], tiles[:, :, 1]], 3)
    bottom = torch.cat([tiles[:, :, 2], tiles[:, :, 3]], 3)
    return torch.cat([top, bottom], 2).contiguous()


def colour_shifted(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """RGB rolled to BRG (skin and hair in the wrong colours); gray images brightened by 64 levels."""
    if images.shape[1] == 3:
        return images.roll(1, dims=1)
    return images.to(torch.int16).add(64).clamp(0, 255).to(torch.uint8)


def collapsed(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """50 of the images, repeated to the set's size: a mode-collapsed generator's output."""
    return images[:50].repeat(len(images) // 50 + 1, 1, 1, 1)[: len(images)]


CORRUPTIONS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "colour-shifted": colour_shifted,
    "blurred": blurred,
    "tiles shuffled": tiles_shuffled,
    "collapsed": collapsed,
}


@torch.no_grad()
def space_report(
    extractor: nn.Module,
    reference: torch.Tensor,
    held_out: torch.Tensor,
    seed: int = 0,
    batch_size: int = 250,
) -> dict[str, dict[str, Any]]:
    """FID, KID, precision, recall, density and coverage of the held-out real images ("real") and of each
    corruption of them, all against `reference` (uint8 NCHW, the training images) in `extractor`'s space."""
    subset = min(1000, len(held_out))
    scores = GenerativeScores(extractor, names=SPACE_METRICS, seed=seed, kid_subset_size=subset)
    for start in range(0, len(reference), batch_size):
        scores.update(reference[start : start + batch_size], real=True)
    sets = {"real": held_out}
    generator = torch.Generator().manual_seed(seed)
    sets |= {name: corrupt(held_out, generator) for name, corrupt in CORRUPTIONS.items()}
    report = {}
    for name, images in sets.items():
        scores.reset_fake()
        for start in range(0, len(images), batch_size):
            scores.update(images[start : start + batch_size], real=False)
        report[name] = scores.compute()
    return report
