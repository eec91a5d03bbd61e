"""Every setting checked before any expensive work (decoding, caching, building networks), in one line each.

Types come from the `_target_` classes' own signatures (`lr: float`), so a new model or data module is
covered by writing its `__init__`; ranges come from RANGES, by setting name, wherever it appears.
"""

from __future__ import annotations

import importlib
import inspect
import math
import types
import typing
from typing import Any, Literal, Union

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from ganlab.utils.errors import GanlabError, first_line

# name -> (low, high, low_inclusive, what to say); None: unbounded on that side.
RANGES: dict[str, tuple[float | None, float | None, bool, str]] = {
    "lr": (0, None, False, "a positive learning rate, e.g. 0.0002"),
    "lr_g": (0, None, False, "a positive learning rate, e.g. 0.0002"),
    "lr_d": (0, None, False, "a positive learning rate, e.g. 0.0002"),
    "beta1": (0, 1, True, "a value in [0, 1), e.g. 0.5"),
    "beta2": (0, 1, True, "a value in [0, 1), e.g. 0.999"),
    "batch_size": (1, None, True, "a positive whole number, e.g. 64"),
    "latent_dim": (1, None, True, "a positive whole number, e.g. 100"),
    "width": (1, None, True, "a positive whole number, e.g. 64"),
    "extra_convs": (0, None, True, "0 or more layers"),
    "embed_dim": (1, None, True, "a positive whole number, e.g. 50"),
    "image_size": (1, None, True, "a positive whole number of pixels, e.g. 64"),
    "num_workers": (0, None, True, "0 or more worker processes"),
    "n_critic": (1, None, True, "1 or more discriminator steps per generator step"),
    "gp_weight": (0, None, True, "0 or more"),
    "label_smoothing": (0, 0.5, True, "a value in [0, 0.5), with label_noise"),
    "label_noise": (0, 0.5, True, "a value in [0, 0.5), with label_smoothing"),
    "noise_factor": (0, 1, True, "a value in [0, 1]"),
    "ema_decay": (0, 1, False, "a value in (0, 1), e.g. 0.999, or null"),
    "ema_rampup": (0, None, False, "a positive number, e.g. 0.5, or null"),
    "max_epochs": (-1, None, True, "-1 (no limit) or a number of epochs"),
    "num_samples": (2, None, True, "2 or more images"),
    "max_loss": (0, None, False, "a positive bound on a loss's size, e.g. 1e5, or null"),
}
_HIGH_INCLUSIVE = {"noise_factor"}
# Settings bounded together: (names, the largest their sum may approach, what to say).
SUMS: list[tuple[tuple[str, ...], float, str]] = [
    (("label_smoothing", "label_noise"), 0.5, "real targets must stay above 0.5"),
]


def check_settings(cfg: DictConfig, groups: tuple[str, ...] = ("data", "model", "trainer")) -> None:
    """Resolve the config, then check each group's values (and those of the `_target_` nodes inside it: the
    networks, the loss) against its class's signature and RANGES. Data first: the model's image size and
    channels are the data's, and are reported under their own names."""
    try:
        for key in cfg:
            if key != "hydra":  # Hydra's own settings are not the run's (and some resolve only in jobs)
                node = cfg[key]
                if isinstance(node, DictConfig | ListConfig):
                    OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as err:
        what = "folder" if err.full_key.endswith(("root", "dir")) else "value"
        raise GanlabError(f"{err.full_key} is not set: pass {err.full_key}=<{what}>") from None
    except OmegaConfBaseException as err:
        raise GanlabError(f"{err.full_key}: {first_line(err)}") from None
    seed = cfg.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise GanlabError(f"seed={seed!r} is not a whole number: pass seed=<an integer>, e.g. seed=0")
    for group in groups:
        node = cfg.get(group)
        if isinstance(node, DictConfig) and "_target_" in node:
            _check_node(group, node)


def instantiate(
    node: DictConfig | dict[str, Any], setting: str, fix: str | None = None, **kwargs: Any
) -> Any:
    """hydra.utils.instantiate, with what the class refused said in one line naming the setting (and `fix`,
    what to do about it). Lists and dicts arrive as plain Python ones (`_convert_="all"`): hyper-parameters
    saved in a checkpoint must load with `weights_only=True`, which refuses OmegaConf containers."""
    try:
        return hydra.utils.instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, GanlabError):
            raise cause from None
        fix = fix or f"check the {setting}.* settings"
        raise GanlabError(f"{setting}: {first_line(cause or err)}; {fix}") from None


