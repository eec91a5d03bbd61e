"""What ganlab does with an experiment tracker beyond the scalars Lightning's logger already sends.

Each kind of logger (TensorBoard, CSV, W&B, MLflow, Aim) is a `Tracker` registered by name: the package its
extra installs, how a run is reopened on resume, how a sample grid and the run's config reach it, and what
identifies its run (written into results.json and every checkpoint). A logger class of the user's own is
logged to as Lightning does (scalars, hyper-parameters); `register` gives it the rest.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, ClassVar

import torch
from omegaconf import DictConfig

from ganlab.utils.errors import GanlabError

TRACKERS: dict[str, type[Tracker]] = {}


def register(cls: type[Tracker]) -> type[Tracker]:
    """Class decorator: `cls` handles the loggers of `cls.target` (and their subclasses)."""
    TRACKERS[cls.name] = cls
    return cls


class Tracker:
    """The base does what every Lightning logger supports: hyper-parameters; nothing else."""

    name: ClassVar[str] = "other"
    target: ClassVar[str] = ""  # the logger class its config's `_target_` names
    package: ClassVar[str | None] = None  # what `pip install -e ".[<name>]"` adds, when not a core dependency
    resume_key: ClassVar[str | None] = None  # the logger's argument that reopens a run by its `id`
    hint: ClassVar[str] = "check its logger.* settings"  # what to do when the tracker refuses the run

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self.started = False  # its run opened (start_runs): only then is there one to close

    @classmethod
    def prepare(cls, node: DictConfig, run_name: str, sweep: str | None) -> None:
        """Fill what the config left null before the logger is built: its run name and sweep group."""

    @classmethod
    def reopen(cls, node: DictConfig, run: dict[str, Any]) -> None:
        """Resume: the logger continues the checkpoint's run (`run`, as `run()` described it)."""
        if cls.resume_key and node.get(cls.resume_key) is None and run.get("id"):
            node[cls.resume_key] = run["id"]

    def hparams(self, params: dict[str, Any], metrics: tuple[str, ...] = ()) -> None:
        """The run's settings; `metrics`: the values to show beside them, where a tracker needs them named."""
        self.logger.log_hyperparams(params)

    def image(self, key: str, grid: torch.Tensor, step: int) -> None:
        """A sample grid (3xHxW, floats in [0, 1]) at the step of the scalars beside it."""

    def config(self, path: Path) -> None:
        """The run's composed config file (.hydra/config.yaml)."""

    def run(self) -> dict[str, Any]:
        """What identifies this tracker's run: its `id` reopens it on resume."""
        return {"kind": self.name}

    def close(self, status: str) -> None:
        """The run ended: "success", "failed" or "killed"."""


def tracker_class(target: str) -> type[Tracker]:
    """The registered kind for a logger's `_target_` (its class or a subclass of it), else the base."""
    for kind in TRACKERS.values():
        if target == kind.target:
            return kind
    try:
        cls = _locate(target)
    except (ImportError, AttributeError, ValueError):
        return Tracker
    for kind in TRACKERS.values():
        try:
            if isinstance(cls, type) and issubclass(cls, _locate(kind.target)):
                return kind
        except ImportError:  # that kind's package is not installed: cls is not one of its loggers
            continue
    return Tracker


def tracker_of(logger: Any) -> Tracker:
    cls = type(logger)
    return tracker_class(f"{cls.__module__}.{cls.__qualname__}")(logger)


def check_installed(group: str, kind: type[Tracker]) -> None:
    """A tracker whose package is missing: one line naming the extra that installs it."""
    if kind.package is None:
        return
    try:
        importlib.import_module(kind.package)
    except ImportError:
        raise GanlabError(
            f"logger={group} needs the {kind.package} package, which is not installed: "
            f'pip install -e ".[{kind.name}]" (or pip install {kind.package})'
        ) from None


def _locate(target: str) -> Any:
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)
