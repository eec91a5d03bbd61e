"""What ganlab adds to Hydra's Optuna sweeper (`hydra_plugins.ganlab_sweepers`, used by `hparams_search=...`).

- A trial whose run failed or diverged (the job returns NaN, its results.json says why) is told to Optuna
  as failed, with the run's own message, and the study goes on (with `max_failure_rate: 1.0`).
- With a persistent `storage` (e.g. sqlite:///optuna.db), running the same command again resumes the study:
  it continues in the first session's sweep folder, re-runs the trials that were cut off (their
  parameters re-queued), and runs only the trials still missing from `n_trials`. This assumes no other
  process is working on the study at the same time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict, read_write

from ganlab.callbacks.run_results import RESULTS_FILE
from ganlab.utils.files import atomic_write_text
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)
SWEEP_DIR_ATTR = "ganlab_sweep_dir"


def resume_study(impl: Any, config: DictConfig) -> None:
    """Pick an interrupted study up where it stopped (see the module docstring). `impl` is the sweeper's
    OptunaSweeperImpl: its trial count, next job number and storage."""
    study = _load(impl)
    if study is None or not study.trials:
        return
    cut_off = [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    finished = len(study.trials) - len(cut_off)
    impl.n_trials = max(0, impl.n_trials - finished)
    impl.job_idx = len(study.trials)  # job folders go on numbering after the trials already there
    _reseed(impl, config, len(study.trials))
    previous = study.user_attrs.get(SWEEP_DIR_ATTR)
    if previous and Path(previous).is_dir():
        _continue_in(config, Path(previous))
    for rerun, trial in enumerate(cut_off, start=impl.job_idx):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params)  # a waiting trial: the next one asked for
        for job_dir in Path(str(config.hydra.sweep.dir)).glob(f"{trial.number}_*"):
            error = f"the sweep was stopped during this trial; its parameters run again as job {rerun}"
            if not (job_dir / RESULTS_FILE).exists():
                interrupted = {"status": "interrupted", "error": error, "job_num": trial.number}
                atomic_write_text(job_dir / RESULTS_FILE, json.dumps(interrupted))
    log.info(
        "resuming study %r: %d trials finished, %d cut off and re-queued, %d to run, in %s",
        study.study_name, finished, len(cut_off), impl.n_trials, config.hydra.sweep.dir,
    )  # fmt: skip


def _reseed(impl: Any, config: DictConfig, offset: int) -> None:
    """A sampler seeded as in the first session would replay its first trials: seed it `offset` further
    (so the same command resumes the same way), or at random when it has no seed."""
    if not isinstance(impl.sampler, optuna.samplers.BaseSampler):
        return  # a grid sampler (a partial until the sweep starts) skips what the study has run
    sampler = config.hydra.sweeper.sampler
    if sampler.get("seed") is None:
        impl.sampler.reseed_rng()
    else:
        impl.sampler = instantiate(sampler, seed=sampler.seed + offset)


def _continue_in(config: DictConfig, folder: Path) -> None:
    """Make the multirun use `folder` as its sweep folder, as `hydra.sweep.dir=<folder>` would: each job's
    config is composed again from the command's overrides, so the override goes there too."""
    fresh = Path(str(config.hydra.sweep.dir))
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(folder)
        config.hydra.overrides.hydra.append(f"hydra.sweep.dir='{folder}'")
    if fresh != folder and fresh.is_dir() and not any(fresh.iterdir()):
        fresh.rmdir()  # the time-stamped folder this session would have used


def remember_sweep_dir(impl: Any, config: DictConfig) -> None:
    """Note the sweep folder in the study (once the sweeper has created it), for `resume_study`."""
    study = _load(impl)
    if study is not None and SWEEP_DIR_ATTR not in study.user_attrs:
        study.set_user_attr(SWEEP_DIR_ATTR, str(Path(str(config.hydra.sweep.dir)).resolve()))


def _load(impl: Any) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=impl.study_name, storage=impl.storage)
    except KeyError:  # no such study yet
        return None


class FailedRunsAsFailedTrials(Launcher):
    """Between the sweeper and the real launcher: a job that returned NaN (a failed or diverged run) comes
    back as a failed job carrying its run's message, which the Optuna sweeper records as a failed trial
    (NaN itself would stop it: its Optuna 2 refuses NaN values)."""

    def __init__(self, launcher: Launcher, before_launch: Callable[[], None] | None = None) -> None:
        self.launcher = launcher
        self.before_launch = before_launch

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.launcher.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        if self.before_launch is not None:  # once, at the first launch (the sweep folder exists by then)
            self.before_launch()
            self.before_launch = None
        returns = self.launcher.launch(job_overrides, initial_job_idx)
        for number, ret in enumerate(returns, start=initial_job_idx):
            if ret.status == JobStatus.COMPLETED and _is_nan(ret.return_value):
                ret.status = JobStatus.FAILED
                ret.return_value = RuntimeError(f"job {number} {_outcome(ret)}")
        return returns


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _outcome(ret: JobReturn) -> str:
    """`diverged: <message>` from the job's results.json."""
    try:
        results = json.loads((Path(ret.hydra_cfg.hydra.runtime.output_dir) / RESULTS_FILE).read_text())
    except (OSError, ValueError, AttributeError):
        return "returned no value"
    return f"{results['status']}: {results.get('error') or 'no value of the optimized metric'}"
