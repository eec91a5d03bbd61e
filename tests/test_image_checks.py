"""What a folder of images says before it trains: images far smaller than data.image_size, files it does
not read, and a size whose decoded set cannot fit in memory."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import run_command, write_image
from test_faults import error_lines

from ganlab.data import ImageFolderDataModule
from ganlab.utils.errors import GanlabError
from ganlab.utils.memory import available_memory


def messages(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_tiny_images_and_files_left_out_are_counted_in_one_line_each(tmp_path: Path, caplog) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for i in range(3):
        write_image(root / f"face{i}.png", rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    write_image(root / "icon.png", rng.integers(0, 255, (1, 1, 3), dtype=np.uint8))
    write_image(root / "thumb.gif", rng.integers(0, 255, (20, 31, 3), dtype=np.uint8))
    (root / "notes.txt").write_text("about these faces")
    (root / "photo.heic").write_bytes(b"not a format PIL reads without a plugin")
    (root / ".DS_Store").write_bytes(b"a hidden file, no one's data")
    module = ImageFolderDataModule(root=root, image_size=64, channels=3, cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO):
        module.setup()
    assert len(module.train_set) == 5  # the tiny ones are kept, upscaled, and said so
    assert messages(caplog, logging.WARNING) == [
        f"2 of 5 images are under half of data.image_size=64 on a side (the smallest: '{root / 'icon.png'}', "
        "1x1): upscaled, they train G on blur; lower data.image_size or leave them out"
    ]
    left_out = f"'{root}': left out 2 files that are not png/jpg/webp/gif/bmp/tiff/ppm/tga images"
    said = [m for m in messages(caplog, logging.INFO) if m.startswith(left_out)]
    assert said == [left_out + " (1 .heic, 1 .txt)"]


def test_an_image_size_too_large_for_memory_is_refused_before_decoding(tmp_path: Path) -> None:
    free = available_memory()
    if free is None:
        pytest.skip("this system does not say how much memory is free (/proc/meminfo)")
    write_image(tmp_path / "images" / "a.png", np.zeros((8, 8, 3), dtype=np.uint8))
    side = int((free / 6) ** 0.5) + 1024  # one image at this size, decoded and stacked, does not fit
    module = ImageFolderDataModule(root=tmp_path / "images", image_size=side, channels=3, cache_dir=tmp_path)
    with pytest.raises(GanlabError, match=rf"^data.image_size={side} needs [\d.]+ GB to decode 1 images "
                       rf"\(3x{side}x{side} bytes each, twice while stacking\), [\d.]+ GB is free: lower "
                       r"data.image_size$"):  # fmt: skip
        module.setup()
    assert not list(tmp_path.glob("*.npy"))  # nothing decoded, nothing cached


def test_a_network_too_large_for_memory_is_refused_before_allocating(project: Path) -> None:
    """DCGAN at 4096 px has 139 GB of weights: refused from the meta device's count, in one line."""
    free = available_memory()
    if free is None or free > 130 * 2**30:
        pytest.skip("this machine says nothing of its free memory, or could hold 139 GB of weights")
    result = run_command("python train.py data.image_size=4096", project, "trainer.max_epochs=1")
    assert result.returncode == 1
    [line] = error_lines(result.stderr)
    assert re.fullmatch(
        r"error: model.generator at data.image_size=4096 has 138.7 GB of weights and [\d.]+ GB of memory is "
        r"free: lower data.image_size \(or model.generator.width\)", line
    ), line
