"""Train one model from a composed Hydra config; `train.py` at the project root is the command."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.model_helpers import is_overridden
from omegaconf import DictConfig

from ganlab.callbacks import CoreShare, DiskSpace, LastCheckpoint, RunConfig, RunResults, StopOnSignal
from ganlab.callbacks.tracked_runs import TrackedRuns
from ganlab.data.datamodules import ImageDataModule
from ganlab.models.interface import Exports
from ganlab.models.module import GanlabModule
from ganlab.trackers import open_trackers, resumed_runs, start_runs
from ganlab.utils import run_dir
from ganlab.utils.checkpoints import AtomicCheckpointIO, check_same_model, load_checkpoint
from ganlab.utils.disk import DiskFullError, cause_is_full_disk, full_disk_error
from ganlab.utils.errors import DivergedError, GanlabError, first_line
from ganlab.utils.hparams import HPARAM_METRICS, run_hparams
from ganlab.utils.instantiate import instantiate_group
from ganlab.utils.provenance import describe as describe_recipes
from ganlab.utils.provenance import recipe_settings
from ganlab.utils.ranked_log import RankedLogger
from ganlab.utils.settings import check_settings, instantiate
from ganlab.utils.signals import Interrupted, StopSignals

log = RankedLogger(__name__)


def train(cfg: DictConfig) -> float | None:
    """Fit `cfg.model` on `cfg.data`; returns `cfg.optimized_metric` (for sweepers) when it was logged.
    However the run ends, its directory gets results.json saying how (completed, diverged, failed,
    interrupted) and what it reached. A stop signal (SIGTERM, SIGINT, SIGUSR1) ends it at the next batch
    with a checkpoint, and Interrupted says where it stopped and the command that resumes it."""
    run_dir.refuse_if_used(cfg)
    results = RunResults(cfg)
    try:
        with StopSignals() as signals, CoreShare(cfg.get("threads")) as cores:
            value = _fit(cfg, results, signals, cores)
    except Interrupted as err:
        results.write("interrupted", err, **results.interruption(err))
        raise
    except DivergedError as err:
        results.write("diverged", err)
        raise
    except Exception as err:
        if (full := cause_is_full_disk(err)) and not isinstance(err, GanlabError):  # a grid, a log, ...
            err = full_disk_error(full.filename or cfg.paths.output_dir, None)
        elif _out_of_memory(err):
            err = GanlabError(
                f"out of memory ({first_line(err)[:120]}) at data.image_size={cfg.data.get('image_size')}, "
                f"data.batch_size={cfg.data.get('batch_size')}: lower data.batch_size or data.image_size"
            )
        if isinstance(err, DiskFullError):  # free some space, then go on from the last checkpoint
            point = results.resume_point()
            if point["resume"]:
                err.args = (f"{err}; resume with: {point['resume']}",)
            results.write("failed", err, **point)
        else:
            results.write("failed", err)
            results.clear_refused()
        raise err
    except BaseException as err:  # a KeyboardInterrupt where no StopSignals could be installed (a thread)
        results.write("interrupted", err)
        raise
    results.write("completed", value=value)
    return value


def _closing_line(cfg: DictConfig, trainer: L.Trainer) -> None:
    """Where the run's results are and what to do with them next."""
    run = cfg.paths.output_dir
    last = next((c.path for c in trainer.checkpoint_callbacks if isinstance(c, LastCheckpoint)), None)
    if last is None or not last.is_file():
        log.info("done: %s (tensorboard --logdir %s)", run, run)
        return
    log.info("done: %s (checkpoints/, samples/); evaluate: python evaluate.py ckpt_path=%s", run, last)


def _check_accelerator(accelerator: str | None) -> None:
    """trainer=gpu on a machine without one: said in our words (Lightning's: "No supported gpu backend")."""
    if str(accelerator) in ("gpu", "cuda") and not torch.cuda.is_available():
        if accelerator == "gpu" and torch.backends.mps.is_available():
            return  # Apple's GPU
        raise GanlabError(
            f"trainer.accelerator={accelerator} but torch sees no GPU here (torch.cuda.is_available() is "
            "False): run on a machine with a GPU and a CUDA build of torch, or use trainer=cpu"
        )


def _out_of_memory(err: BaseException) -> bool:
    """A GPU's out-of-memory error, or the CPU allocator's "can't allocate memory"."""
    return isinstance(err, torch.OutOfMemoryError) or (
        isinstance(err, RuntimeError) and "can't allocate memory" in str(err)
    )


