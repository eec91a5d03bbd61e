"""Readers that turn a dataset on disk into one uint8 array (N, C, H, W) at the training resolution."""

from __future__ import annotations

import gzip
import os
import struct
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from rich.progress import track
from torchvision.transforms.v2 import functional as TF

from ganlab.utils.errors import DatasetNotFoundError, GanlabError
from ganlab.utils.memory import available_memory, gigabytes
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)

# The raster formats PIL decodes without plugins; other files in a folder are not images to ganlab.
IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".jfif", ".webp", ".gif", ".bmp", ".tif", ".tiff",
    ".ppm", ".pgm", ".pnm", ".tga",
)  # fmt: skip
IMAGE_KINDS = "png/jpg/webp/gif/bmp/tiff/ppm/tga"
# What PIL raises for a file that is not a readable image (UnidentifiedImageError is an OSError).
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise GanlabError(
            f"{path} is not an unsigned-byte IDX file (header {data[:4].hex()}); expected MNIST-style data"
        )
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_idx_file(root: Path, stem: str) -> Path | None:
    """Find `stem` or `stem.gz` in root, root/raw or root/*/raw (where torchvision's downloads put them)."""
    for folder in (root, root / "raw", *sorted(root.glob("*/raw"))):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def array_downscale(source_size: int, image_size: int) -> str:
    """How `resize_array` brought the stored images to the training size: part of every metric's protocol
    (the filter moves FID by whole points)."""
    if source_size == image_size:
        return f"none: {image_size}x{image_size} as stored"
    size = f"{source_size}x{source_size} -> {image_size}x{image_size}"
    return f"torchvision resize, bilinear, antialias=True, {size}"


def file_downscale(image_size: int, crop_size: int | None) -> str:
    """How `load_image` brings a file to the training size (see `array_downscale`)."""
    crop = f"centred {crop_size}x{crop_size} crop, then " if crop_size else ""
    return f"PIL Lanczos, {crop}largest centred square resized to {image_size}x{image_size} (ImageOps.fit)"


def resize_array(images: np.ndarray, image_size: int, channels: int) -> np.ndarray:
    """(N, H, W) or (N, C, H, W) uint8 -> (N, channels, image_size, image_size) uint8, antialiased resize."""
    tensor = torch.from_numpy(np.array(images))  # a writable copy (IDX arrays are read-only buffers)
    if tensor.ndim == 3:
        tensor = tensor[:, None]
    if tensor.shape[-1] != image_size or tensor.shape[-2] != image_size:
        tensor = TF.resize(tensor, [image_size, image_size], antialias=True)
    if tensor.shape[1] != channels:
        if channels == 3 and tensor.shape[1] == 1:
            tensor = tensor.expand(-1, 3, -1, -1)
        elif channels == 1 and tensor.shape[1] == 3:
            tensor = TF.rgb_to_grayscale(tensor)
        else:
            raise GanlabError(
                f"cannot turn {tensor.shape[1]}-channel images into {channels} channels; use 1 or 3"
            )
    return np.ascontiguousarray(tensor.numpy())


def list_images(root: Path) -> list[Path]:
    """All image files below root (recursive), sorted so the cache key and label order are stable. Other
    files (hidden ones aside) are counted by kind in one line, so none is left out without a word."""
    images: list[Path] = []
    others: Counter[str] = Counter()
    for path in root.rglob("*"):
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            images.append(path)
        elif not path.name.startswith(".") and path.is_file():
            others[path.suffix.lower() or "without extension"] += 1
    if others:
        by_count = sorted(others.items(), key=lambda kind: (-kind[1], kind[0]))
        kinds = ", ".join(f"{count} {kind}" for kind, count in by_count)
        left_out = sum(others.values())
        log.info(f"'{root}': left out {left_out} files that are not {IMAGE_KINDS} images ({kinds})")
    return sorted(images)


def load_image(path: Path, image_size: int, channels: int, crop_size: int | None = None) -> np.ndarray:
    """Decode one file to (channels, image_size, image_size) uint8 (see `load_sized`)."""
    return load_sized(path, image_size, channels, crop_size)[0]


