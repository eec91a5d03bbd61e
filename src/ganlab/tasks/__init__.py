"""What `evaluate.py ckpt_path=... task=<name>` does with a restored model, registered by name.

Each task is a function `(cfg, model, checkpoint, out) -> results` in its own module; `@register_task`
adds it, and `TASKS` is what evaluate.py dispatches on (and lists in its one-line error).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from torch import nn

Task = Callable[[DictConfig, nn.Module, dict[str, Any], Path], dict[str, Any]]
TASKS: dict[str, Task] = {}


def register_task(name: str) -> Callable[[Task], Task]:
    def register(task: Task) -> Task:
        TASKS[name] = task
        return task

    return register


# The tasks register themselves on import.
from ganlab.tasks import metrics, sample, export, latent, denoise  # noqa: E402, F401, I001 (the order of the list in errors)
