"""DataModules on real files: the shared datasets, and small images written here (corrupt, RGBA, ...)."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch
from conftest import shared, write_image

from ganlab.data import IdxDataModule, ImageFolderDataModule, MnistMiniDataModule
from ganlab.data.sources import read_idx
from ganlab.utils.errors import DatasetNotFoundError, GanlabError

MNIST_TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def first_batch(dm) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch as the model sees it: through the real DataLoader and the after-transfer hook."""
    dm.prepare_data()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    return dm.on_after_batch_transfer(batch, 0)


def test_mnist_mini_is_the_embedded_real_digits(tmp_path: Path) -> None:
    dm = MnistMiniDataModule(cache_dir=tmp_path, batch_size=32)
    images, labels = first_batch(dm)
    assert dm.real_images().shape == (5000, 1, 28, 28)
    assert np.bincount(dm.train_set.labels).tolist() == [500] * 10
    assert images.shape == (32, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    # Real digits: mostly background (-1) with bright strokes reaching +1.
    assert (images == -1).float().mean() > 0.6 and images.max() == 1
    assert labels.dtype == torch.int64 and labels.min() >= 0 and labels.max() <= 9


def test_mnist_mini_resizes_and_repeats_channels(tmp_path: Path) -> None:
    dm = MnistMiniDataModule(cache_dir=tmp_path, image_size=32, channels=3, batch_size=4)
    images, _ = first_batch(dm)
    assert images.shape == (4, 3, 32, 32)
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])


def test_mnist_idx_files_from_shared_data(dataset_cache: Path) -> None:
    dm = IdxDataModule(
        root=shared("mnist"), name="mnist", download=False, cache_dir=dataset_cache, batch_size=16
    )
    images, labels = first_batch(dm)
    assert labels.shape == (16,) and labels.max() <= 9
    assert dm.real_images().shape == (60000, 1, 28, 28)
    assert np.bincount(dm.train_set.labels).tolist() == MNIST_TRAIN_LABEL_COUNTS
    assert images.shape == (16, 1, 28, 28) and dm.num_classes == 10


