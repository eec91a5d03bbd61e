"""The training shuffle, able to start an epoch part-way (for exact resumes from mid-epoch checkpoints)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Sampler

from ganlab.utils.rng import set_rng_states


class ResumableRandomSampler(Sampler[int]):
    """torch's RandomSampler (the same single draw from the global RNG per epoch, so seeded runs shuffle
    exactly as with `shuffle=True`), plus `seed`, the current epoch's permutation seed, and `resume`, which
    makes the next epoch that permutation without its first `skip` indices.

    `resume` also takes the RNG states of the checkpoint, applied when the resumed epoch's first index is
    drawn: that is after the data loader's iterator has drawn its own seeds (an uninterrupted run drew them
    at the start of the epoch) and before any batch reaches the model, so the run goes on as if never
    stopped."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.seed: int | None = None
        self._resume: tuple[int, int, dict[str, Any] | None] | None = None

    def __len__(self) -> int:
        return self.size

    def resume(self, seed: int, skip: int, rng_states: dict[str, Any] | None = None) -> None:
        self._resume = (seed, skip, rng_states)

    def __iter__(self) -> Iterator[int]:
        if self._resume is not None:
            (self.seed, start, rng_states), self._resume = self._resume, None
            if rng_states is not None:
                set_rng_states(rng_states)
        else:
            self.seed, start = int(torch.empty((), dtype=torch.int64).random_().item()), 0
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        yield from torch.randperm(self.size, generator=generator)[start:].tolist()