def _fit(cfg: DictConfig, results: RunResults, signals: StopSignals, cores: CoreShare) -> float | None:
    check_settings(cfg)
    _check_accelerator(cfg.trainer.get("accelerator"))
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    ckpt_path, init_from = cfg.get("ckpt_path"), cfg.get("init_from")
    if ckpt_path and init_from:
        raise GanlabError(
            "ckpt_path resumes a run exactly, init_from starts a new one from its weights: pass one of them"
        )
    # evaluate.py's checks, before any work: missing, not a checkpoint, truncated, of another release or model
    resume = load_checkpoint(ckpt_path, "ckpt_path") if ckpt_path else None
    warm_start = load_checkpoint(init_from, "init_from") if init_from else None
    for option, checkpoint in (("ckpt_path", resume), ("init_from", warm_start)):
        if checkpoint is not None:
            check_same_model(checkpoint, cfg.model.get("_target_"), option)
    run_dir.prepare(cfg)
    log.info("run directory: %s (watch it: tensorboard --logdir %s)", *[cfg.paths.output_dir] * 2)
    results.set_by = recipe_settings(cfg)
    for line in describe_recipes(results.set_by):
        log.info(line)

    log.info("data: %s", cfg.data._target_)
    datamodule: L.LightningDataModule = instantiate(cfg.data, "data")
    log.info("model: %s", cfg.model._target_)
    model: L.LightningModule = instantiate(cfg.model, "model")
    if resume is not None and isinstance(model, GanlabModule):
        model.check_checkpoint(resume)  # network sizes, in one line (Lightning's would be a traceback)
    reopened = resumed_runs(resume, Path(cfg.paths.output_dir))  # the tracked runs the loggers continue
    del resume  # Lightning reads the file again, into the Trainer
    if warm_start is not None:
        if not isinstance(model, GanlabModule):
            raise GanlabError(f"init_from works with the GAN models, not {type(model).__name__}")
        model.load_weights(warm_start)
        log.info("weights from %s; optimizers, counters and schedules start afresh", init_from)
    callbacks = [*instantiate_group(cfg.get("callbacks")), RunConfig(cfg), results, DiskSpace(), cores]
    callbacks.append(StopOnSignal(signals))
    # last.ckpt after every other checkpoint callback, so it holds their updated state (best FID so far),
    # and a stop signal's checkpoint after that, with its place in the epoch
    callbacks.sort(key=lambda cb: 2 if isinstance(cb, StopOnSignal) else int(isinstance(cb, LastCheckpoint)))
    with open_trackers(cfg, reopened) as trackers:
        tracked = TrackedRuns(trackers, Path(cfg.paths.output_dir) / ".hydra" / "config.yaml")
        trainer: L.Trainer = instantiate(
            cfg.trainer,
            "trainer",
            callbacks=[tracked, *callbacks],
            logger=[tracker.logger for tracker in trackers] or False,
            plugins=[AtomicCheckpointIO()],
        )
        registered = [name for name in results.directions if name.startswith("val/")]  # the run's metrics
        hparams = run_hparams(cfg, model)
        tracked.runs = results.trackers = start_runs(trackers, hparams, (*HPARAM_METRICS, *registered)) or []
        trainer.fit(model=model, datamodule=datamodule, ckpt_path=ckpt_path)
        value = _after_fit(cfg, trainer, model, datamodule)
    _closing_line(cfg, trainer)  # after the trackers' own goodbyes (W&B's summary)
    return value


def _after_fit(
    cfg: DictConfig, trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule
) -> float | None:
    """The test split, the export; what a sweeper optimises."""
    has_test_split = isinstance(datamodule, ImageDataModule) and datamodule.has_test_split()
    if cfg.get("test") and has_test_split and is_overridden("test_step", model):
        trainer.test(model=model, datamodule=datamodule)
    if isinstance(model, Exports) and (exported := model.export()) is not None:
        log.info("exported %s to %s", type(model).__name__, exported)

    metric_name = cfg.get("optimized_metric")
    if not metric_name:
        return None
    for checkpoint in trainer.checkpoint_callbacks:  # the best value when a checkpoint tracks it
        if (
            isinstance(checkpoint, ModelCheckpoint)
            and checkpoint.monitor == metric_name
            and (checkpoint.best_model_score is not None)
        ):
            return float(checkpoint.best_model_score)
    value = trainer.callback_metrics.get(metric_name)
    return float(value) if isinstance(value, torch.Tensor) else value
