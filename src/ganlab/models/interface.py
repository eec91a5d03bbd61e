"""What callers may rely on, declared once: the generative interface and the capabilities a model has.

Sample grids, metrics, evaluate.py's tasks and the latent tools call these methods and check a model's
capabilities with `isinstance` against these classes, never by probing for attributes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import torch
from torch import nn


class GenerativeModel(ABC):
    """Draws images in [-1, 1] from a prior: latents, optional class labels, the generator."""

    device: torch.device
    image_shape: tuple[int, int, int]  # (channels, height, width) of the images it makes
    prior: str  # the standard noise it starts from: "normal" (N(0, I)) or "uniform" (U(-1, 1))

    @abstractmethod
    def sample_latent(
        self,
        n: int,
        generator: torch.Generator | None = None,
        shift: float = 0.0,
        scale: float = 1.0,
        truncation: float | None = None,
    ) -> torch.Tensor:
        """n latent vectors from the prior (on the CPU when a CPU `generator` is given); `shift` and `scale`
        move and shrink the prior in its own standard units (N(shift, scale^2) for a N(0, I) prior), what
        `task=latent_shift` explores; `truncation`: the truncation trick, components beyond +-truncation
        standard units drawn again (normal priors only)."""

    @abstractmethod
    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """The classes to generate, for conditional models; None for the others."""

    @abstractmethod
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images for latents `z` (and `labels`, conditional models)."""

    @abstractmethod
    def generator_network(self) -> nn.Module:
        """The network alone, for export (`task=export`): (noise[, labels]) -> images in [-1, 1], the noise
        standard (`prior`, as sample_latent draws it unshifted); the EMA copy where sampling would use it."""

    @abstractmethod
    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """Images for the sample-grid callback: name -> (images in [-1, 1], images per row)."""

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """n images from the prior, of the classes `labels` (conditional models; drawn by `sample_labels`
        when None); with a (CPU) `generator`, the global RNG is left alone."""
        z = self.sample_latent(n, generator=generator).to(self.device)
        if labels is None:
            labels = self.sample_labels(n, generator=generator)
        return self.generate(z, None if labels is None else labels.to(self.device))


class Averaged(ABC):
    """Keeps an exponential moving average of G, which sampling uses once averaging has started."""

    sample_from_ema: bool  # False: sample G as trained (evaluate.py task=sample sample.ema=false)

    @property
    @abstractmethod
    def samples_ema(self) -> bool:
        """Whether sampling now runs the EMA copy (it exists, has started and is asked for)."""


class Conditional(ABC):
    """Generates the class it is asked for: labels 0 .. num_classes - 1 (one grid row per class, per-class
    scores, `classes=` when sampling)."""

    num_classes: int


class Reconstructs(ABC):
    """An autoencoder: images back through its code (scored by evaluate's reconstruction error)."""

    @abstractmethod
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor: ...


class Denoises(ABC):
    """A denoising model: its training noise, and the clean images it recovers (`task=denoise`)."""

    noise_factor: float  # the training noise's standard deviation, in [0, 1] pixel units

    @abstractmethod
    def add_noise(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor: ...

    @abstractmethod
    def denoise(self, images: torch.Tensor) -> torch.Tensor: ...


class Exports(ABC):
    """Writes a file for other tools at the end of training (the domain classifier for metrics=domain)."""

    @abstractmethod
    def export(self, path: str | Path | None = None) -> Path | None: ...

    @staticmethod
    def destination(path: str | Path | None) -> Path | None:
        """Where an export goes, its folder made; None when no path is set (nothing to write)."""
        if path is None:
            return None
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def row_grid(rows: list[torch.Tensor], per_row: int = 8) -> tuple[torch.Tensor, int]:
    """Image sets of equal size shown row by row in turn (inputs above their reconstructions, ...): the
    first `per_row` of each set, then the next `per_row` of each, ...; the sets are cut to whole rows."""
    count = len(rows[0]) // per_row * per_row
    stacked = torch.stack([images[:count].view(-1, per_row, *images.shape[1:]) for images in rows], 1)
    return stacked.reshape(-1, *rows[0].shape[1:]), per_row