def load_sized(
    path: Path, image_size: int, channels: int, crop_size: int | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode one file to (channels, image_size, image_size) uint8, and the (width, height) it was resized
    from.

    Every common mode decodes to what a viewer shows: EXIF-rotated photos are turned upright, 16-bit
    grayscale is scaled to 8 bits (not clipped), palette and CMYK become RGB, transparent pixels are
    composited on white (Pokemon artwork would otherwise turn black). An optional centred `crop_size`
    square is cut first (CelebA faces), then the largest centred square is resized.
    """
    with Image.open(path) as image:
        image.load()
        image = _eight_bit(ImageOps.exif_transpose(image))
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        image = image.convert("L" if channels == 1 else "RGB")
    if crop_size is not None:
        width, height = image.size
        side = min(crop_size, width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    source = image.size
    image = ImageOps.fit(image, (image_size, image_size), method=Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return (array[None] if channels == 1 else array.transpose(2, 0, 1)), source


def _eight_bit(image: Image.Image) -> Image.Image:
    """16- and 32-bit integer grayscale ("I;16", "I") scaled to "L": PIL's own conversion clips at 255,
    which turns a 16-bit scan almost white. 16-bit RGB PNGs already open as 8-bit "RGB"."""
    if not image.mode.startswith("I"):
        return image
    pixels = np.asarray(image).astype(np.float64)
    full_scale = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
    return Image.fromarray(np.round(pixels * (255.0 / full_scale)).clip(0, 255).astype(np.uint8), "L")


def decode_images(
    paths: Sequence[Path],
    image_size: int,
    channels: int,
    crop_size: int | None = None,
    workers: int | None = None,
    setting: str = "data.image_size",
) -> tuple[np.ndarray, list[int], list[Path]]:
    """Decode many files in threads (PIL releases the GIL while decoding).

    Returns the images that could be read, their indices into `paths`, and the files that could not. The
    memory the decoded set takes is checked first (refused naming `setting`), and images under half the
    size they are scaled to are counted in one warning.
    """
    check_memory(len(paths), channels, image_size, setting)
    sizes: dict[Path, tuple[int, int]] = {}  # (width, height) before resizing

    def one(path: Path) -> np.ndarray | None:
        try:
            array, sizes[path] = load_sized(path, image_size, channels, crop_size)
        except _DECODE_ERRORS:
            return None
        return array

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            track(pool.map(one, paths), total=len(paths), description=f"decoding {len(paths)} images")
        )
    kept = [i for i, r in enumerate(results) if r is not None]
    failed = [paths[i] for i, r in enumerate(results) if r is None]
    small = [(path, size) for path, size in sizes.items() if min(size) < image_size / 2]
    if small:
        path, (width, height) = min(small, key=lambda item: min(item[1]))
        log.warning(
            f"{len(small)} of {len(kept)} images are under half of {setting}={image_size} on a side (the "
            f"smallest: '{path}', {width}x{height}): upscaled, they train G on blur; lower {setting} or "
            "leave them out"
        )
    images = (
        np.stack([results[i] for i in kept])
        if kept
        else np.empty((0, channels, image_size, image_size), np.uint8)
    )
    return images, kept, failed


def check_memory(count: int, channels: int, image_size: int, setting: str) -> None:
    """Refuse, before decoding, a set that would not fit in memory at this size (decoded images, then
    their stacked copy: twice the uint8 array)."""
    needed = 2 * count * channels * image_size**2
    free = available_memory()
    if free is not None and needed > free:
        raise GanlabError(
            f"{setting}={image_size} needs {gigabytes(needed)} to decode {count} images "
            f"({channels}x{image_size}x{image_size} bytes each, twice while stacking), {gigabytes(free)} "
            f"is free: lower {setting}"
        )


def require_folder(root: Path, dataset: str, hint: str) -> None:
    """Stop with one line naming the folder and where to get the data."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"{dataset}: folder '{root}' does not exist. {hint}")


def image_files(folder: Path, option: str) -> list[Path]:
    if not folder.is_dir():
        raise GanlabError(f"{option} '{folder}' is not a folder: pass a folder of {IMAGE_KINDS} images")
    files = list_images(folder)
    if not files:
        raise GanlabError(f"{option} '{folder}' holds no {IMAGE_KINDS} images")
    return files
