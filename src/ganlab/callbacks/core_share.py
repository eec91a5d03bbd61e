"""The machine's cores, divided among the ganlab runs on it: each torch process otherwise starts a thread per
core, and two runs side by side on 2 cores then take 2.7x as long as one after the other. Every run (a
terminal's, a local_parallel sweep job, a DDP CPU process) signs in to a per-user folder of running
runs, and sets its torch threads to its share of the cores, again as others start and end."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

from ganlab.utils.errors import GanlabError
from ganlab.utils.ranked_log import RankedLogger
from ganlab.utils.run_dir import pid_alive

log = RankedLogger(__name__)
REFRESH_S = 2.0  # how often a run counts the others again (at a batch boundary; a listing is ~20 us)


def cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class CoreShare(L.Callback):
    """`threads`: a number fixes this run's torch threads; None shares the cores with the other ganlab
    runs on the machine. Sign in with `with CoreShare(threads):` for the run's whole length."""

    def __init__(self, threads: int | None, registry: Path | None = None) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise GanlabError(
                f"threads={threads!r} is out of range: pass a whole number of threads (1 or more) or null"
            )
        self.threads = threads
        self.registry = registry or Path(tempfile.gettempdir()) / f"ganlab-runs-{os.getuid()}"
        self.entry = self.registry / str(os.getpid())
        self._counted_at = -REFRESH_S

    def __enter__(self) -> CoreShare:
        if self.threads is not None:
            torch.set_num_threads(self.threads)
            return self
        try:
            self.registry.mkdir(parents=True, exist_ok=True)
            self.entry.touch()
        except OSError:  # an unwritable temp folder: this run keeps torch's default
            return self
        self.rebalance()
        return self

    def __exit__(self, *exc: object) -> None:
        self.entry.unlink(missing_ok=True)

    def runs(self) -> int:
        """Live ganlab runs on this machine (this one included); entries of ended ones are removed."""
        alive = 0
        for entry in self.registry.glob("*"):
            if entry.name.isdigit() and pid_alive(int(entry.name)):
                alive += 1
            else:
                entry.unlink(missing_ok=True)
        return max(alive, 1)

    def rebalance(self) -> None:
        self._counted_at = time.monotonic()
        if self.threads is not None or not self.entry.exists():
            return
        runs = self.runs()
        share = max(1, cores() // runs)
        if share != torch.get_num_threads():
            torch.set_num_threads(share)
            log.info(f"{share} torch threads: {cores()} cores shared by {runs} ganlab runs (or set threads=)")

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if time.monotonic() - self._counted_at >= REFRESH_S:
            self.rebalance()

