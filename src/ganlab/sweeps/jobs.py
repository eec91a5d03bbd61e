"""The jobs of a sweep folder, as their results.json files (or their absence) describe them."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ganlab.callbacks.run_results import METRIC_MODES, RESULTS_FILE

NO_RESULT = "no result"  # still running, killed, or never reached its end
# Completed runs rank first, then the ones that stopped, then the ones that say nothing.
STATUS_ORDER = {"completed": 0, "diverged": 1, "failed": 2, "interrupted": 3, NO_RESULT: 4}
# The metric a table ranks by when the runs name no `optimized_metric` (a weak proxy: G's final loss).
DEFAULT_METRIC = "train/g_loss"
# Sample grids a contact sheet shows, by preference: generated images rather than reconstructions.
GRID_NAMES = ("fixed_noise", "samples")


@dataclass
class Job:
    path: Path
    num: int | None
    overrides: dict[str, str]
    results: dict[str, Any] | None

    @property
    def status(self) -> str:
        return self.results["status"] if self.results else NO_RESULT

    @property
    def started(self) -> float:
        """When the job started (its results), or when Hydra wrote its config (a job with no result)."""
        if self.results and self.results.get("started_at"):
            return datetime.fromisoformat(self.results["started_at"]).timestamp()
        return (self.path / ".hydra").stat().st_mtime if (self.path / ".hydra").exists() else 0.0

    def value(self, metric: str) -> float | None:
        """The metric's best value where the run tracked one (val/fid, ...), else its final value."""
        if not self.results:
            return None
        best = self.results.get("best", {}).get(metric)
        value = best["value"] if best else self.results.get("final", {}).get(metric)
        return value if isinstance(value, int | float) and math.isfinite(value) else None

    def last_grid(self) -> Path | None:
        """The newest sample grid (`samples/<name>_epoch_NNN.png`) of the preferred kind."""
        grids = sorted((self.path / "samples").glob("*_epoch_*.png"))
        for name in GRID_NAMES:
            chosen = [g for g in grids if g.name.startswith(f"{name}_epoch_")]
            if chosen:
                return chosen[-1]
        return grids[-1] if grids else None


def load_jobs(sweep_dir: Path) -> list[Job]:
    """Every job folder of a sweep (one holding Hydra's `.hydra/` or a results file), in job order."""
    jobs = []
    for path in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
        results_file, overrides_file = path / RESULTS_FILE, path / ".hydra" / "overrides.yaml"
        if not (results_file.is_file() or overrides_file.is_file()):
            continue
        results = _read_json(results_file)
        overrides = (results or {}).get("overrides") or _read_yaml(overrides_file) or []
        num = results.get("job_num") if results else None
        if num is None and (match := re.match(r"(\d+)(_|$)", path.name)):
            num = int(match.group(1))
        jobs.append(Job(path, num, parse_overrides(overrides), results))
    return sorted(jobs, key=lambda j: (j.num is None, j.num or 0, j.path.name))


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """`["model.lr=1e-4", "+x=1"]` -> `{"model.lr": "1e-4", "x": "1"}`."""
    parsed = {}
    for item in overrides:
        key, _, value = str(item).partition("=")
        parsed[key.lstrip("+~")] = value
    return parsed


def varying_keys(jobs: list[Job]) -> list[str]:
    """The override keys whose values differ between jobs (or that only some jobs set), in first-seen
    order: what the sweep swept."""
    keys: list[str] = []
    for job in jobs:
        keys += [k for k in job.overrides if k not in keys]
    return [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]


def choose_metric(jobs: list[Job], requested: str | None = None) -> tuple[str, str]:
    """(metric, "min" | "max"): the one asked for, else the runs' `optimized_metric`, else the default."""
    metric = requested or next(
        (j.results["optimized_metric"] for j in jobs if j.results and j.results.get("optimized_metric")),
        DEFAULT_METRIC,
    )
    recorded = next((j.results["directions"][metric] for j in jobs if metric in _directions(j)), None)
    return metric, recorded or METRIC_MODES.get(metric, "min")


def _directions(job: Job) -> dict[str, str]:
    return (job.results or {}).get("directions") or {}


def as_number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # absent, or being written by an older ganlab without atomic writes
        return None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
