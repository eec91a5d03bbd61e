"""Latent exploration (`python evaluate.py ckpt_path=... task=interpolate|latent_shift`): what moving through
the prior does to the generated images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.utils import save_image

from ganlab.utils.errors import GanlabError
from ganlab.utils.modes import eval_mode


def truncated_normal(
    shape: tuple[int, ...], threshold: float | None, generator: torch.Generator | None, device: Any = None
) -> torch.Tensor:
    """N(0, I) samples whose components beyond +-threshold are drawn again until inside (the truncation trick,
    Brock et al. 2019), from `generator` alone: the same seed gives the same latents."""
    z = torch.randn(shape, generator=generator, device=device)
    if threshold is None:
        return z
    if not threshold > 0:
        raise GanlabError(f"truncation={threshold} must be above 0: e.g. 0.7 (smaller: less varied samples)")
    while (outside := z.abs() > threshold).any():
        z = torch.where(outside, torch.randn(shape, generator=generator, device=device), z)
    return z


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line from a to b: (N, D) endpoints, (T,) fractions -> (N, T, D)."""
    t = t.view(1, -1, 1)
    return a[:, None] * (1 - t) + b[:, None] * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Great-circle path from a to b (White 2016): in high dimensions gaussian samples lie near a sphere,
    and the straight line between two of them passes through the improbable region near the centre."""
    a_unit, b_unit = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((a_unit * b_unit).sum(1).clamp(-1.0, 1.0))[:, None, None]  # (N, 1, 1)
    t = t.view(1, -1, 1)
    sin = torch.sin(omega)
    safe = sin.abs() > 1e-6  # parallel endpoints: the straight line is the same path
    slerped = (torch.sin((1 - t) * omega) * a[:, None] + torch.sin(t * omega) * b[:, None]) / torch.where(
        safe, sin, torch.ones_like(sin)
    )
    return torch.where(safe, slerped, lerp(a, b, t.view(-1)))


def _generate(model: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    with eval_mode(model), torch.no_grad():
        return model.generate(z.to(model.device), None if labels is None else labels.to(model.device)).cpu()


def interpolate(
    model: nn.Module, out: Path, pairs: int = 8, steps: int = 10, method: str = "slerp", seed: int = 0
) -> Path:
    """`pairs` rows, each from one random latent to another in `steps` images (a conditional model keeps
    one random class per row). Returns the grid PNG."""
    paths = {"slerp": slerp, "linear": lerp}
    if method not in paths:
        raise GanlabError(f"interpolate.method={method!r} is not known: use slerp or linear")
    generator = torch.Generator().manual_seed(seed)
    a, b = model.sample_latent(pairs, generator), model.sample_latent(pairs, generator)
    labels = model.sample_labels(pairs, generator)
    z = paths[method](a, b, torch.linspace(0, 1, steps)).reshape(pairs * steps, -1)
    labels = None if labels is None else labels.repeat_interleave(steps)
    path = out / f"interpolate_{method}.png"
    _save(_generate(model, z, labels), path, steps)
    return path


def latent_shift(
    model: nn.Module, out: Path, means: list[float], std: float = 0.4, samples: int = 64, seed: int = 0
) -> list[Path]:
    """Samples from the model's prior moved to `mean` and shrunk to `std` in its standard units (N(mean,
    std^2 I) for a N(0, I) prior), the same draw for every mean, so only the mean differs: one grid per
    mean, and `latent_shift_means.png` with the average image of each mean in a row."""
    labels = model.sample_labels(samples, torch.Generator().manual_seed(seed + 1))
    written, averages = [], []
    for mean in means:
        z = model.sample_latent(samples, torch.Generator().manual_seed(seed), shift=mean, scale=std)
        images = _generate(model, z, labels)
        path = out / f"latent_shift_mean{mean:+.2f}_std{std:.2f}.png"
        _save(images, path, int(samples**0.5) or 1)
        written.append(path)
        averages.append(images.mean(0))
    path = out / "latent_shift_means.png"
    _save(torch.stack(averages), path, len(means))
    return [*written, path]


def _save(images: torch.Tensor, path: Path, per_row: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images, path, nrow=per_row, normalize=True, value_range=(-1, 1))
