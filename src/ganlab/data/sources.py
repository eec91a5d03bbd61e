"""Readers that turn a dataset on disk into one uint8 array (N, C, H, W) at the training resolution."""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from rich.progress import track
from torchvision.transforms.v2 import functional as TF

from ganlab.utils.errors import DatasetNotFoundError, GanlabError
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
    """All image files below root (recursive), sorted so the cache key and label order are stable."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def load_image(path: Path, image_size: int, channels: int, crop_size: int | None = None) -> np.ndarray:
    """Decode one file to (channels, image_size, image_size) uint8.

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
    image = ImageOps.fit(image, (image_size, image_size), method=Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


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
) -> tuple[np.ndarray, list[int], list[Path]]:
    """Decode many files in threads (PIL releases the GIL while decoding).

    Returns the images that could be read, their indices into `paths`, and the files that could not.
    """

    def one(path: Path) -> np.ndarray | None:
        try:
            return load_image(path, image_size, channels, crop_size)
        except _DECODE_ERRORS:
            return None

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            track(pool.map(one, paths), total=len(paths), description=f"decoding {len(paths)} images")
        )
    kept = [i for i, r in enumerate(results) if r is not None]
    failed = [paths[i] for i, r in enumerate(results) if r is None]
    images = (
        np.stack([results[i] for i in kept])
        if kept
        else np.empty((0, channels, image_size, image_size), np.uint8)
    )
    return images, kept, failed


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
