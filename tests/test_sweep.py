"""Sweeps through joblib: the same numbers in-process, in local workers and on a Dask cluster; the study's
grid the same for any --jobs and equal to training each network alone."""

from __future__ import annotations

from typing import Any

import joblib
import numpy as np
import pytest

import perceptrons as pc
from perceptrons.datasets import circles, train_test_split
from perceptrons.study import _train_widths, train_many_to_plateau, train_to_plateau
from perceptrons.sweep import expand_grid, run_jobs

GRID = {"hidden": [3, (4, 3)], "lr": [0.05, 0.2], "seed": [0, 1]}
FIXED = {"optimizer": "sgd", "momentum": 0.9, "batch_size": 16, "sampling": "epochs", "epochs": 3}


@pytest.fixture(scope="module")
def data() -> tuple[Any, ...]:
    X, y = circles(150, noise=0.15, seed=0)
    return tuple(train_test_split(X, y, test_size=0.3, seed=0))


def _numbers(results: list[pc.SweepResult]) -> list[tuple[Any, ...]]:
    return [(r.settings, r.net.flat_params.tolist(), r.history.loss.tolist(), r.history.test_accuracy) for r in results]


def test_grid_order_and_each_point_equals_train(data: tuple[Any, ...]) -> None:
    """Grid order (last key fastest) and every result equal to a hand-written train call of its settings."""
    Xtr, Xte, ytr, yte = data
    results = pc.sweep(GRID, Xtr, ytr, eval_data=(Xte, yte), **FIXED)
    assert [r.settings for r in results] == [{**FIXED, **p} for p in expand_grid(GRID)]
    assert [(r.settings["hidden"], r.settings["lr"], r.settings["seed"]) for r in results][:3] == [
        (3, 0.05, 0), (3, 0.05, 1), (3, 0.2, 0)]  # fmt: skip
    for r in results:
        s = r.settings
        hidden = [s["hidden"]] if isinstance(s["hidden"], int) else list(s["hidden"])
        net = pc.MLP([2, *hidden, 2], seed=s["seed"])
        hist = pc.train(net, Xtr, ytr, lr=s["lr"], seed=s["seed"], eval_data=(Xte, yte), **FIXED)
        np.testing.assert_array_equal(r.net.flat_params, net.flat_params)
        np.testing.assert_array_equal(r.history.loss, hist.loss)
        assert r.history.test_accuracy == hist.test_accuracy


def test_local_workers_give_the_in_process_numbers(data: tuple[Any, ...]) -> None:
    Xtr, _, ytr, _ = data
    here = pc.sweep(GRID, Xtr, ytr, n_jobs=1, **FIXED)
    workers = pc.sweep(GRID, Xtr, ytr, n_jobs=2, **FIXED)
    assert _numbers(here) == _numbers(workers)


def test_dask_local_cluster_gives_the_in_process_numbers(data: tuple[Any, ...]) -> None:
    """joblib's dask backend on a two-worker LocalCluster: the tasks run on the workers (the task stream
    shows them) and every number equals the in-process sweep."""
    distributed = pytest.importorskip("distributed", reason="distributed is in the test extra")
    Xtr, Xte, ytr, yte = data
    here = pc.sweep(GRID, Xtr, ytr, eval_data=(Xte, yte), **FIXED)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = pc.sweep(GRID, Xtr, ytr, eval_data=(Xte, yte), **FIXED)
    assert len(stream.data) >= len(here)
    assert len({t["worker"] for t in stream.data}) == 2  # both workers took tasks
    assert _numbers(on_dask) == _numbers(here)


def test_divergence_is_kept_not_raised(data: tuple[Any, ...]) -> None:
    Xtr, _, ytr, _ = data
    results = pc.sweep({"lr": [0.1, 1e4]}, Xtr * 1e3, ytr, hidden=8, steps=100, batch_size=4, seed=0)
    assert not results[0].history.diverged
    assert results[1].history.diverged.startswith("training diverged")
    assert np.isfinite(results[1].net.flat_params).all()


@pytest.mark.parametrize(
    ("grid", "fixed", "error", "match"),
    [
        ({}, {}, TypeError, "non-empty dict"),
        ({"lr": 0.1}, {}, TypeError, r"grid\['lr'\] must be a non-empty list"),
        ({"lr": []}, {}, TypeError, "non-empty list"),
        ({"learning_rate": [0.1]}, {}, ValueError, "unknown sweep setting"),
        ({"lr": [0.1]}, {"lr": 0.2}, ValueError, "both in the grid and as fixed"),
        ({"hidden": [3]}, {"sizes": [2, 3, 2]}, ValueError, "not both"),
    ],
)
def test_bad_grids_say_what_to_do(grid: Any, fixed: dict[str, Any], error: type, match: str) -> None:
    X, y = circles(20, seed=0)
    with pytest.raises(error, match=match):
        pc.sweep(grid, X, y, steps=2, **fixed)


def test_plateau_stack_equals_each_network_alone(data: tuple[Any, ...]) -> None:
    """The study's stacked plateau loop against its single-network loop, seed by seed: the same epochs,
    loss curve and weights (here exactly, as the per-slice products round as the lone ones do)."""
    Xtr, _, ytr, _ = data
    seeds = [100, 101, 102]
    nets = [pc.MLP([2, 5, 2], activation="tanh", seed=s) for s in seeds]
    alone = [n.copy() for n in nets]
    stacked = train_many_to_plateau(nets, Xtr, ytr, seeds, max_epochs=60, window=20)
    for net, one, seed, (epochs, losses) in zip(nets, alone, seeds, stacked):
        epochs_one, losses_one = train_to_plateau(one, Xtr, ytr, seed, max_epochs=60, window=20)
        assert epochs == epochs_one
        np.testing.assert_allclose(losses, losses_one, rtol=1e-12, atol=0)
        np.testing.assert_allclose(net.flat_params, one.flat_params, rtol=0, atol=1e-12)


def test_study_grid_cells_same_for_any_number_of_jobs(data: tuple[Any, ...]) -> None:
    """What ``report --jobs N`` runs: the grid's cells in process (1) and in two workers give the same numbers."""
    Xtr, Xte, ytr, yte = data
    circ = (Xtr, Xte, ytr, yte)
    window = (-1.5, 1.5, -1.5, 1.5)
    cells = [(act, w, [100, 101], circ, window, 20) for act in ("relu", "tanh") for w in (2, 5)]
    one, two = run_jobs(_train_widths, cells, 1), run_jobs(_train_widths, cells, 2)
    for cell_1, cell_2 in zip(one, two):
        for (net_1, vals_1, losses_1), (net_2, vals_2, losses_2) in zip(cell_1, cell_2):
            np.testing.assert_array_equal(net_1.flat_params, net_2.flat_params)
            assert vals_1 == vals_2 and losses_1 == losses_2
