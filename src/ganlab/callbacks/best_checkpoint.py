"""The checkpoint best by one logged metric, which way (lower or higher is better) from its registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

from ganlab.metrics.registry import chosen, logged_directions
from ganlab.utils.errors import GanlabError


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint of the best `monitor` value, its `mode` the direction the metric that
    logs it registered (val/fid: min, val/is: max, a user's metric: what it says). `metrics` is the
    `metrics` config node: the run's metrics."""

    def __init__(self, metrics: Mapping[str, Any], monitor: str = "val/fid", **kwargs: Any) -> None:
        directions = logged_directions(chosen(metrics["names"], metrics.get("extra") or ()))
        if monitor not in directions:
            raise GanlabError(
                f"callbacks.best_checkpoint.monitor={monitor} is not logged by the run's metrics: use one of "
                f"{', '.join(directions)}"
            )
        super().__init__(monitor=monitor, mode=directions[monitor], **kwargs)
