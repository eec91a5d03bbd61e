"""ganlab's Optuna sweeper (Hydra finds sweepers only in the `hydra_plugins` package); the logic, and why,
is in `ganlab.sweeps.optuna`, imported when a sweep starts so that plain runs do not import Optuna."""

from __future__ import annotations

from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

try:
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
except ImportError:  # the `optuna` extra is not installed: no sweeper here, and no warning at every start
    OptunaSweeper = None


if OptunaSweeper is not None:

    class ResumableOptunaSweeper(OptunaSweeper):
        """hydra-optuna-sweeper's OptunaSweeper that records failed and diverged runs as failed trials and,
        with a storage, resumes an interrupted study when the same command runs again."""

        def setup(
            self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
        ) -> None:
            from ganlab.sweeps.optuna import FailedRunsAsFailedTrials, remember_sweep_dir

            super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
            self.config = config
            impl = self.sweeper
            before = (lambda: remember_sweep_dir(impl, config)) if impl.storage else None
            impl.launcher = FailedRunsAsFailedTrials(impl.launcher, before)

        def sweep(self, arguments: list[str]) -> None:
            from ganlab.sweeps.optuna import resume_study

            if self.sweeper.storage:
                resume_study(self.sweeper, self.config)
            return super().sweep(arguments)
