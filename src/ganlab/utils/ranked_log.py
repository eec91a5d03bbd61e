"""Logging that speaks once per run: under DDP only the first process logs (as lightning-hydra-template's
RankedLogger), so every line appears once, not once per GPU."""

from __future__ import annotations

import logging
from typing import Any

from lightning.pytorch.utilities import rank_zero_only


class RankedLogger(logging.LoggerAdapter):
    """`logging.getLogger(name)` that drops the records of processes other than rank 0 (rank 0 alone, or
    no DDP at all, logs as usual)."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.getLogger(name), {})

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if getattr(rank_zero_only, "rank", 0) == 0 and self.isEnabledFor(level):
            msg, kwargs = self.process(msg, kwargs)
            self.logger.log(level, msg, *args, **kwargs)
