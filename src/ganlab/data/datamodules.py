"""LightningDataModules: every dataset is decoded once into a memory-mapped uint8 cache on disk.

The first run decodes the images at the training resolution and writes `<cache_dir>/<key>.images.npy`
(key = dataset fingerprint + transform); every later epoch and run reads that array, so no JPEG is decoded
twice. Batches stay uint8 until they reach the device, where they become floats in [-1, 1].
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ganlab.data import cache
from ganlab.data.sampler import ResumableRandomSampler
from ganlab.utils.errors import GanlabError
from ganlab.utils.images import to_unit_range
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)

# Bump when decoding changes, so stale caches are not reused.
CACHE_VERSION = 2


class ArrayImageDataset(Dataset):
    """uint8 images (N, C, H, W) and integer labels (-1 when unlabelled), typically memory-mapped."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None) -> None:
        self.images = images
        self.labels = labels if labels is not None else np.full(len(images), -1, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(np.array(self.images[index])), int(self.labels[index])


class ImageDataModule(L.LightningDataModule):
    """Shared machinery: cache, loaders, uint8 -> [-1, 1] on the device. Subclasses say how to decode."""

    name = "images"

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 128,
        num_workers: int = 0,
        cache_dir: str | os.PathLike | None = None,
        flip: bool = False,
        pin_memory: bool = False,
        num_classes: int | None = None,
        name: str | None = None,
        holdout: int = 0,
    ) -> None:
        super().__init__()
        self.name = name or self.name  # names the cache files and the domain classifier (metrics=domain)
        if channels not in (1, 3):
            raise GanlabError(f"data.channels={channels} is not supported: use 1 (grayscale) or 3 (RGB)")
        self.image_size = image_size
        self.channels = channels
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.cache_dir = Path(cache_dir if cache_dir is not None else Path.home() / ".cache" / "ganlab")
        self.flip = flip
        self.pin_memory = pin_memory
        self.num_classes = num_classes
        self.holdout = holdout  # images kept out of training (a seeded random subset): the test split
        self.train_set: ArrayImageDataset | None = None
        self.holdout_set: ArrayImageDataset | None = None
        self._resume: tuple[int, int, dict[str, Any] | None] | None = None
        self.class_names: list[str] = []

    # --- what a subclass provides -------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """What identifies the source data (file list, sizes, dates); part of the cache key."""
        raise NotImplementedError

    def decode(self) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        """Read the source: uint8 images (N, C, H, W) at the training size, labels or None, metadata."""
        raise NotImplementedError

    def downscale(self) -> str:
        """How the source images were resized to `image_size` (recorded with every metric)."""
        raise NotImplementedError

    # --- cache ---------------------------------------------------------------------------------------
    def cache_key(self) -> str:
        spec = {
            "version": CACHE_VERSION,
            "dataset": self.name,
            "image_size": self.image_size,
            "channels": self.channels,
            **self.fingerprint(),
        }
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return f"{self.name}-{self.image_size}px-{self.channels}ch-{digest}"

    def cache_paths(self) -> dict[str, Path]:
        return cache.cache_paths(self.cache_dir, self.cache_key())

    def prepare_data(self) -> None:
        paths = self.cache_paths()
        if cache.read_meta(paths) is not None:
            return
        images, labels, meta = self.decode()
        cache.write_cache(paths, images, None if labels is None else labels.astype(np.int64), meta)
        log.info("cached %d %s images at %s", len(images), self.name, paths["images.npy"])

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        paths = self.cache_paths()
        meta = cache.read_meta(paths)
        if meta is None:  # setup() without prepare_data(), e.g. from a notebook, or a damaged cache
            self.prepare_data()
            meta = cache.read_meta(paths)
            assert meta is not None, "a cache just written reads back"
        images = np.load(paths["images.npy"], mmap_mode="r")
        labels = np.load(paths["labels.npy"]) if "labels.npy" in meta["files"] else None
        self.class_names = meta.get("class_names", [])
        if skipped := meta.get("skipped"):  # every run says so, not only the one that built the cache
            named = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
            total = len(skipped) + meta["count"]
            log.warning(
                "%s: skipped %d unreadable image file(s) of %d in %s: %s",
                self.name, len(skipped), total, meta.get("root"), named,
            )  # fmt: skip
        if labels is not None and self.num_classes is None:
            self.num_classes = len(self.class_names) or int(labels.max()) + 1
        self.train_set = ArrayImageDataset(images, labels)
        if self.holdout:
            if not 0 < self.holdout < len(images):
                raise GanlabError(
                    f"data.holdout={self.holdout} must lie between 0 and the {len(images)} images of "
                    f"{self.name}: lower it"
                )
            order = np.random.default_rng(0).permutation(len(images))
            held, kept = np.sort(order[: self.holdout]), np.sort(order[self.holdout :])
            self.holdout_set = ArrayImageDataset(images[held], None if labels is None else labels[held])
            self.train_set = ArrayImageDataset(images[kept], None if labels is None else labels[kept])

    # --- loading -------------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        if len(self.train_set) < self.batch_size:
            raise GanlabError(
                f"{self.name}: {len(self.train_set)} images is fewer than data.batch_size={self.batch_size}; "
                "lower data.batch_size or add images"
            )
        sampler = ResumableRandomSampler(len(self.train_set))
        if self._resume is not None:
            seed, batches_done, rng_states = self._resume
            sampler.resume(seed, batches_done * self.batch_size, rng_states)
            self._resume = None
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=True,  # a last batch of 1 breaks BatchNorm
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def resume_mid_epoch(self, seed: int, batches_done: int, rng_states: dict[str, Any] | None) -> None:
        """The next training loader starts the epoch whose permutation `seed` drew, after `batches_done`
        batches, and applies the checkpoint's `rng_states` then (LastCheckpoint's exact mid-epoch resume)."""
        self._resume = (seed, batches_done, rng_states)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """uint8 [0, 255] -> float [-1, 1] on the device (4x less to copy), with optional random h-flip."""
        images, labels = batch
        images = to_unit_range(images)
        if self.flip and self.trainer is not None and self.trainer.training:
            flip = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < 0.5
            images = torch.where(flip, images.flip(-1), images)
        return images, labels

    def has_test_split(self) -> bool:
        return self.holdout > 0

    def test_split(self) -> ImageDataModule:
        """The images kept out of training (`data.holdout`), as a data module of their own."""
        self.setup()
        test = copy.copy(self)
        test.train_set, test.holdout, test.holdout_set = self.holdout_set, 0, None
        test.name = f"{self.name}-holdout{self.holdout}"  # its own key for cached real statistics
        return test

    def test_dataloader(self) -> DataLoader:
        test = self.test_split().train_set
        return DataLoader(test, batch_size=self.batch_size, num_workers=self.num_workers)

    def real_images(self) -> np.ndarray:
        """All training images as uint8 (N, C, H, W), memory-mapped; what metrics compare against."""
        self.setup()
        assert self.train_set is not None
        return self.train_set.images

    def real_labels(self) -> np.ndarray:
        """The class of each of `real_images()`, -1 when unlabelled."""
        self.setup()
        assert self.train_set is not None
        return self.train_set.labels
