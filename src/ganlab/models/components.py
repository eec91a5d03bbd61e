"""Networks and losses as config components: `_target_` nodes a model builds with the data's shape.

A model's config holds each network as a node (`model.generator`, `model.discriminator`, `model.encoder`;
conf/model/<role>/*.yaml) and builds it here with the shape arguments only the model knows (latent size,
channels, image size), so a class from the user's own package plugs in by `_target_` and is checked in
one line: that it imports, that it takes those arguments, and that its outputs have the right shape.
"""

from __future__ import annotations

from typing import Any

import torch

from ganlab.utils.errors import GanlabError, first_line
from ganlab.utils.memory import available_memory, gigabytes
from ganlab.utils.settings import instantiate, locate


def build(node: dict[str, Any], setting: str, **shape: Any) -> Any:
    """`node` instantiated with `shape` on top of its own keys; an import that fails, or a class that
    refuses the arguments, is one line naming `setting`."""
    if not isinstance(node, dict) or "_target_" not in node:
        raise GanlabError(f"{setting} must be a config node with a _target_ (a class), not {node!r}")
    target = node["_target_"]
    if fixed := sorted(set(node) & set(shape)):
        raise GanlabError(
            f"{setting}.{fixed[0]} is passed by the model (from model.latent_dim and the data): remove it "
            f"from {setting}"
        )
    try:
        locate(target)
    except Exception as err:  # ImportError, AttributeError, ValueError: all mean "cannot be found"
        raise GanlabError(
            f"{setting}._target_={target!r} cannot be imported ({type(err).__name__}: {first_line(err)}): "
            "put its package on PYTHONPATH (or install it) and check the name"
        ) from None
    fix = f"the model passes it {', '.join(shape) or 'nothing'} (docs/extending.md)"
    _check_size(node, setting, fix, shape)
    return instantiate(node, setting, fix=fix, **shape)


def _check_size(node: dict[str, Any], setting: str, fix: str, shape: dict[str, Any]) -> None:
    """Built first on the meta device (no memory): a network whose weights alone exceed the free memory
    (a DCGAN at data.image_size=4096 has 36 GB of them) is refused naming the image size, before the
    allocation fails. A class that cannot be built there is left to the real build."""
    free = available_memory()
    if free is None:
        return
    try:
        with torch.device("meta"):
            network = instantiate(node, setting, fix=fix, **shape)
    except Exception:
        return
    if not isinstance(network, torch.nn.Module):
        return
    size = sum(p.numel() * p.element_size() for p in network.parameters())
    if size > free:
        at = f" at data.image_size={shape['image_size']}" if "image_size" in shape else ""
        narrower = f" (or {setting}.width)" if "width" in node else ""
        raise GanlabError(
            f"{setting}{at} has {gigabytes(size)} of weights and {gigabytes(free)} of memory is free: lower "
            f"data.image_size{narrower}"
        )


def check_output(output: Any, expected: tuple[int, ...], setting: str, what: str, fix: str) -> None:
    """Refuse a network whose output on a probe batch has the wrong shape, in one line naming the fix."""
    shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
    if shape != expected:
        raise GanlabError(f"{setting} gives {what} of shape {shape}, expected {expected}: {fix}")
