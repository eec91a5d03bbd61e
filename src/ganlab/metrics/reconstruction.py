"""Reconstruction error of autoencoders on the scored real images."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn
from torch.nn import functional as F

from ganlab.metrics.evaluation import real_subset
from ganlab.models.interface import Denoises
from ganlab.utils.images import to_unit_range
from ganlab.utils.modes import eval_mode
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


def reconstruction_error(cfg: DictConfig, model: nn.Module, real: np.ndarray, count: int) -> dict[str, Any]:
    """Autoencoders: the mean squared error of reconstructing the scored real images (pixels in [-1, 1], as
    the training loss) and its PSNR. A denoising model gets them with its training noise (seeded), and the
    noisy input's own error is reported beside it: the baseline that denoising has to beat."""
    seed, batch_size = cfg.metrics.seed, cfg.metrics.batch_size
    index = real_subset(len(real), count, seed)
    noise = torch.Generator().manual_seed(seed)
    totals = {"mse": 0.0, "noisy_input_mse": 0.0}
    with eval_mode(model), torch.no_grad():
        for start in range(0, count, batch_size):
            batch = torch.from_numpy(np.asarray(real[index[start : start + batch_size]])).to(model.device)
            clean = to_unit_range(batch)
            if isinstance(model, Denoises):
                noisy = model.add_noise(clean, noise)
                totals["noisy_input_mse"] += F.mse_loss(noisy, clean, reduction="sum").item()
                output = model.denoise(noisy)
            else:
                output = model.reconstruct(clean)
            totals["mse"] += F.mse_loss(output, clean, reduction="sum").item()
    pixels = count * int(np.prod(real.shape[1:]))
    result: dict[str, Any] = {"mse": totals["mse"] / pixels, "n": count, "pixels": "[-1, 1]"}
    if isinstance(model, Denoises):
        result["noisy_input_mse"] = totals["noisy_input_mse"] / pixels
        result["noise_factor"] = model.noise_factor
    result["psnr_db"] = float(10 * np.log10(4 / result["mse"]))  # peak-to-peak 2 in [-1, 1]
    log.info("reconstruction: %s", result)
    return result