@pytest.mark.parametrize(("split", "count"), [("train", 60000), ("test", 10000)])
def test_fashion_mnist_both_splits(dataset_cache: Path, split: str, count: int) -> None:
    dm = IdxDataModule(
        root=shared("fashion-mnist"),
        name="fashion_mnist",
        split=split,
        download=False,
        cache_dir=dataset_cache,
    )
    dm.setup()
    assert dm.real_images().shape == (count, 1, 28, 28)
    assert np.bincount(dm.train_set.labels).tolist() == [count // 10] * 10


def test_holdout_is_the_test_split_and_is_never_trained_on(dataset_cache: Path) -> None:
    """MNIST here has no t10k files: `data.holdout` keeps a seeded random part out of training as the test
    split (the classifier that scores `python train.py` is tested on digits it never saw)."""

    def mnist(**kwargs) -> IdxDataModule:
        return IdxDataModule(root=shared("mnist"), name="mnist", download=False, cache_dir=dataset_cache,
                             **kwargs)  # fmt: skip

    assert not mnist().has_test_split()  # no t10k files: nothing to test on, and no download attempted
    dm = mnist(holdout=5000)
    assert dm.has_test_split()
    dm.setup()
    train, test = dm.train_dataloader().dataset, dm.test_dataloader().dataset
    assert (len(train), len(test)) == (55000, 5000)
    every = np.asarray(mnist().real_images()).reshape(60000, -1)
    rows = [bytes(r) for part in (train.images, test.images) for r in np.asarray(part).reshape(len(part), -1)]
    assert sorted(rows) == sorted(bytes(r) for r in every)  # the two parts are a partition of the images
    assert np.bincount(test.labels).min() > 400  # a random subset: every class is in it
    assert dm.test_split().cache_key() != dm.cache_key()  # real statistics cached apart from training's
    with pytest.raises(GanlabError, match=r"data\.holdout=60000 must lie between 0 and the 60000 images"):
        mnist(holdout=60000).setup()


def test_idx_reads_gzipped_and_plain_files_alike(tmp_path: Path) -> None:
    source = shared("fashion-mnist")
    plain = tmp_path / "plain"
    plain.mkdir()
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (plain / stem).write_bytes(gzip.decompress((source / f"{stem}.gz").read_bytes()))
    assert np.array_equal(
        read_idx(plain / "t10k-images-idx3-ubyte"), read_idx(source / "t10k-images-idx3-ubyte.gz")
    )
    dm = IdxDataModule(
        root=plain, name="fashion_mnist", split="test", download=False, cache_dir=tmp_path / "c"
    )
    dm.setup()
    assert len(dm.train_set) == 10000


def test_idx_missing_files_name_the_folder_and_the_fix(tmp_path: Path) -> None:
    dm = IdxDataModule(root=tmp_path / "nowhere", name="mnist", download=False, cache_dir=tmp_path)
    with pytest.raises(DatasetNotFoundError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert str(tmp_path / "nowhere") in message and "train-images-idx3-ubyte" in message
    assert "data.download=true" in message and "\n" not in message


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder as users have them: nested, mixed formats, an RGBA png, a grayscale png and a corrupt jpg."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    write_image(root / "cats" / "a.png", rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
    write_image(root / "cats" / "b.jpg", rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    write_image(root / "dogs" / "c.webp", rng.integers(0, 255, (30, 30, 3), dtype=np.uint8))
    write_image(root / "dogs" / "gray.png", np.full((32, 32), 100, dtype=np.uint8))
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)  # fully transparent except a red centre
    rgba[8:24, 8:24] = (255, 0, 0, 255)
    write_image(root / "dogs" / "sprite.png", rgba)
    (root / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (root / "notes.txt").write_text("not an image")
    return root


def test_image_folder_skips_and_names_unreadable_files(folder: Path, tmp_path: Path, caplog) -> None:
    dm = ImageFolderDataModule(
        root=folder / "dogs", image_size=16, channels=3, cache_dir=tmp_path, batch_size=2
    )
    with caplog.at_level(logging.WARNING):
        dm.setup()
    assert len(dm.train_set) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 1 unreadable image file(s) of 4" in warnings[0]
    assert "broken.jpg" in warnings[0]
    caplog.clear()  # a later run reads the cache, and says so again
    again = ImageFolderDataModule(root=folder / "dogs", image_size=16, channels=3, cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING):
        again.setup()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == warnings


def test_image_folder_composites_transparency_on_white(folder: Path, tmp_path: Path) -> None:
    dm = ImageFolderDataModule(
        root=folder / "dogs", image_size=32, channels=3, cache_dir=tmp_path, batch_size=1
    )
    dm.setup()
    files = [p.name for p in dm.files() if p.name != "broken.jpg"]
    sprite = dm.real_images()[files.index("sprite.png")]
    assert sprite[:, 0, 0].tolist() == [255, 255, 255]  # transparent corner -> white
    assert sprite[:, 16, 16].tolist() == [255, 0, 0]  # opaque centre keeps its colour


def test_image_folder_reads_every_common_format(tmp_path: Path) -> None:
    """gif, bmp, tiff, ppm and tga files beside a png are images too (they were once skipped without a
    word): each decodes to the png's pixels (four colours: exact in a GIF's palette as well)."""
    colours = np.array([[255, 0, 0], [0, 128, 255], [20, 200, 20], [250, 250, 250]], dtype=np.uint8)
    pixels = colours[np.random.default_rng(1).integers(0, 4, (16, 16))]
    suffixes = ("png", "gif", "bmp", "tiff", "ppm", "tga")
    for suffix in suffixes:
        write_image(tmp_path / "formats" / f"a.{suffix}", pixels)
    dm = ImageFolderDataModule(root=tmp_path / "formats", image_size=16, channels=3, cache_dir=tmp_path)
    dm.setup()
    assert sorted(p.suffix[1:] for p in dm.files()) == sorted(suffixes)
    assert all((image == pixels.transpose(2, 0, 1)).all() for image in dm.real_images())


def test_image_folder_grayscale_recursive_and_labels(folder: Path, tmp_path: Path) -> None:
    dm = ImageFolderDataModule(
        root=folder, labels=True, image_size=8, channels=1, cache_dir=tmp_path, batch_size=2
    )
    images, labels = first_batch(dm)
    assert dm.real_images().shape == (5, 1, 8, 8)  # 6 image files, the corrupt one skipped; .txt ignored
    assert dm.class_names == ["cats", "dogs"] and dm.num_classes == 2
    assert sorted(dm.train_set.labels.tolist()) == [0, 0, 1, 1, 1]
    assert images.shape == (2, 1, 8, 8) and set(labels.tolist()) <= {0, 1}


def test_labels_need_sub_folders(folder: Path, tmp_path: Path) -> None:
    write_image(folder / "loose.png", np.zeros((8, 8, 3), dtype=np.uint8))
    dm = ImageFolderDataModule(root=folder, labels=True, image_size=8, cache_dir=tmp_path)
    with pytest.raises(GanlabError, match=r"loose\.png"):
        dm.prepare_data()


class CountingFolder(ImageFolderDataModule):
    decodes = 0

    def decode(self):
        CountingFolder.decodes += 1
        return super().decode()


def test_cache_decodes_once_and_notices_new_files(folder: Path, tmp_path: Path) -> None:
    kwargs = {"root": folder / "cats", "image_size": 16, "cache_dir": tmp_path / "cache", "batch_size": 1}
    first = CountingFolder(**kwargs)
    first.setup()
    second = CountingFolder(**kwargs)
    second.setup()
    assert CountingFolder.decodes == 1
    assert np.array_equal(first.real_images(), second.real_images())
    assert isinstance(second.real_images(), np.memmap)
    # Another resolution or another file list is another cache entry.
    CountingFolder(**{**kwargs, "image_size": 8}).setup()
    write_image(folder / "cats" / "new.png", np.zeros((8, 8, 3), dtype=np.uint8))
    grown = CountingFolder(**kwargs)
    grown.setup()
    assert CountingFolder.decodes == 3 and len(grown.train_set) == 3


def test_folder_of_only_unreadable_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"garbage")
    dm = ImageFolderDataModule(root=tmp_path / "bad", cache_dir=tmp_path)
    with pytest.raises(GanlabError, match="none of the 1 image files"):
        dm.prepare_data()


def test_missing_folder_names_it_and_where_to_download(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg("data=anime")
    dm = hydra.utils.instantiate(cfg.data)
    with pytest.raises(DatasetNotFoundError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert f"'{tmp_path}/data/anime-faces/images' does not exist" in message
    assert "kaggle.com/datasets/splcher/animefacedataset" in message and "data.root=" in message


@pytest.mark.slow
def test_anime_faces_from_shared_data(make_cfg) -> None:
    cfg = make_cfg("data=anime", f"data.root={shared('anime-faces/images')}", "data.batch_size=16")
    dm = hydra.utils.instantiate(cfg.data)
    images, _ = first_batch(dm)
    assert dm.real_images().shape == (15994, 3, 64, 64)
    assert images.shape == (16, 3, 64, 64) and images.min() >= -1 and images.max() <= 1


def test_celeba_center_crop_from_shared_data(make_cfg) -> None:
    root = shared("celeba/Datasets")
    cfg = make_cfg("data=celeba", f"data.root={root}", "data.image_size=32")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup()
    assert dm.real_images().shape == (6000, 3, 32, 32)


def test_pokemon_rgba_on_white_from_shared_data(make_cfg) -> None:
    cfg = make_cfg("data=pokemon", f"data.root={shared('pokemon/thumbnails')}")
    dm = hydra.utils.instantiate(cfg.data)
    dm.setup()
    images = dm.real_images()
    assert images.shape == (809, 3, 64, 64)
    corners = images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).all(axis=1).mean() > 0.9  # transparent artwork backgrounds are white


def test_flip_augmentation_only_mirrors(tmp_path: Path) -> None:
    dm = MnistMiniDataModule(cache_dir=tmp_path, batch_size=64, flip=True)
    dm.setup()

    class Training:  # the hook flips only while the trainer trains
        training = True

    dm.trainer = Training()
    torch.manual_seed(0)
    batch = next(iter(dm.train_dataloader()))
    plain = batch[0].float() / 127.5 - 1
    flipped, _ = dm.on_after_batch_transfer(batch, 0)
    same = (flipped == plain).flatten(1).all(1)
    mirrored = (flipped == plain.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and mirrored.sum() > 10 and same.sum() > 10


def test_unreadable_copy_of_real_file_is_reported(tmp_path: Path, caplog) -> None:
    """A truncated real JPEG (an interrupted download) is skipped with its name, not a crash in a worker."""
    source = sorted(shared("anime-faces/images").iterdir())[:3]
    root = tmp_path / "faces"
    root.mkdir()
    for path in source:
        shutil.copy(path, root / path.name)
    (root / "truncated.jpg").write_bytes(source[0].read_bytes()[:200])
    dm = ImageFolderDataModule(root=root, cache_dir=tmp_path, batch_size=1)
    with caplog.at_level(logging.WARNING):
        dm.setup()
    assert len(dm.train_set) == 3 and "truncated.jpg" in caplog.text
