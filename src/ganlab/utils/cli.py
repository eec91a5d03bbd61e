"""What the entry points share: config resolvers, and user errors as one line instead of a traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from ganlab.utils.errors import GanlabError

log = logging.getLogger("ganlab")
T = TypeVar("T")


def _run_dirname(num: Any, overrides: str) -> str:
    """Multirun sub-folder `<num>_<overrides>`, made safe as one path component and kept short."""
    safe = re.sub(r"[^\w.,=+-]", "_", str(overrides))[:150]
    return f"{num}_{safe}" if safe else str(num)


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("run_dirname", _run_dirname, replace=True)


def run_task(task: Callable[[DictConfig], T], cfg: DictConfig) -> T:
    """Run `task(cfg)`; a GanlabError (missing dataset, bad option, wrong checkpoint) ends the program with
    its one-line message instead of a traceback."""
    try:
        return task(cfg)
    except GanlabError as err:
        log.error("%s", err)
        raise SystemExit(f"error: {err}") from None
