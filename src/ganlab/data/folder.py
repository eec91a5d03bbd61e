"""Any folder of images (anime faces, CelebA, Pokemon, your own), labels optionally from sub-folders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from ganlab.data import sources
from ganlab.data.datamodules import ImageDataModule
from ganlab.utils.errors import DatasetNotFoundError, GanlabError


class ImageFolderDataModule(ImageDataModule):
    """Any folder of images (sources.IMAGE_EXTENSIONS), searched recursively; optional labels from the first
    sub-folder.

    `anime`, `celeba` and `pokemon` are this class with their own defaults and download hints.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        name: str = "image_folder",
        labels: bool = False,
        crop_size: int | None = None,
        download_hint: str = f"Point data.root at a folder of {sources.IMAGE_KINDS} images.",
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
                    f"{self.name}: no {sources.IMAGE_KINDS} images under "
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

    def downscale(self) -> str:
        return sources.file_downscale(self.image_size, self.crop_size)

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
