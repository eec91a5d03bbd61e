"""What the entry points share: config resolvers, and user errors as one line instead of a traceback."""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from ganlab.utils.errors import GanlabError
from ganlab.utils.quiet import quiet_dependencies
from ganlab.utils.signals import Interrupted

log = logging.getLogger("ganlab")
T = TypeVar("T")


def _run_dirname(num: Any, overrides: str) -> str:
    """Multirun sub-folder `<num>_<overrides as a slug>` (`3_model.beta1-0.5_model.lr-0.0002`): one path
    component, kept short, and free of what a shell or Hydra would read ('=' ',' quotes, brackets, spaces),
    so a path copied out of a sweep pastes into any command as it is. The overrides themselves are in the
    job's .hydra/overrides.yaml and results.json."""
    slug = str(overrides).replace("=", "-").replace(",", "_")
    safe = re.sub(r"[^\w.+-]", "_", slug)[:150]
    return f"{num}_{safe}" if safe else str(num)


def unique_dir(path: str) -> str:
    """`path`, or `path_2`, `path_3`, ... : the first that this process could create itself, so two runs
    started in the same second never share a folder (creating a folder is atomic; checking is not)."""
    for attempt in range(1, 10_000):
        candidate = path if attempt == 1 else f"{path}_{attempt}"
        try:
            Path(candidate).mkdir(parents=True)
        except FileExistsError:
            continue
        return candidate
    raise GanlabError(f"'{path}' and 9,999 numbered variants exist already: clean up {Path(path).parent}")


def job_gpu(num: Any) -> str:
    """CUDA_VISIBLE_DEVICES for sweep job `num` when jobs run side by side: one of the GPUs the launcher
    made visible, round robin (empty, so the CPU, when there are none)."""
    visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return visible[int(num) % len(visible)] if visible else ""


def gpu_count() -> int:
    """GPUs on this machine (for the local launcher, which hands them out to its jobs)."""
    import torch  # only when the launcher config is resolved: keeps `--help` fast

    return torch.cuda.device_count()


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("run_dirname", _run_dirname, replace=True)
    OmegaConf.register_new_resolver("cwd", os.getcwd, replace=True)
    # Cached: the folder is made once per config, and submitit jobs get the launcher's answer.
    OmegaConf.register_new_resolver("unique_dir", unique_dir, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("job_gpu", job_gpu, replace=True)
    OmegaConf.register_new_resolver("gpu_count", gpu_count, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("cuda_available", cuda_available, use_cache=True, replace=True)


def is_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_task(task: Callable[[DictConfig], T], cfg: DictConfig) -> T | float:
    """Run `task(cfg)`. A single run ends a GanlabError (missing dataset, bad option, divergence) with its
    one-line message instead of a traceback. In a multirun every job runs to its own end: a job's error is
    logged and the sweep goes on (the job's results.json says what happened); the job returns NaN, which
    sweepers such as Optuna record as a failed trial. A stop signal ends a run, or the whole sweep, with
    one line (where it stopped, how to resume) and exit code 128 + the signal's number, as shells expect."""
    quiet_dependencies()
    try:
        return task(cfg)
    except Interrupted as err:
        _stop(f"interrupted: {err}", err.exit_code)
    except KeyboardInterrupt:  # where no StopSignals was installed (evaluate.py)
        _stop("interrupted: stopped by SIGINT", Interrupted(2).exit_code)
    except GanlabError as err:
        if not is_multirun():  # printed once, by SystemExit (results.json keeps it too)
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise  # the traceback, for debugging ganlab itself
            raise SystemExit(f"error: {err}") from None
        log.error("job %s stopped: %s", HydraConfig.get().job.num, err)
    except Exception:
        if not is_multirun():
            raise
        log.exception("job %s failed", HydraConfig.get().job.num)
    return math.nan


def _stop(line: str, code: int) -> None:
    if rank_zero_only.rank == 0:
        sys.stderr.write(line + "\n")
    raise SystemExit(code) from None


# On import, not only from the entry points: a sweep job that submitit unpickles in another process imports
# this module (through run_task) but never runs train.py's module code.
register_resolvers()
