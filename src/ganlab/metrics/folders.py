"""`evaluate.py real_dir=<folder> fake_dir=<folder>`: two folders of images scored against each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from PIL import Image

from ganlab.data import ImageFolderDataModule, sources
from ganlab.metrics.evaluation import add_real_images, real_stats_path
from ganlab.metrics.report import make_scores, write_report
from ganlab.utils.errors import GanlabError
from ganlab.utils.ranked_log import RankedLogger
from ganlab.utils.restore import pick_device

log = RankedLogger(__name__)


def score_folders(cfg: DictConfig) -> dict[str, Any]:
    if not (cfg.get("real_dir") and cfg.get("fake_dir")):
        raise GanlabError("scoring folders needs both real_dir=<folder> and fake_dir=<folder>")
    real_dir, fake_dir = Path(cfg.real_dir).expanduser(), Path(cfg.fake_dir).expanduser()
    fake_files = sources.image_files(fake_dir, "fake_dir")
    size, channels = image_format(fake_files)
    # Every image at its own size, as torch-fidelity reads them; the real folder's decode is cached.
    real_module = ImageFolderDataModule(
        root=real_dir, name=f"folder-{real_dir.name}", image_size=size, channels=channels,
        cache_dir=Path(cfg.paths.cache_dir) / "datasets",
        download_hint=f"Pass real_dir=<a folder of {sources.IMAGE_KINDS} images>.",
    )  # fmt: skip
    real = real_module.real_images()
    fake, _, skipped = sources.decode_images(fake_files, size, channels)
    if skipped:
        named = ", ".join(map(str, skipped[:10]))
        log.warning("fake_dir: skipped %d unreadable file(s): %s", len(skipped), named)

    device = pick_device(cfg.get("device", "auto"))
    extractor, scores = make_scores(cfg, device)
    seed = cfg.metrics.seed
    cache = real_stats_path(
        cfg.metrics.cache_dir, real_module.name, real_module.cache_key(), extractor, len(real), seed
    )
    scores.real_downscale = real_module.downscale()
    add_real_images(scores, real, len(real), seed, cfg.metrics.batch_size, cache)
    for batch in torch.from_numpy(fake).split(cfg.metrics.batch_size):
        scores.update(batch.to(device), real=False)
    source = {
        "real_dir": str(real_dir.resolve()),
        "fake_dir": str(fake_dir.resolve()),
        "image_size": size,
        "channels": channels,
    }
    return write_report(scores, source, Path(cfg.paths.output_dir), None)


def image_format(files: list[Path]) -> tuple[int, int]:
    """The side and channel count of the first readable image; others are centre-fitted to it."""
    for path in files:
        try:
            with Image.open(path) as image:
                width, height = image.size
                channels = 1 if image.mode in ("L", "LA", "I", "I;16", "1") else 3
        except OSError:
            continue
        if width != height:
            raise GanlabError(f"'{path}' is {width}x{height}: score square images (crop or resize first)")
        return width, channels
    raise GanlabError(f"none of the {len(files)} files in '{files[0].parent}' could be read as an image")
