"""The Hydra callback that ends every multirun with its summary, and with a non-zero exit if a job failed."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ganlab.sweeps.jobs import NO_RESULT
from ganlab.sweeps.summary import summarize
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)
FAILED = ("failed", NO_RESULT)  # diverged runs are outcomes of the study, not errors


class SweepSummary(Callback):
    """`on_multirun_end`: `python -m ganlab.summary <sweep dir>`, then SystemExit(1) when one of this
    multirun's jobs failed (raised or left no result), so scripts and CI see it."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()
        check_launcher(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        summary = summarize(Path(config.hydra.sweep.dir), config.get("optimized_metric"))
        # Jobs of this command only: a resumed Optuna study's folder also holds an earlier session's.
        ours = [j for j in summary.jobs if j.started >= int(self.started)]
        failed = [j for j in ours if j.status in FAILED]
        if failed:
            names = ", ".join(f"{j.num} ({j.status})" for j in failed)
            raise SystemExit(
                f"error: {len(failed)} of {len(ours)} jobs failed: {names}; see {summary.files[0]}"
            )


def check_launcher(config: DictConfig) -> None:
    """Before the launcher is built: SLURM's submitit launcher on a machine without SLURM is one line, not
    submitit's traceback from deep inside Hydra."""
    target = str(config.hydra.launcher.get("_target_", ""))
    missing = [command for command in ("sbatch", "srun") if shutil.which(command) is None]
    if target.endswith("SlurmLauncher") and missing:
        raise SystemExit(
            f"error: hydra/launcher=slurm submits each job to SLURM, and this machine has no {missing[0]} on "
            "PATH: start the sweep on the cluster's login node, or run it here with "
            "hydra/launcher=local_parallel (or without hydra/launcher)"
        )
