"""A sweep at a glance: a heatmap of the metric over two swept numbers, and every job's last sample grid."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # no pyplot: no backend or global figure state, files only
from PIL import Image

from ganlab.sweeps.jobs import Job, as_number
from ganlab.sweeps.tables import SEED, fmt


def grid_keys(jobs: list[Job], keys: list[str]) -> tuple[str, str] | None:
    """The two swept keys to lay jobs out by: exactly two numeric ones besides `seed`, whose value pairs
    fill at least half of their grid (a grid sweep, not the scattered points of a random search)."""
    numeric = [k for k in keys if k != SEED and all(as_number(j.overrides.get(k)) is not None for j in jobs)]
    if len(numeric) != 2 or len(numeric) != len([k for k in keys if k != SEED]):
        return None
    rows, cols = (_values(jobs, k) for k in numeric)
    pairs = {(j.overrides[numeric[0]], j.overrides[numeric[1]]) for j in jobs}
    return (numeric[0], numeric[1]) if len(pairs) * 2 >= len(rows) * len(cols) else None


def heatmap(path: Path, jobs: list[Job], keys: tuple[str, str], metric: str, mode: str) -> Path:
    """Cells: the metric's mean over the cell's jobs (its seeds); a cell with no value names its status."""
    rows, cols = (_values(jobs, k) for k in keys)
    values = [[math.nan] * len(cols) for _ in rows]
    labels = [[""] * len(cols) for _ in rows]
    for r, row in enumerate(rows):
        for c, col in enumerate(cols):
            cell = [j for j in jobs if (j.overrides[keys[0]], j.overrides[keys[1]]) == (row, col)]
            numbers = [v for j in cell if (v := j.value(metric)) is not None]
            if numbers:
                values[r][c] = statistics.fmean(numbers)
                labels[r][c] = fmt(values[r][c]) + (f"\n(n={len(numbers)})" if len(cell) > 1 else "")
            else:
                labels[r][c] = "\n".join(sorted({j.status for j in cell}))
    fig = Figure(figsize=(1.6 * len(cols) + 2.5, 1.0 * len(rows) + 1.8), layout="tight")
    ax = fig.subplots()
    cmap = matplotlib.colormaps["RdYlGn_r" if mode == "min" else "RdYlGn"].copy()
    cmap.set_bad("0.85")  # no value: grey
    image = ax.imshow(values, cmap=cmap, aspect="auto")
    for r in range(len(rows)):
        for c in range(len(cols)):
            ax.text(c, r, labels[r][c], ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(keys[1])
    ax.set_ylabel(keys[0])
    ax.set_title(f"{metric} ({'lower' if mode == 'min' else 'higher'} is better)")
    fig.colorbar(image, ax=ax)
    fig.savefig(path, dpi=110)
    return path


def contact_sheet(
    path: Path, jobs: list[Job], keys: list[str], layout: tuple[str, str] | None, metric: str
) -> Path | None:
    """Each job's last sample grid titled with its swept values, status and metric; laid out by the two
    grid keys when there are (the first seed of each cell), else in job order."""
    if layout:
        rows, cols = (_values(jobs, k) for k in layout)
        cells = {}
        for job in jobs:
            cells.setdefault(
                (rows.index(job.overrides[layout[0]]), cols.index(job.overrides[layout[1]])), job
            )
        shape = (len(rows), len(cols))
    else:
        columns = math.ceil(math.sqrt(len(jobs)))
        cells = {(i // columns, i % columns): job for i, job in enumerate(jobs)}
        shape = (math.ceil(len(jobs) / columns), columns)
    if not cells:
        return None
    fig = Figure(figsize=(2.6 * shape[1], 2.9 * shape[0]), layout="tight")
    axes = fig.subplots(*shape, squeeze=False)
    for r in range(shape[0]):
        for c in range(shape[1]):
            axes[r][c].axis("off")
            if (r, c) in cells:
                _tile(axes[r][c], cells[(r, c)], keys, metric)
    fig.savefig(path, dpi=110)
    return path


def _tile(ax: Axes, job: Job, keys: list[str], metric: str) -> None:
    grid = job.last_grid()
    if grid is not None:
        with Image.open(grid) as picture:
            ax.imshow(picture.convert("RGB"))
    else:
        ax.text(0.5, 0.5, "no sample grid", ha="center", va="center", color="0.4", transform=ax.transAxes)
    value = job.value(metric)
    swept = ", ".join(f"{_short(k, keys)}={job.overrides.get(k, '')}" for k in keys)
    outcome = f"{metric.split('/')[-1]} {fmt(value)}" if value is not None else job.status
    color = "black" if job.status == "completed" else "firebrick"
    ax.set_title(f"{swept}\n{outcome}", fontsize=8, color=color)


def _values(jobs: list[Job], key: str) -> list[str]:
    """A key's distinct values in numeric order, as written in the overrides."""
    return sorted({j.overrides[key] for j in jobs}, key=lambda v: as_number(v))


def _short(key: str, keys: list[str]) -> str:
    """`model.lr` -> `lr`, unless another swept key ends the same way."""
    tail = key.split(".")[-1]
    return tail if sum(k.split(".")[-1] == tail for k in keys) == 1 else key
