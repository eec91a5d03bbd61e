"""Metrics registered by name, as stylegan2-ada-pytorch's metric_main: one decorated function each.

A metric is a function of `MetricInputs` (the real and generated features, the IS logits, the generator)
returning named values; `@register_metric` declares each value's direction ("min", "max", or None for a
spread such as a standard deviation) and what it needs. What is logged (`val/<value>`), which way the best
checkpoint and results.json's best values go, the HPARAMS tab, the sweep table's columns and metrics.json's
sections all come from here; `metrics.names` chooses the run's metrics and `metrics.extra` adds functions
from the user's own modules by import path (importing them registers them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from ganlab.utils.errors import GanlabError
from ganlab.utils.settings import locate

Direction = Literal["min", "max"] | None
NEEDS = ("features", "logits", "generator")


@dataclass
class MetricInputs:
    """What a metric may read: features (N, D) of the real and generated images in the run's feature
    space, the generated images' logits (IS), the model, the metrics settings and a seed."""

    real: torch.Tensor
    fake: torch.Tensor
    fake_logits: torch.Tensor | None
    settings: dict[str, Any]
    seed: int = 0
    model: nn.Module | None = None
    state: Any = field(default=None, repr=False)  # the torchmetrics objects behind fid/is/kid


MetricFn = Callable[[MetricInputs], dict[str, float]]


@dataclass(frozen=True)
class Metric:
    name: str
    compute: MetricFn
    directions: dict[str, Direction]
    needs: tuple[str, ...]


METRICS: dict[str, Metric] = {}
_BY_FUNCTION: dict[MetricFn, Metric] = {}  # so `metrics.extra` finds a metric by its function's import path


def register_metric(
    name: str | None = None, *, directions: dict[str, Direction], needs: Iterable[str] = ("features",)
) -> Callable[[MetricFn], MetricFn]:
    """Register `fn` under `name` (default: its own name); it returns a value for each key of `directions`."""
    needs = tuple(needs)
    if unknown := [n for n in needs if n not in NEEDS]:
        raise GanlabError(f"register_metric: needs={unknown[0]!r} is not known: use {', '.join(NEEDS)}")

    def register(fn: MetricFn) -> MetricFn:
        metric = Metric(name or fn.__name__, fn, dict(directions), needs)
        METRICS[metric.name] = _BY_FUNCTION[fn] = metric
        return fn

    return register


def chosen(names: Iterable[str], extra: Iterable[str] = ()) -> list[Metric]:
    """The run's metrics: built-in or already registered `names`, then the functions `extra` names by
    import path (e.g. mylab.metrics.sharpness), each a one-line error when it cannot be had."""
    from ganlab.metrics import builtin, faces  # noqa: F401  (register fid, is, kid, prdc; face_rate)

    metrics = []
    for name in names:
        if name not in METRICS:
            raise GanlabError(f"metrics.names: {name!r} is not a registered metric: use {', '.join(METRICS)}")
        metrics.append(METRICS[name])
    for path in extra:
        try:
            fn = locate(path)
        except Exception as err:
            raise GanlabError(
                f"metrics.extra: {path!r} cannot be imported ({type(err).__name__}: {err}): put its package "
                "on PYTHONPATH (or install it) and check the name"
            ) from None
        metric = _BY_FUNCTION.get(fn) if callable(fn) else None
        if metric is None:
            raise GanlabError(f"metrics.extra: {path!r} is not a function decorated with @register_metric")
        metrics.append(metric)
    return metrics


def logged_directions(metrics: Iterable[Metric]) -> dict[str, str]:
    """`val/<value>` -> "min" | "max", for every value that has a direction (the logged ones)."""
    return {f"val/{key}": d for m in metrics for key, d in m.directions.items() if d is not None}


def compute_all(metrics: Iterable[Metric], inputs: MetricInputs) -> dict[str, float]:
    results: dict[str, float] = {}
    for metric in metrics:
        if "generator" in metric.needs and inputs.model is None:
            raise GanlabError(
                f"metric {metric.name!r} needs the generator, and scoring two folders has none: leave it out "
                "of metrics.names / metrics.extra here"
            )
        values = metric.compute(inputs)
        if missing := set(metric.directions) - set(values):
            raise GanlabError(f"metric {metric.name!r} did not return {sorted(missing)[0]!r} (registered)")
        results |= {k: float(v) for k, v in values.items()}
    return results