def _check_node(group: str, node: DictConfig) -> None:
    try:
        cls = locate(node._target_)
    except Exception:  # not importable: building it says so in one line
        return
    if not isinstance(cls, type):
        return
    known, hints = _signature(cls)
    for name, value in node.items():
        if not isinstance(name, str) or name.startswith("_"):
            continue
        setting = f"{group}.{name}"
        if isinstance(value, DictConfig) and "_target_" in value:  # a component: its own class's settings
            _check_node(setting, value)
            continue
        if known and name not in known:  # **kwargs would swallow it: a typo would train without a word
            other = (
                f" (another component: {group.replace('.', '/')}=<option>){_recipe_hint()}"
                if "." in group
                else ""
            )
            raise GanlabError(
                f"{setting} is not a setting of {cls.__name__}: known are {', '.join(sorted(known))}{other}"
            )
        expected = hints.get(name)
        if typing.get_origin(expected) is Literal and value not in typing.get_args(expected):
            raise GanlabError(f"{setting}={value!r} is not known: use {_describe(expected)[7:]}")
        if expected is not None and not _fits(value, expected):
            raise GanlabError(
                f"{setting}={value!r} is not {_describe(expected)}: pass {setting}=<{_describe(expected)}>"
            )
        if name in RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high, low_inclusive, say = RANGES[name]
            too_low = low is not None and (value < low if low_inclusive else value <= low)
            too_high = high is not None and (value > high if name in _HIGH_INCLUSIVE else value >= high)
            if too_low or too_high or math.isnan(value):
                raise GanlabError(f"{setting}={value} is out of range: pass {say}")
    for names, bound, why in SUMS:
        values = [node.get(name) for name in names]
        if all(isinstance(v, (int, float)) for v in values) and sum(values) >= bound:
            named = " + ".join(f"{group}.{name}" for name in names)
            raise GanlabError(f"{named} = {sum(values):g} must stay below {bound:g}: {why}")


# Libraries whose classes' own errors name their keys (and whose **kwargs mean something).
_LIBRARIES = ("builtins", "abc", "typing", "torch", "lightning", "pytorch_lightning", "hydra", "omegaconf")


def locate(target: str) -> Any:
    """The object a `_target_` names (importlib: Hydra's own locate logs a multi-line error first)."""
    module, _, name = str(target).rpartition(".")
    return getattr(importlib.import_module(module), name)


def _recipe_hint() -> str:
    """Where a component's stray key may have come from: the data x model recipe, when one applies."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    recipe = choices.get("data_model")
    if not recipe:
        return ""
    return f"; conf/data_model/{recipe}.yaml may have set it for other networks: drop it with ~data_model"


def _signature(cls: type) -> tuple[set[str], dict[str, Any]]:
    """The named __init__ parameters of a ganlab or user class and of the such classes it forwards
    **kwargs to (its bases), and the types of those annotated; nothing for the libraries' classes."""
    names: set[str] = set()
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.split(".")[0] in _LIBRARIES:
            continue
        params = inspect.signature(init).parameters.items()
        names |= {n for n, p in params if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        try:
            resolved = typing.get_type_hints(init)
        except Exception:  # an annotation that does not resolve: that class's types go unchecked
            continue
        hints |= {n: resolved[n] for n in names if n in resolved}
    return names, hints


def _fits(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (Union, types.UnionType):
        return any(_fits(value, option) for option in typing.get_args(expected))
    if origin is Literal:
        return value in typing.get_args(expected)
    if expected is type(None):
        return value is None
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected in (bool, str):
        return isinstance(value, expected)
    return True  # paths, lists, nested configs: their own code says what is wrong


def _describe(expected: Any) -> str:
    if typing.get_origin(expected) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(expected)))
    names = {float: "a number", int: "a whole number", bool: "true or false", str: "a text"}
    options = [a for a in typing.get_args(expected) if a is not type(None)] or [expected]
    described = " or ".join(names.get(o, getattr(o, "__name__", str(o))) for o in options)
    return described + (" or null" if type(None) in typing.get_args(expected) else "")
