"""Multiruns as experiments: job results, the sweep summary, and the Hydra plugins ganlab configures."""

from ganlab.sweeps.callback import SweepSummary
from ganlab.sweeps.summary import Summary, summarize

__all__ = ["Summary", "SweepSummary", "summarize"]
