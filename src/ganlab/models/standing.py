"""Standing statistics (Brock et al. 2019, BigGAN): G's BatchNorm statistics recomputed from its own output
before sampling, instead of the running averages kept while it trained. Early in training G changes faster
than a running average follows, and the EMA of G averages statistics of generators it does not match:
sampled in eval mode, either gives faces cast in one colour (docs/results.md measures it on anime faces)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

# (count, generator) -> latents and labels (None for an unconditional model) of `count` samples
Draw = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor | None]]
# (network, latents, labels) -> images: how the model runs a generator network
Run = Callable[[nn.Module, torch.Tensor, torch.Tensor | None], torch.Tensor]


class _Sampling(nn.Module):
    """A generator as update_bn calls it: one batch of latents (and labels) in, images out."""

    def __init__(self, network: nn.Module, run: Run) -> None:
        super().__init__()
        self.network, self.run = network, run

    def forward(self, batch: dict[str, torch.Tensor | None]) -> torch.Tensor:
        device = next(self.network.parameters()).device
        labels = batch["labels"]
        return self.run(self.network, batch["z"].to(device), None if labels is None else labels.to(device))


def standing_statistics(
    network: nn.Module, draw: Draw, run: Run, count: int, seed: int, batch_size: int = 128
) -> None:
    """Replace `network`'s BatchNorm running statistics by their plain average over `count` samples drawn in
    train mode, from noise of `seed` (the global RNG is left alone: resumed runs stay exact)."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for start in range(0, count, batch_size):
        z, labels = draw(min(batch_size, count - start), generator)
        batches.append({"z": z, "labels": labels})
    update_bn(batches, _Sampling(network, run))
