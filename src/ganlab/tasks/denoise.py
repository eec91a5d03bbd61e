"""`task=denoise input_dir=<folder>`: a denoising model (model=dae) applied to a folder of images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from PIL import Image
from torch import nn

from ganlab.data import sources
from ganlab.models.interface import Denoises
from ganlab.tasks import register_task
from ganlab.utils.errors import GanlabError
from ganlab.utils.images import to_uint8, to_unit_range
from ganlab.utils.modes import eval_mode
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


@register_task("denoise")
def denoise_folder(
    cfg: DictConfig, model: nn.Module, checkpoint: dict[str, Any], out: Path
) -> dict[str, Any]:
    """`task=denoise input_dir=<folder>`: each image through a denoising model, saved under `denoised/`
    with its own relative name (as PNG), at the model's resolution."""
    if not isinstance(model, Denoises):
        raise GanlabError(f"task=denoise needs a denoising model (model=dae), not {type(model).__name__}")
    if not cfg.get("input_dir"):
        raise GanlabError("task=denoise needs input_dir=<a folder of images>")
    root = Path(cfg.input_dir).expanduser()
    files = sources.image_files(root, "input_dir")
    channels, size, _ = model.image_shape
    images, kept, skipped = sources.decode_images(files, size, channels)
    if skipped:
        log.warning(
            "input_dir: skipped %d unreadable file(s): %s", len(skipped), ", ".join(map(str, skipped[:10]))
        )
    written = []
    with eval_mode(model), torch.no_grad():
        for start in range(0, len(images), cfg.metrics.batch_size):
            batch = torch.from_numpy(images[start : start + cfg.metrics.batch_size]).to(model.device)
            cleaned = to_uint8(model.denoise(to_unit_range(batch))).cpu().numpy()
            for i, image in zip(kept[start : start + len(batch)], cleaned, strict=True):
                path = (out / "denoised" / files[i].relative_to(root)).with_suffix(".png")
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)).save(path)
                written.append(str(path))
    log.info("%d denoised images in %s", len(written), out / "denoised")
    return {"task": "denoise", "files": written}
