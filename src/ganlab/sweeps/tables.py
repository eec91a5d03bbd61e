"""A sweep's jobs as tables: one row per job, best first, and one row per configuration over its seeds."""

from __future__ import annotations

import csv
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from ganlab.sweeps.jobs import STATUS_ORDER, Job, as_number

# Final values shown beside the ranking metric, where the runs logged them: every val/ value a run's
# metrics logged (results.json's directions), then these.
SHOWN = ("test/acc", "train/d_loss", "train/g_loss", "train/recon_loss")
SEED = "seed"


def rank(jobs: list[Job], metric: str, mode: str) -> list[Job]:
    """Completed jobs best first by `metric`, then those without it, then by status (diverged, failed,
    no result), each group in job order."""

    def key(job: Job) -> tuple[Any, ...]:
        value = job.value(metric)
        missing = value is None
        return (
            STATUS_ORDER.get(job.status, 9),
            missing,
            0 if missing else (value if mode == "min" else -value),
        )

    return sorted(jobs, key=lambda j: (*key(j), j.num or 0))


def job_rows(jobs: list[Job], keys: list[str], metric: str) -> tuple[list[str], list[list[Any]]]:
    logged = [m for j in jobs for m in (j.results or {}).get("directions", {}) if m.startswith("val/")]
    candidates = [*dict.fromkeys(logged), *SHOWN]
    shown = [m for m in candidates if m != metric and any(j.value(m) is not None for j in jobs)]
    header = ["job", *keys, "status", metric, *shown, "epochs", "wall time (s)", "error"]
    rows = []
    for job in jobs:
        results = job.results or {}
        rows.append([
            job.num, *(_typed(job.overrides.get(k, "")) for k in keys), job.status, job.value(metric),
            *(job.value(m) for m in shown), results.get("epochs"), results.get("wall_time_s"),
            results.get("error") or "",
        ])  # fmt: skip
    return header, rows


def seed_rows(jobs: list[Job], keys: list[str], metric: str, mode: str) -> tuple[list[str], list[list[Any]]]:
    """One row per configuration (the swept keys but `seed`): n seeds, how many completed, and mean ±
    sample std of the metric over the completed ones; best mean first."""
    config_keys = [k for k in keys if k != SEED]
    groups: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        groups.setdefault(tuple(job.overrides.get(k, "") for k in config_keys), []).append(job)
    header = [*config_keys, "seeds", "completed", f"{metric} mean", f"{metric} std", "statuses"]
    rows = []
    for config, members in groups.items():
        values = [v for j in members if (v := j.value(metric)) is not None]
        mean = statistics.fmean(values) if values else None
        std = statistics.stdev(values) if len(values) > 1 else None
        statuses = ", ".join(sorted({j.status for j in members}))
        completed = sum(j.status == "completed" for j in members)
        rows.append([*map(_typed, config), len(members), completed, mean, std, statuses])
    sign = 1 if mode == "min" else -1
    rows.sort(key=lambda r: (r[-4] is None, 0 if r[-4] is None else sign * r[-4]))
    return header, rows


def write_csv(path: Path, header: Sequence[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def markdown(header: Sequence[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(console: Console, title: str, header: Sequence[str], rows: list[list[Any]]) -> None:
    """Without the error column: each job logged its error when it stopped, and the files hold it."""
    keep = [i for i, name in enumerate(header) if name != "error"]
    table = Table(title=title, title_justify="left")
    for i in keep:
        table.add_column(header[i], overflow="fold")
    for row in rows:
        table.add_row(*(fmt(row[i]) for i in keep))
    if console.is_terminal:
        console.print(table)  # folded to the terminal's width
        return
    # a pipe or a file (a sweep's log, CI): whole rows, not rich's default of 80 columns
    width = console.width
    console.width = max(width, Measurement.get(console, console.options.update_width(10_000), table).maximum)
    try:
        console.print(table)
    finally:
        console.width = width


def _typed(text: str) -> float | str:
    """An override's value as a number where it is one: shown to 4 digits, written in full."""
    number = as_number(text)
    return text if number is None else number


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
