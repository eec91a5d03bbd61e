"""Reading checkpoints for evaluation and warm starts, with one-line errors for the wrong file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ganlab.utils.errors import GanlabError


def load_checkpoint(path: str | os.PathLike, option: str = "ckpt_path") -> dict[str, Any]:
    """A checkpoint written by ganlab's train.py (weights-only loading: no code runs from the file)."""
    path = Path(path)
    if not path.is_file():
        raise GanlabError(f"{option} '{path}' is not a file: pass the path of a .ckpt (e.g. .../last.ckpt)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and weights-only refusals come as many types
        raise GanlabError(
            f"{option} '{path}' could not be read as a checkpoint ({type(err).__name__})"
        ) from None
    if not isinstance(checkpoint, dict) or "ganlab_config" not in checkpoint:
        raise GanlabError(
            f"{option} '{path}' holds no ganlab run config: pass a checkpoint written by ganlab's train.py"
        )
    return checkpoint
