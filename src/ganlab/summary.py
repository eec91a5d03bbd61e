"""`python -m ganlab.summary <sweep dir>`: the summary a multirun ends with, for any sweep folder (a cluster
sweep, an interrupted one, one still running)."""

from __future__ import annotations

import argparse

from ganlab.sweeps import summarize
from ganlab.utils.errors import GanlabError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganlab.summary", description=__doc__)
    parser.add_argument("sweep_dir", help="a multirun folder, e.g. outputs/train/multiruns/<date>_<time>")
    parser.add_argument(
        "--metric", help="rank by this logged value (default: the runs' optimized_metric, else train/g_loss)"
    )
    args = parser.parse_args(argv)
    try:
        summarize(args.sweep_dir, args.metric)
    except GanlabError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
