"""The answer a sweep ends with: tables (terminal, CSV, Markdown), mean ± std over seeds, and pictures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from ganlab.sweeps import pictures, tables
from ganlab.sweeps.jobs import NO_RESULT, Job, choose_metric, load_jobs, varying_keys
from ganlab.utils.errors import GanlabError
from ganlab.utils.files import atomic_write_text


@dataclass
class Summary:
    sweep_dir: Path
    jobs: list[Job]  # best first
    metric: str
    mode: str
    keys: list[str]
    files: list[Path] = field(default_factory=list)


def summarize(sweep_dir: str | Path, metric: str | None = None, console: Console | None = None) -> Summary:
    """Read every job of `sweep_dir` and write `summary.md`, `summary.csv` (and `summary_seeds.csv` when
    `seed` was swept, `summary_heatmap.png` for two swept numbers, `summary_contact_sheet.png`) into it;
    print the tables. Works on a finished, running or interrupted sweep alike: jobs with no results file
    are listed as such."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise GanlabError(
            f"'{sweep_dir}' is not a folder: pass a multirun folder (outputs/train/multiruns/...)"
        )
    jobs = load_jobs(sweep_dir)
    if not jobs:
        raise GanlabError(f"'{sweep_dir}' holds no sweep jobs (sub-folders with .hydra/ or results.json)")
    metric, mode = choose_metric(jobs, metric)
    keys = varying_keys(jobs)
    ranked = tables.rank(jobs, metric, mode)
    summary = Summary(sweep_dir, ranked, metric, mode, keys)
    console = console or Console()

    header, rows = tables.job_rows(ranked, keys, metric)
    tables.write_csv(sweep_dir / "summary.csv", header, rows)
    order = "lower" if mode == "min" else "higher"
    title = f"{sweep_dir}: {len(jobs)} jobs, ranked by {metric} ({order} is better)"
    tables.print_table(console, title, header, rows)
    sections = [f"# Sweep summary\n\n{title}\n\n" + tables.markdown(header, rows)]
    summary.files.append(sweep_dir / "summary.csv")

    if tables.SEED in keys:
        header, rows = tables.seed_rows(ranked, keys, metric, mode)
        tables.write_csv(sweep_dir / "summary_seeds.csv", header, rows)
        tables.print_table(console, f"over seeds: mean ± std of {metric}", header, rows)
        sections.append("## Over seeds\n\n" + tables.markdown(header, rows))
        summary.files.append(sweep_dir / "summary_seeds.csv")

    layout = pictures.grid_keys(jobs, keys)
    if layout:
        path = pictures.heatmap(sweep_dir / "summary_heatmap.png", jobs, layout, metric, mode)
        sections.append(f"## {metric} over {layout[0]} x {layout[1]}\n\n![heatmap]({path.name})")
        summary.files.append(path)
    sheet = pictures.contact_sheet(sweep_dir / "summary_contact_sheet.png", ranked, keys, layout, metric)
    if sheet:
        sections.append(f"## Last sample grid of each job\n\n![contact sheet]({sheet.name})")
        summary.files.append(sheet)

    silent = [j.path.name for j in jobs if j.status == NO_RESULT]
    if silent:
        note = f"{len(silent)} job(s) have no results file (still running, or killed): {', '.join(silent)}"
        console.print(note, soft_wrap=True)
        sections.append(f"## Without results\n\n{note}")
    atomic_write_text(sweep_dir / "summary.md", "\n\n".join(sections) + "\n")
    summary.files.insert(0, sweep_dir / "summary.md")
    console.print(f"summary: {', '.join(str(p) for p in summary.files)}", soft_wrap=True)
    return summary
