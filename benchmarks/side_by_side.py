"""Two training runs side by side on this machine against the same two one after the other.

    python benchmarks/side_by_side.py [--batches 150]

Each run is `python train.py trainer.max_epochs=1 trainer.limit_train_batches=<batches>` (the default
digits), timed from start to exit. The ratio is the sequential pair's time over the side-by-side pair's:
the throughput two runs get sharing the machine, relative to running them in turn (1.0: sharing costs
nothing). Measured with ganlab's division of the cores (`threads=null`, the default) and with every run
taking a thread per core (`threads=<cores>`, torch's own default, what two runs did before). The
sequential pair runs before and after, so that the machine's drift cancels.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ganlab.callbacks.core_share import cores

PROJECT = Path(__file__).resolve().parents[1]


def command(run_dir: Path, batches: int, *extra: str) -> list[str]:
    return [
        sys.executable, "train.py", "trainer.max_epochs=1", f"trainer.limit_train_batches={batches}",
        "callbacks.progress_bar=null", "callbacks.model_summary=null", f"hydra.run.dir={run_dir}", *extra,
    ]  # fmt: skip


def pair(folder: Path, batches: int, together: bool, *extra: str) -> float:
    """Seconds for two runs, side by side or one after the other."""
    runs = [command(folder / f"{time.monotonic_ns()}_{i}", batches, *extra) for i in range(2)]
    start = time.perf_counter()
    if together:
        processes = [subprocess.Popen(run, cwd=PROJECT, stdout=subprocess.DEVNULL) for run in runs]
        codes = [p.wait() for p in processes]
    else:
        codes = [subprocess.run(run, cwd=PROJECT, stdout=subprocess.DEVNULL).returncode for run in runs]
    if any(codes):
        raise SystemExit(f"a run failed (exit codes {codes})")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder)
        before = pair(runs, args.batches, together=False)
        shared = pair(runs, args.batches, together=True)
        greedy = pair(runs, args.batches, True, f"threads={cores()}")
        after = pair(runs, args.batches, together=False)
    sequential = (before + after) / 2
    drift = f"sequential {before:.1f} s before, {after:.1f} s after"
    print(f"two runs of {args.batches} batches, {cores()} cores ({drift}):")
    print(f"  one after the other                 {sequential:7.1f} s  (baseline)")
    print(f"  side by side, cores divided         {shared:7.1f} s  ratio {sequential / shared:.2f}")
    print(f"  side by side, threads={cores()} each       {greedy:7.1f} s  ratio {sequential / greedy:.2f}")


if __name__ == "__main__":
    main()
