"""`results.json` in every run directory: how the run ended and what it reached, for people and tools."""

from __future__ import annotations

import json
import math
import shlex
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from ganlab.metrics.registry import chosen, logged_directions
from ganlab.utils.files import atomic_write_text
from ganlab.utils.ranked_log import RankedLogger
from ganlab.utils.run_dir import earlier_attempts
from ganlab.utils.signals import Interrupted

log = RankedLogger(__name__)
RESULTS_FILE = "results.json"
# What results.json's `attempts` keeps of each earlier attempt of a resumed run (attempts/<n>/ keeps all).
ATTEMPT_KEYS = ("status", "error", "signal", "epochs", "global_step", "started_at", "ended_at", "wall_time_s")
# Which way is better, for the logged values that have one: "best" values and sweep tables use it. The
# adversarial losses have none worth ranking runs by, except as the sweep table's last resort (g_loss).
# The registered metrics' (val/...) come from the registry (metrics/registry.py).
METRIC_MODES = {
    "test/acc": "max",
    "train/g_loss": "min",
    "train/recon_loss": "min",
    "train/loss": "min",
    "train/acc": "max",
}
# What Hydra writes into a new run folder before the run starts.
HYDRA_FILES = {".hydra", "train.log"}
# What a run logs for people and tools, as opposed to progress-bar copies (`d_loss`).
LOGGED_PREFIXES = ("train/", "val/", "test/")


class RunResults(L.Callback):
    """Tracks a run from the start of `train()`: epochs, steps, the best value of each metric with a
    direction (checked at every epoch end, after the metrics callback), and writes `results.json` however
    the run ends (`write`). Rank 0 only writes."""

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__()
        self.run_dir = Path(cfg.paths.output_dir)
        self.optimized_metric = cfg.get("optimized_metric")
        self.started = time.time()
        hydra = HydraConfig.get() if HydraConfig.initialized() else None
        self.overrides = list(hydra.overrides.task) if hydra else []
        self.job_num = hydra.job.get("num") if hydra else None
        self.trainer: L.Trainer | None = None
        self.best: dict[str, dict[str, float]] = {}
        self.set_by: dict[str, dict[str, Any]] = {}  # recipe file -> the settings it set (utils/provenance)
        # Which way each logged value is better: the fixed ones, and the run's registered metrics'.
        self.directions = {**METRIC_MODES, **run_metric_directions(cfg)}
        self.attempts = [_attempt(folder, self.run_dir) for folder in earlier_attempts(self.run_dir)]
        # A folder this run made (Hydra's files only): cleared when the run is refused before training
        self.new_folder = not self.run_dir.exists() or {p.name for p in self.run_dir.iterdir()} <= HYDRA_FILES
        self.training_started = False
        self.trackers: list[dict[str, Any]] = []  # the tracked runs (W&B, MLflow, ...): ids and names

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.trainer = trainer

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.training_started = True

    @rank_zero_only
    def clear_refused(self) -> None:
        """A run refused before training (missing data, a bad setting) leaves only its results.json, which
        says why: no empty checkpoints/ and samples/ or TensorBoard events that look like a run. Only in a
        folder this run made (a refused resume changes nothing of its run's)."""
        if self.training_started or not self.new_folder or not self.run_dir.is_dir():
            return
        for path in self.run_dir.iterdir():
            if path.name == RESULTS_FILE:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for name, value in _logged(trainer).items():
            mode = self.directions.get(name)
            if mode is None or name.startswith("train/") or not math.isfinite(value):
                continue  # per-step training values are noisy: only their final value is kept
            best = self.best.get(name)
            if best is None or (value < best["value"] if mode == "min" else value > best["value"]):
                self.best[name] = {"value": value, "epoch": trainer.current_epoch}

    def resume_point(self) -> dict[str, Any]:
        """The checkpoint to go on from and the command that does it, into this directory (None, None
        before any checkpoint)."""
        last = self.run_dir / "checkpoints" / "last.ckpt"
        if not last.is_file():
            return {"checkpoint": None, "resume": None}
        return {"checkpoint": str(last), "resume": resume_command(self.overrides, last, self.run_dir)}

    def interruption(self, err: Interrupted) -> dict[str, Any]:
        """Where a stop signal left the run, and how to resume it; `err`'s message becomes that."""
        step = self.trainer.global_step if self.trainer else 0
        point = self.resume_point()
        if point["resume"]:
            where = f"step {step}, checkpoint {point['checkpoint']}; resume with: {point['resume']}"
        else:
            where = f"step {step}, before any checkpoint: start it again (into a new run folder)"
        err.args = (f"{err} at {where}",)
        return {"signal": err.signal_name, **point}

    @rank_zero_only
    def write(
        self, status: str, error: BaseException | None = None, value: float | None = None, **extra: Any
    ) -> Path:
        """status: completed | diverged | failed | interrupted; `value`: what train() returned; `extra`:
        more keys (an interruption's signal, checkpoint and resume command)."""
        trainer = self.trainer
        results: dict[str, Any] = {
            "status": status,
            "error": None if error is None else _one_line(error),
            "overrides": self.overrides,
            "set_by": self.set_by,
            "job_num": self.job_num,
            "optimized_metric": self.optimized_metric,
            "value": value,
            "epochs": trainer.current_epoch if trainer else 0,
            "global_step": trainer.global_step if trainer else 0,
            "wall_time_s": round(time.time() - self.started, 3),
            "started_at": datetime.fromtimestamp(self.started).isoformat(timespec="seconds"),
            "ended_at": datetime.now().isoformat(timespec="seconds"),
            "final": _logged(trainer) if trainer else {},
            "best": self.best,
            "directions": self.directions,  # which way each value is better, for sweep tables
            "checkpoints": _checkpoints(trainer, self.run_dir),
            "trackers": self.trackers,
            **extra,
            "attempts": self.attempts,  # the earlier ones, when this run resumed in its directory
        }
        path = self.run_dir / RESULTS_FILE
        try:
            atomic_write_text(path, json.dumps(results, indent=2, default=str))
        except OSError as err:  # a full or read-only disk: the terminal has the run's one line still
            log.error(f"{path} could not be written ({err.strerror or type(err).__name__}); the run {status}")
        return path


