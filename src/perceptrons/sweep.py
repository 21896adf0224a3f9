"""Sweeps: many independent trainings (a grid of settings) through joblib, on whatever joblib runs them on.

:func:`sweep` expands a grid (a dict of lists, their product) into trainings and hands them to
``joblib.Parallel``; it has no scheduler of its own. By default joblib runs them in this process
(``n_jobs=1``) or in local worker processes (``n_jobs=-1``: all cores); joblib's backends put them
elsewhere, with nothing here changed::

    with joblib.parallel_config(backend="dask"):        # a Dask cluster: distributed.Client(...) first
        results = pc.sweep(grid, X, y)

    from ray.util.joblib import register_ray            # a Ray cluster (not run here: Ray is not installed)
    register_ray()
    with joblib.parallel_config(backend="ray"):
        results = pc.sweep(grid, X, y)

Every training is seeded by its settings, so the numbers are the same whichever backend or number of
jobs runs it, and the results come back in grid order. :func:`run_jobs` is the same path for any
function (``perceptrons report --jobs N`` runs the study's independent trainings through it).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np

from .core import MLP, History, TrainingDiverged, train

#: grid keys that make the network (the rest go to :func:`perceptrons.train`)
NETWORK_KEYS = ("hidden", "sizes", "activation", "output", "init", "dtype", "seed")
#: grid keys passed to :func:`perceptrons.train` (``shuffle_seed`` is its ``seed``)
TRAIN_KEYS = ("optimizer", "lr", "momentum", "nesterov", "batch_size", "sampling", "steps", "epochs", "alpha",
              "l1", "sample_weight", "eval_every", "gradcheck_every", "gradcheck_h", "shuffle_seed")  # fmt: skip


@dataclass
class SweepResult:
    """One training of a sweep: its ``settings`` (the grid point with the fixed settings), its
    :class:`History` (``history.diverged`` says if it stopped early) and the trained ``net``."""

    settings: dict[str, Any]
    history: History
    net: MLP


def run_jobs(func: Callable[..., Any], jobs: Iterable[Sequence[Any]], n_jobs: int | None = 1) -> list[Any]:
    """``[func(*args) for args in jobs]`` through ``joblib.Parallel``: in this process for ``n_jobs=1``,
    ``n_jobs`` local workers otherwise (-1: all cores), or the backend of an enclosing
    ``joblib.parallel_config`` (``n_jobs=None`` takes that configuration's number too). Results in order."""
    return list(joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(func)(*args) for args in jobs))


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The product of the grid's lists, the last key varying fastest: ``{"a": [1, 2], "b": [3, 4]}`` gives
    ``a=1 b=3, a=1 b=4, a=2 b=3, a=2 b=4``."""
    if not isinstance(grid, Mapping) or not grid:
        raise TypeError(
            f"grid must be a non-empty dict of lists, like {{'lr': [0.01, 0.1], 'seed': [0, 1]}}; got {grid!r}."
        )
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not len(values):
            raise TypeError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}; write [value] for one.")
    return [dict(zip(grid, point)) for point in itertools.product(*grid.values())]


def _check_keys(settings: Mapping[str, Any]) -> None:
    unknown = sorted(set(settings) - set(NETWORK_KEYS) - set(TRAIN_KEYS))
    if unknown:
        raise ValueError(
            f"unknown sweep setting(s) {unknown}; a grid or fixed setting is one of the network's "
            f"{list(NETWORK_KEYS)} or train's {list(TRAIN_KEYS)}."
        )
    if "hidden" in settings and "sizes" in settings:
        raise ValueError("give hidden= (the hidden sizes) or sizes= (all layers), not both.")


def _n_outputs(output: str, y: Any) -> int:
    """Output units a head needs for targets ``y``: one per class (softmax labels) or one per column."""
    arr = np.asarray(y)
    if arr.ndim == 2:
        return int(arr.shape[1])
    if output == "softmax":
        return max(2, int(arr.max()) + 1) if arr.size and arr.dtype.kind in "iu" else 2
    return 1


def _network(settings: Mapping[str, Any], X: Any, y: Any) -> MLP:
    output = settings.get("output", "softmax")
    if "sizes" in settings:
        sizes = list(settings["sizes"])
    else:
        hidden = settings.get("hidden", ())
        hidden = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
        sizes = [int(X.shape[1]), *hidden, _n_outputs(output, y)]
    kw = {k: settings[k] for k in ("activation", "init", "dtype", "seed") if k in settings}
    return MLP(sizes, output=output, **kw)


def train_one(settings: dict[str, Any], X: Any, y: Any, eval_data: tuple[Any, Any] | None = None) -> SweepResult:
    """One training of a sweep (what each joblib task runs): the network of ``settings``, trained by
    :func:`perceptrons.train` with the rest; ``seed`` seeds the initial weights and, unless
    ``shuffle_seed`` is given, the sample order too. A divergence is kept in ``history.diverged``."""
    net = _network(settings, X, y)
    kw = {k: v for k, v in settings.items() if k in TRAIN_KEYS and k != "shuffle_seed"}
    kw["seed"] = settings.get("shuffle_seed", settings.get("seed"))
    try:
        hist = train(net, X, y, eval_data=eval_data, **kw)
    except TrainingDiverged as exc:
        hist = exc.history
    return SweepResult(dict(settings), hist, net)


def sweep(
    grid: Mapping[str, Sequence[Any]],
    X: Any,
    y: Any,
    *,
    eval_data: tuple[Any, Any] | None = None,
    n_jobs: int | None = None,
    **fixed: Any,
) -> list[SweepResult]:
    """Train one network per point of ``grid`` (the product of its lists) on (X, y), through joblib.

    Parameters
    ----------
    grid : dict of lists, e.g. ``{"hidden": [4, 16, (16, 16)], "lr": [0.01, 0.1], "seed": [0, 1, 2]}``.
        Keys: the network's ``hidden`` (an int or a tuple of hidden sizes; inputs and outputs come from
        X and y) or ``sizes``, ``activation``, ``output``, ``init``, ``dtype``, ``seed``; and any of
        :func:`perceptrons.train`'s settings (``optimizer``, ``lr``, ``epochs``, ...; ``shuffle_seed``
        for its ``seed``). ``seed`` seeds the initial weights and the sample order.
    X : (N, D) inputs; y : targets of the head, as for :func:`perceptrons.train`
    eval_data : optional (X_test, y_test) for every training
    n_jobs : joblib's: None (the default) takes the enclosing ``joblib.parallel_config`` (one job in this
        process without one), 1 in this process, -1 all local cores
    fixed : settings shared by every point (``epochs=50``, ``optimizer="adam"``, ...)

    Returns
    -------
    list of :class:`SweepResult` in grid order (the last key varying fastest); the same numbers
    whichever backend or number of jobs ran them.
    """
    points = expand_grid(grid)
    clash = sorted(set(grid) & set(fixed))
    if clash:
        raise ValueError(f"{clash} given both in the grid and as fixed settings; keep each in one place.")
    settings = [{**fixed, **point} for point in points]
    _check_keys(settings[0])
    return run_jobs(train_one, ((s, X, y, eval_data) for s in settings), n_jobs)  # type: ignore[no-any-return]