def _attempt(folder: Path, run_dir: Path) -> dict[str, Any]:
    try:
        earlier = json.loads((folder / RESULTS_FILE).read_text())
    except (OSError, ValueError):
        earlier = {}  # a run stopped before it wrote any: its configs are kept still
    return {"record": str(folder.relative_to(run_dir)), **{k: earlier.get(k) for k in ATTEMPT_KEYS}}


def run_metric_directions(cfg: DictConfig) -> dict[str, str]:
    """val/<value> -> min | max for the metrics the run's config chooses (none without metrics)."""
    metrics = cfg.get("metrics")
    if not metrics or "names" not in metrics:
        return {}
    return logged_directions(chosen(metrics.names, metrics.get("extra") or ()))


def resume_command(overrides: list[str], checkpoint: Path, run_dir: Path) -> str:
    """The command line that continues this run from `checkpoint` in `run_dir`: the same entry point and
    overrides (less any earlier ckpt_path/init_from), quoted for the shell and for Hydra."""
    kept = [o for o in overrides if not o.lstrip("+~").startswith(("ckpt_path=", "init_from="))]
    args = [*kept, f"ckpt_path={_hydra_quoted(checkpoint)}", f"hydra.run.dir={_hydra_quoted(run_dir)}"]
    return " ".join(_shell_quoted(arg) for arg in ["python", sys.argv[0], *args])


def _shell_quoted(arg: str) -> str:
    """One shell word: bare when safe, in double quotes around Hydra's single ones where they suffice
    (readable: "hydra.run.dir='/my runs/x'"), else shlex's quoting."""
    if shlex.quote(arg) == arg:
        return arg
    return f'"{arg}"' if not set(arg) & set('"$`\\!') else shlex.quote(arg)


def _hydra_quoted(path: Path) -> str:
    """A path as a Hydra override value: bare when plain, else in quotes (spaces, commas, brackets...)."""
    text = str(path)
    if all(c.isalnum() or c in "/._-+" for c in text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _logged(trainer: L.Trainer) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in trainer.callback_metrics.items()
        if name.startswith(LOGGED_PREFIXES) and isinstance(value, torch.Tensor) and value.numel() == 1
    }


def _checkpoints(trainer: L.Trainer | None, run_dir: Path) -> dict[str, Any]:
    """What is on disk now (a diverged run keeps its earlier checkpoints), and the best by the monitor."""
    found = sorted(str(p) for p in (run_dir / "checkpoints").glob("*.ckpt"))
    last = run_dir / "checkpoints" / "last.ckpt"
    best = None
    if trainer is not None:
        monitored = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint) and c.monitor]
        best = next((c.best_model_path for c in monitored if c.best_model_path), None)
    return {"last": str(last) if last.is_file() else None, "best": best, "all": found}


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if type(error).__module__.startswith("ganlab") else f"{type(error).__name__}: {text}"
