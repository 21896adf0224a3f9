"""Benchmark: ``python benchmarks/run.py [--dtype float64|float32|both] [--rounds 2] [--repeats 5]
[--only W1,W2] [--out results.json]``.

Runs each workload for us and for every installed peer, each peer in its own fresh Python process
(one warm-up run, then ``--repeats`` timed runs), and prints the medians, our speed-up over each peer
and the accuracy each reached. Peers: ``naive`` (the notebook's per-sample loops, ``naive.py`` beside
this script), ``sklearn`` (``MLPClassifier`` with matched hyper-parameters; in W7 and W8 scikit-learn's
estimators against ours with the same hyper-parameters and ``random_state``) and ``torch`` (CPU,
optional extra ``perceptrons[bench]``; the library never imports it); in W9 ``serial`` is ours too:
``pc.train`` on each network one after another, against ``pc.train_many`` training them as one stack. A peer that cannot run is listed
as skipped with the reason. This folder is not part of the installed package: the library is used
only through its public API (``import perceptrons as pc``; the report workloads R1 and R2 through
``perceptrons.study`` and ``perceptrons.report``, as the command does), as a user would.

Side by side: the processes of one workload are started together and then asked for their timed runs
in turn (ours, A, B, ours, A, B, ...; the first rotates), so every run of ours has a run of each peer
next to it in time. This machine (a shared virtual machine) has slow spells of seconds in which the
same code runs up to 2x slower; taken in turn, such a spell slows the peers alike instead of deciding
a ratio. ``--rounds`` repeats that with fresh processes; short workloads take more runs (until
``--budget`` seconds per round are used). Medians are over all timed runs. Our speed-up over a peer
is the median over the side-by-side pairs of (peer's run / our run next to it): in a slow spell both
runs of a pair slow down, so the pair's ratio holds where a ratio of two medians can mix a fast
median with a slow one (seen here: W1 pairs said 19.0x, minima 19.8x, the ratio of medians 14.8x).

Precision: ``--dtype`` (default ``float64``) is the floating-point type of W1-W5 for every peer: our
network (``pc.MLP(..., dtype=...)``) and its data, the naive peer's data (and, in W3a, its weights),
scikit-learn's data (``MLPClassifier`` computes in the dtype of ``X``) and torch's model and tensors.
The naive peer's own loops create float64 arrays where the notebook does (``np.zeros``, its random
initial weights), so in float32 it computes partly in float64; Python's per-sample overhead is what
it measures either way. W6 is float32 always. ``--dtype both`` runs the chosen workloads once per
dtype (float64 first), printing a table for each; the JSON (``--out``) records the dtype at the top
(``"dtype"``) and on every workload, and for ``both`` holds one ``{"dtype", "workloads"}`` entry per
dtype under ``"by_dtype"`` instead of a top-level ``"workloads"``.

Threads: the harness sets no thread counts (no ``threadpool_limits``, no thread environment
variables, no ``torch.set_num_threads``): every peer runs at its own defaults, as a user's call
would, so each library's own thread policy is part of what is measured. W6's GFLOP/s is compared
with a float32 matrix-product peak measured in our worker, also at NumPy's default threads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

import perceptrons as pc
from perceptrons.datasets import one_hot, train_test_split
from perceptrons.report import write_report
from perceptrons.study import StudyConfig, run_study

WORKLOADS = {
    "W1": "course protocol, single layer: blobs (1000 points, 3 classes, 750 train), 1000 per-sample SGD steps, "
    "gradient check every step, test accuracy every 10 steps",
    "W2": "course protocol, two layers: moons (1000 points, 750 train), 2-16-2 ReLU, 1000 per-sample steps, "
    "test accuracy every 10 steps",
    "W3a": "decision grid: probabilities of a trained 2-16-2 network on 100x100 points",
    "W3b": "decision grid: probabilities of a trained 2-16-2 network on 500x500 points",
    "W4": "capacity sweep: circles (1000 points), widths 2, 5, 10, 15, 20, 50, Adam (lr 0.01), batch 32, "
    "200 epochs each; time per model",
    "W5a": "throughput: moons 200,000 points, 2-64-64-2 ReLU, batch 256, one epoch of SGD (lr 0.05), data in "
    "--dtype for every peer",
    "W5b": "throughput: digits (1797), 64-128-10 ReLU, batch 32, 20 epochs of SGD (lr 0.01, momentum 0.9, Nesterov), "
    "data in --dtype for every peer",
    "W6": "large network: 784-512-512-10 ReLU, batch 512, float32 always (whatever --dtype), random data, 40 SGD steps",
    "W7": "estimator, L-BFGS: digits (1797, standardised, 1347 train), 64 tanh units, solver='lbfgs', max_iter=200, "
    "random_state 0, 1, 2: PerceptronClassifier vs MLPClassifier with the same hyper-parameters; time per fit",
    "W8": "estimator, regression: make_regression (20640 x 8, California-housing-sized, noise 10, y standardised), "
    "64 ReLU units, Adam, batch 200, max_iter=20, random_state 0, 1: PerceptronRegressor vs MLPRegressor; time per fit",
    "R1": "perceptrons report, study only: run_study(seed 0), every experiment and figure, nothing written; float64",
    "R2": "perceptrons report, the whole command: the study, then HTML, PDF, SVG figures and metrics.json written "
    "to a temporary folder; float64",
    "W9": "many networks: 18 networks 2-16-2 ReLU on circles (1000 points, 750 train), initial-weight seeds 0-17, "
    "learning rates 0.003, 0.01, 0.03 in turn, Adam, batch 32, 50 epochs, one shared sample order: "
    "pc.train_many (ours) against pc.train on each network one after another (serial)",
}
PEERS = {
    "W1": ["ours", "naive"],
    "W2": ["ours", "naive", "torch"],
    "W3a": ["ours", "naive", "torch"],
    "W3b": ["ours", "torch"],
    "W4": ["ours", "sklearn", "torch"],
    "W5a": ["ours", "sklearn", "torch"],
    "W5b": ["ours", "sklearn", "torch"],
    "W6": ["ours", "torch"],
    "W7": ["ours", "sklearn"],
    "W8": ["ours", "sklearn"],
    "R1": ["ours"],
    "R2": ["ours"],
    "W9": ["ours", "serial"],
}
#: the estimator workloads: the hyper-parameters both peers get, and the random states each run fits
ESTIMATOR_PARAMS: dict[str, dict[str, Any]] = {
    "W7": dict(hidden_layer_sizes=(64,), activation="tanh", solver="lbfgs", max_iter=200),
    "W8": dict(hidden_layer_sizes=(64,), solver="adam", batch_size=200, max_iter=20),
}
ESTIMATOR_SEEDS = {"W7": (0, 1, 2), "W8": (0, 1)}
DTYPES = ("float64", "float32")
WIDTHS = (2, 5, 10, 15, 20, 50)
MAX_REPEATS = 25


# -- data -----------------------------------------------------------------------------------------
def _split(X: Any, y: Any, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    return train_test_split(X, y, test_size=0.25, seed=seed)


def _dtype(w: str, dtype: str) -> Any:
    """The NumPy dtype workload ``w`` runs in for ``--dtype dtype``: W6 is float32 always, the report
    (R1, R2) float64 always (the study's own)."""
    return np.dtype(np.float32 if w == "W6" else np.float64 if w.startswith("R") else dtype)


def _data(w: str, dt: Any = np.float64) -> dict[str, Any]:
    """Workload ``w``'s data, its features ``X`` in ``dt`` (made in float64, then cast: the same points
    in either dtype); labels stay integers."""
    D = pc.datasets
    if w.startswith("R"):  # the study makes its own data
        return {}
    if w == "W1":
        X, y = D.blobs(1000, k=3, seed=0)
    elif w in ("W2", "W3a", "W3b"):
        X, y = D.moons(1000, noise=0.2, seed=0)
    elif w in ("W4", "W9"):
        X, y = D.circles(1000, noise=0.1, seed=0)
    elif w == "W5a":
        X, y = D.moons(200_000, noise=0.2, seed=0)
    elif w == "W5b":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
    elif w == "W7":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = (X - X.mean(axis=0)) / np.maximum(X.std(axis=0), 1e-12)
    elif w == "W8":
        from sklearn.datasets import make_regression
        from sklearn.model_selection import train_test_split as split_rows

        X, y = make_regression(n_samples=20640, n_features=8, n_informative=8, noise=10.0, random_state=0)
        y = (y - y.mean()) / y.std()
        parts = split_rows(X.astype(dt), y, test_size=0.25, random_state=0)  # ours stratifies labels
        return dict(zip(("Xtr", "Xte", "ytr", "yte"), parts))
    if w in ("W1", "W2", "W3a", "W3b", "W4", "W5a", "W5b", "W7", "W9"):
        return dict(zip(("Xtr", "Xte", "ytr", "yte"), _split(X.astype(dt), y)))
    if w == "W6":
        rng = np.random.default_rng(0)
        return {"X": rng.standard_normal((512 * 40, 784), dtype=np.float32), "y": rng.integers(0, 10, 512 * 40)}
    raise ValueError(w)


def _grid(n: int, dt: Any = np.float64) -> Any:
    g = np.linspace(-1.5, 2.5, n).astype(dt)
    gx, gy = np.meshgrid(g, g)
    return np.column_stack([gx.ravel(), gy.ravel()])


def _trained_2_16_2(dt: Any = np.float64) -> Any:
    """The W3 network: trained once with the library (same seed) in ``dt``, shared by every peer."""
    d = _data("W2", dt)
    net = pc.MLP([2, 16, 2], activation="relu", init="normal", seed=0, dtype=dt)
    pc.train(net, d["Xtr"], d["ytr"], lr=0.1, steps=3000, seed=0)
    return net


# -- ours ---------------------------------------------------------------------------------------
def _accuracy(net: Any, X: Any, y: Any) -> float:
    return float(np.mean(net.predict(X) == y))


def _weights(net: Any) -> list[tuple[Any, Any]]:
    """(W, b) per layer of a trained ``pc.MLP`` (W as inputs x outputs), from its public ``params``
    (``W0, b0, W1, b1, ...``): the W3 peers evaluate the very network ours trained."""
    p = net.params
    return [(p[f"W{i}"], p[f"b{i}"]) for i in range(sum(k.startswith("W") for k in p))]


def ours(w: str, d: dict[str, Any], dt: Any) -> Callable[[], dict[str, float]]:
    if w == "W1":

        def run() -> dict[str, float]:
            net = pc.MLP([2, 3], activation="identity", init="normal", seed=0, dtype=dt)
            h = pc.train(
                net,
                d["Xtr"],
                d["ytr"],
                lr=0.01,
                steps=1000,
                eval_data=(d["Xte"], d["yte"]),
                eval_every=10,
                gradcheck_every=1,
                seed=1,
            )
            return {"accuracy": h.test_accuracy[-1], "max_gradcheck_error": max(h.gradcheck_norm_error)}

        return run
    if w == "W2":

        def run() -> dict[str, float]:
            net = pc.MLP([2, 16, 2], activation="relu", init="normal", seed=0, dtype=dt)
            h = pc.train(
                net, d["Xtr"], d["ytr"], lr=0.1, steps=1000, eval_data=(d["Xte"], d["yte"]), eval_every=10, seed=1
            )
            return {"accuracy": h.test_accuracy[-1]}

        return run
    if w in ("W3a", "W3b"):
        net = _trained_2_16_2(dt)
        grid = _grid(100 if w == "W3a" else 500, dt)

        def run() -> dict[str, float]:
            p = net.predict_proba(grid)
            return {"checksum": float(p[:, 1].sum())}

        return run
    if w == "W4":

        def run() -> dict[str, float]:
            accs = []
            for width in WIDTHS:
                net = pc.MLP([2, width, 2], activation="relu", seed=width, dtype=dt)
                pc.train(
                    net,
                    d["Xtr"],
                    d["ytr"],
                    optimizer="adam",
                    lr=0.01,
                    batch_size=32,
                    sampling="epochs",
                    epochs=200,
                    seed=width,
                )
                accs.append(_accuracy(net, d["Xte"], d["yte"]))
            return {"accuracy": float(np.mean(accs)), "per_model": 1.0 / len(WIDTHS)}

        return run
    if w in ("W5a", "W5b"):
        kw: dict[str, Any] = {"lr": 0.05} if w == "W5a" else {"lr": 0.01, "momentum": 0.9, "nesterov": True}
        sizes, bs, epochs = ([2, 64, 64, 2], 256, 1) if w == "W5a" else ([64, 128, 10], 32, 20)

        def run() -> dict[str, float]:
            net = pc.MLP(sizes, activation="relu", seed=0, dtype=dt)
            pc.train(net, d["Xtr"], d["ytr"], batch_size=bs, sampling="epochs", epochs=epochs, seed=0, **kw)
            return {"accuracy": _accuracy(net, d["Xte"], d["yte"]), "samples": float(len(d["ytr"]) * epochs)}

        return run
    if w in ESTIMATOR_PARAMS:
        return _estimator_run(w, d, pc.PerceptronClassifier if w == "W7" else pc.PerceptronRegressor)
    if w in ("R1", "R2"):
        return _report_run(write=w == "R2")
    if w == "W9":
        return _w9_ours(d, dt)
    if w == "W6":

        def run() -> dict[str, float]:
            net = pc.MLP([784, 512, 512, 10], activation="relu", seed=0, dtype=dt)
            pc.train(net, d["X"], d["y"], lr=0.01, batch_size=512, sampling="epochs", epochs=1, seed=0)
            return {"flops": _w6_flops()}

        return run
    raise ValueError(w)


def _report_run(write: bool) -> Callable[[], dict[str, float]]:
    """The course study of ``perceptrons report`` (seed 0, full size); with ``write`` also every file the
    command writes, into a fresh temporary folder. "accuracy": the 2-16-2 ReLU network's on moons."""

    def run() -> dict[str, float]:
        study = run_study(StudyConfig(seed=0))
        if write:
            with tempfile.TemporaryDirectory() as tmp:
                write_report(study, Path(tmp) / "report")
        for fig in study.figures.values():
            plt.close(fig)  # pyplot keeps every figure alive until closed
        return {"accuracy": float(study.metrics["moons_relu16"]["test_accuracy"])}

    return run


def _w9_nets(dt: Any) -> tuple[list[Any], list[float]]:
    """W9's 18 networks (seeds 0-17) and their learning rates (0.003, 0.01, 0.03 in turn)."""
    nets = [pc.MLP([2, 16, 2], activation="relu", seed=k, dtype=dt) for k in range(18)]
    return nets, [(0.003, 0.01, 0.03)[k % 3] for k in range(18)]


W9_TRAIN = dict(optimizer="adam", batch_size=32, sampling="epochs", epochs=50, seed=0)


def _w9_ours(d: dict[str, Any], dt: Any) -> Callable[[], dict[str, float]]:
    def run() -> dict[str, float]:
        nets, rates = _w9_nets(dt)
        pc.train_many(nets, d["Xtr"], d["ytr"], lr=rates, **W9_TRAIN)
        return {"accuracy": float(np.mean([_accuracy(n, d["Xte"], d["yte"]) for n in nets]))}

    return run


def serial_peer(w: str, d: dict[str, Any], dt: Any) -> Callable[[], dict[str, float]]:
    """Ours too: the W9 networks trained by ``pc.train`` one after another (what train_many replaces)."""

    def run() -> dict[str, float]:
        nets, rates = _w9_nets(dt)
        for net, lr in zip(nets, rates):
            pc.train(net, d["Xtr"], d["ytr"], lr=lr, **W9_TRAIN)
        return {"accuracy": float(np.mean([_accuracy(n, d["Xte"], d["yte"]) for n in nets]))}

    return run


def _estimator_run(w: str, d: dict[str, Any], cls: Any) -> Callable[[], dict[str, float]]:
    """Fit ``cls`` (ours or scikit-learn's: the same API) once per random state of ``w``; the mean test score
    (accuracy, or R^2 for the regressor) and the time per fit."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    key = "accuracy" if w == "W7" else "r2"
    seeds = ESTIMATOR_SEEDS[w]

    def run() -> dict[str, float]:
        scores = [
            cls(random_state=seed, **ESTIMATOR_PARAMS[w]).fit(d["Xtr"], d["ytr"]).score(d["Xte"], d["yte"])
            for seed in seeds
        ]
        return {key: float(np.mean(scores)), "per_model": 1.0 / len(seeds)}

    return run


def _w6_flops() -> float:
    sizes = [784, 512, 512, 10]
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    # forward 2*N*macs, backward 2*N*macs for dW and 2*N*macs for dX (minus the first layer's dX)
    return float(40 * 512 * 2 * (3 * macs - sizes[0] * sizes[1]))


# -- naive --------------------------------------------------------------------------------------
def naive_peer(w: str, d: dict[str, Any], dt: Any) -> Callable[[], dict[str, float]]:
    import naive as nv  # the sibling naive.py: this script's folder is sys.path[0]

    if w == "W1":

        def run() -> dict[str, float]:
            Ytr, Yte = one_hot(d["ytr"], 3).astype(dt), one_hot(d["yte"], 3).astype(dt)
            out = nv.train_one_layer(d["Xtr"], Ytr, d["Xte"], Yte, 0.01)
            return {"accuracy": float(out[4][-1])}

        return run
    if w == "W2":

        def run() -> dict[str, float]:
            Ytr, Yte = one_hot(d["ytr"], 2).astype(dt), one_hot(d["yte"], 2).astype(dt)
            out = nv.train_two_layer(d["Xtr"], Ytr, d["Xte"], Yte, 0.1, 16)
            return {"accuracy": float(out[6][-1])}

        return run
    if w == "W3a":
        (Wh, bh), (Wo, bo) = _weights(_trained_2_16_2(dt))  # in dt, as the network is
        g = np.linspace(-1.5, 2.5, 100).astype(dt)

        def run() -> dict[str, float]:
            out = nv.grid_proba(Wo, bo[:, None], Wh, bh[:, None], g, g)
            return {"checksum": float(out[:, :, 1].sum())}

        return run
    raise ValueError(w)


# -- scikit-learn -------------------------------------------------------------------------------
def sklearn_peer(w: str, d: dict[str, Any], dt: Any) -> Callable[[], dict[str, float]]:
    """``MLPClassifier`` computes in the dtype of ``X``: ``d``'s features are in ``dt`` already."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    warnings.simplefilter("ignore", ConvergenceWarning)
    if w in ESTIMATOR_PARAMS:
        return _estimator_run(w, d, MLPClassifier if w == "W7" else MLPRegressor)
    common = dict(alpha=0.0, tol=0.0, n_iter_no_change=10**9, shuffle=True)
    if w == "W4":

        def run() -> dict[str, float]:
            accs = []
            for width in WIDTHS:
                clf = MLPClassifier(
                    (width,),
                    solver="adam",
                    learning_rate_init=0.01,
                    batch_size=32,
                    max_iter=200,
                    random_state=width,
                    **common,
                )
                accs.append(clf.fit(d["Xtr"], d["ytr"]).score(d["Xte"], d["yte"]))
            return {"accuracy": float(np.mean(accs)), "per_model": 1.0 / len(WIDTHS)}

        return run
    if w in ("W5a", "W5b"):
        hidden, bs, epochs, kw = (
            ((64, 64), 256, 1, dict(learning_rate_init=0.05, momentum=0.0))
            if w == "W5a"
            else ((128,), 32, 20, dict(learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True))
        )

        def run() -> dict[str, float]:
            clf = MLPClassifier(hidden, solver="sgd", batch_size=bs, max_iter=epochs, random_state=0, **kw, **common)
            clf.fit(d["Xtr"], d["ytr"])
            return {"accuracy": clf.score(d["Xte"], d["yte"]), "samples": float(len(d["ytr"]) * epochs)}

        return run
    raise ValueError(w)


# -- PyTorch ------------------------------------------------------------------------------------
def torch_peer(w: str, d: dict[str, Any], dt: Any) -> Callable[[], dict[str, float]]:
    import torch

    F = torch.nn.functional
    tdt = torch.float32 if np.dtype(dt) == np.float32 else torch.float64  # the model's; tensors come from d

    def mlp(sizes: list[int], dtype: Any = tdt) -> Any:
        layers: list[Any] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        return torch.nn.Sequential(*layers[:-1]).to(dtype)

    def acc(model: Any, X: Any, y: Any) -> float:
        with torch.no_grad():
            return float((model(X).argmax(1) == y).double().mean())

    T = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in d.items()}
    if w == "W2":
        order = np.random.default_rng(1).integers(0, len(d["ytr"]), 1000)

        def run() -> dict[str, float]:
            torch.manual_seed(0)
            model = mlp([2, 16, 2])
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for s, i in enumerate(order):
                opt.zero_grad()
                F.cross_entropy(model(T["Xtr"][i : i + 1]), T["ytr"][i : i + 1]).backward()
                opt.step()
                if s % 10 == 0:
                    a = acc(model, T["Xte"], T["yte"])
            return {"accuracy": a}

        return run
    if w in ("W3a", "W3b"):
        model = mlp([2, 16, 2])
        with torch.no_grad():
            for (W, b), lin in zip(_weights(_trained_2_16_2(dt)), [model[0], model[2]]):
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
        grid = torch.from_numpy(_grid(100 if w == "W3a" else 500, dt))

        def run() -> dict[str, float]:
            with torch.no_grad():
                p = torch.softmax(model(grid), dim=1)
            return {"checksum": float(p[:, 1].sum())}

        return run

    def fit(sizes: list[int], X: Any, y: Any, bs: int, epochs: int, make_opt: Any, seed: int, dtype: Any = tdt) -> Any:
        torch.manual_seed(seed)
        model = mlp(sizes, dtype)
        opt = make_opt(model.parameters())
        n = len(y)
        g = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            perm = torch.randperm(n, generator=g)
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                opt.zero_grad()
                F.cross_entropy(model(X[idx]), y[idx]).backward()
                opt.step()
        return model

    if w == "W4":

        def run() -> dict[str, float]:
            accs = []
            for width in WIDTHS:
                model = fit([2, width, 2], T["Xtr"], T["ytr"], 32, 200, lambda p: torch.optim.Adam(p, lr=0.01), width)
                accs.append(acc(model, T["Xte"], T["yte"]))
            return {"accuracy": float(np.mean(accs)), "per_model": 1.0 / len(WIDTHS)}

        return run
    if w in ("W5a", "W5b"):
        sizes, bs, epochs, mk = (
            ([2, 64, 64, 2], 256, 1, lambda p: torch.optim.SGD(p, lr=0.05))
            if w == "W5a"
            else ([64, 128, 10], 32, 20, lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True))
        )

        def run() -> dict[str, float]:
            model = fit(sizes, T["Xtr"], T["ytr"], bs, epochs, mk, 0)
            return {"accuracy": acc(model, T["Xte"], T["yte"]), "samples": float(len(d["ytr"]) * epochs)}

        return run
    if w == "W6":

        def run() -> dict[str, float]:
            fit([784, 512, 512, 10], T["X"], T["y"], 512, 1, lambda p: torch.optim.SGD(p, lr=0.01), 0)
            return {"flops": _w6_flops()}

        return run
    raise ValueError(w)


def _peak_gflops() -> float:
    """float32 matrix-product rate: best of three 2048^3 products with NumPy's BLAS. The driver samples
    it before every timed run of W6; each run is compared with the sample taken just before it (the
    same spell of the machine), and the best sample of all is reported too (the hardest yardstick)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    np.dot(a, b)
    best = min(_timed(lambda: np.dot(a, b)) for _ in range(3))
    return 2 * 2048**3 / best / 1e9


def _timed(f: Callable[[], Any]) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


# -- worker and driver --------------------------------------------------------------------------
def worker(w: str, peer: str, dtype: str = "float64") -> None:
    """Set up (data, model, one warm-up run) in ``dtype`` (W6: float32 always), say ``ready``, then time
    one run per ``run`` line on stdin.

    The driver keeps one such process per peer alive and asks them in turn, so each timed run of ours
    sits next to a timed run of every peer: a slow spell of the machine hits them alike.
    """
    dt = _dtype(w, dtype)
    d = _data(w, dt)
    make = {"ours": ours, "naive": naive_peer, "sklearn": sklearn_peer, "torch": torch_peer, "serial": serial_peer}[
        peer
    ]
    run = make(w, d, dt)
    run()  # warm-up
    _say({"ready": True})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            t = time.perf_counter()
            info = run()
            _say({"time": time.perf_counter() - t, **info})
        elif cmd == "peak":
            _say({"peak_gflops": _peak_gflops()})
        else:
            break


def _say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class _Worker:
    """The driver's handle on one worker process; it sets up at once, :meth:`ready` waits for it."""

    def __init__(self, w: str, peer: str, dtype: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", w, peer, dtype],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> None:
        """Wait for the worker's ``ready`` (raises ``RuntimeError`` with its last error line if it died)."""
        self.ask(None)

    def ask(self, cmd: str | None) -> dict[str, Any]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        if stdin is None or stdout is None:  # pragma: no cover (Popen was given PIPE for both)
            raise RuntimeError("the worker has no pipes")
        if cmd is not None:
            stdin.write(cmd + "\n")
            stdin.flush()
        line = stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"failed: {err.strip().splitlines()[-1:]}")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def _measure(w: str, peers: list[str], rounds: int, repeats: int, budget: float, dtype: str) -> dict[str, Any]:
    """Run workload ``w`` in ``dtype`` for ``peers``: per round, a fresh process per peer, then timed runs
    taken in turn (ours, A, B, ours, A, B, ...; the first peer rotates each repeat): at least ``repeats``
    of each, more while the round has used less than ``budget`` seconds (at most ``MAX_REPEATS``)."""
    out: dict[str, Any] = {}
    runs: dict[str, list[dict[str, Any]]] = {}
    peaks: list[float] = []
    for _ in range(max(1, rounds)):
        procs: dict[str, _Worker] = {}
        for peer in peers:  # the processes set up together (setup is not timed), then wait for each
            if "skipped" in out.get(peer, {}):
                continue
            reason = _peer_available(peer)
            if reason is None:
                procs[peer] = _Worker(w, peer, dtype)
            else:
                out[peer] = {"skipped": reason}
        for peer, proc in list(procs.items()):
            try:
                proc.ready()
            except RuntimeError as exc:
                out[peer] = {"skipped": str(exc)}
                proc.close()
                del procs[peer]
        order = list(procs)
        t_round = time.perf_counter()
        r = 0
        while r < max(1, repeats) or (time.perf_counter() - t_round < budget and r < MAX_REPEATS):
            if w == "W6" and "ours" in procs:  # the peak, sampled between the runs (slow spells come and go)
                peaks.append(procs["ours"].ask("peak")["peak_gflops"])
            for peer in order[r % len(order) :] + order[: r % len(order)]:
                runs.setdefault(peer, []).append(procs[peer].ask("run"))
            r += 1
        for p in procs.values():
            p.close()
    for peer, rs in runs.items():
        times = [r["time"] for r in rs]
        info = {k: v for k, v in rs[-1].items() if k != "time"}
        merged: dict[str, Any] = {**info, "times": times, "median_s": statistics.median(times)}
        if "ours" in runs and peer != "ours":
            mine = [r["time"] for r in runs["ours"]]
            # our speed-up: the median over the side-by-side pairs (run r of the peer / run r of ours)
            merged["speedup"] = statistics.median(t / m for t, m in zip(times, mine))
            merged["speedup_of_medians"] = statistics.median(times) / statistics.median(mine)
            merged["speedup_of_minima"] = min(times) / min(mine)
        if w == "W6":
            merged["gflops"] = merged["flops"] / merged["median_s"] / 1e9
            merged["peak_gflops"] = max(peaks) if peaks else float("nan")
            # each run against the peak sampled just before it (the same spell of the machine)
            per_run = [merged["flops"] / t / 1e9 / pk for t, pk in zip(times, peaks)]
            merged["fraction_of_peak"] = statistics.median(per_run) if per_run else float("nan")
            merged["fraction_of_best_peak"] = merged["gflops"] / merged["peak_gflops"]
        out[peer] = merged
        print(f"  {w:4} {_dtype(w, dtype).name:7} {peer:8} {_fmt_peer(merged)}", file=sys.stderr)
    return out


def _peer_available(peer: str) -> str | None:
    mod = {"torch": "torch", "sklearn": "sklearn"}.get(peer)
    if mod is None:
        return None
    try:
        __import__(mod)
    except ImportError as exc:
        return f"{mod} is not installed ({exc}); pip install 'perceptrons[bench]'"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="least timed runs per process after one warm-up (default 5)")
    ap.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help=f"seconds per round: short workloads repeat until it is used (at most {MAX_REPEATS} runs; default 10)",
    )
    ap.add_argument("--rounds", type=int, default=2, help="fresh processes per peer, one after another (default 2)")
    ap.add_argument(
        "--only", default="", help="comma-separated workloads, e.g. W1,W4 (W3 means W3a and W3b; default all)"
    )
    ap.add_argument(
        "--dtype",
        choices=[*DTYPES, "both"],
        default="float64",
        help="floating-point type of W1-W5 for every peer (W6 is float32 always); both: one run per dtype, "
        "float64 first (default float64)",
    )
    ap.add_argument("--out", help="write the results as JSON to this file")
    ap.add_argument("--worker", nargs=3, metavar=("WORKLOAD", "PEER", "DTYPE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    asked = [a for a in args.only.split(",") if a]
    unknown = [a for a in asked if not _matches(a)]
    if unknown:
        ap.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    chosen = [w for w in WORKLOADS if not asked or any(w in _matches(a) for a in asked)]
    protocol = {"rounds": args.rounds, "repeats": args.repeats, "budget_s": args.budget}
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "numpy": np.__version__},
        "protocol": protocol,
        "dtype": args.dtype,
    }
    runs: dict[str, Any] = {}
    for dtype in DTYPES if args.dtype == "both" else (args.dtype,):
        workloads: dict[str, Any] = {}
        for w in chosen:
            workloads[w] = {
                "description": WORKLOADS[w],
                "dtype": _dtype(w, dtype).name,
                "peers": _measure(w, PEERS[w], args.rounds, args.repeats, args.budget, dtype),
            }
        runs[dtype] = {"dtype": dtype, "workloads": workloads}
        print(("\n" if len(runs) > 1 else "") + _table(workloads, protocol, dtype), flush=True)
    if args.dtype == "both":
        results["by_dtype"] = runs
    else:
        results["workloads"] = runs[args.dtype]["workloads"]
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


def _matches(name: str) -> list[str]:
    """The workloads ``--only`` means by ``name``: itself, or its parts (``W3`` is ``W3a`` and ``W3b``)."""
    return [w for w in WORKLOADS if w == name or (w.startswith(name) and w[len(name) :].isalpha())]


def _fmt_peer(r: dict[str, Any]) -> str:
    return r["skipped"] if "skipped" in r else f"{r['median_s'] * 1e3:.1f} ms"


def _table(workloads: dict[str, Any], protocol: dict[str, Any], dtype: str) -> str:
    w6 = " (W6: float32 always)" if "W6" in workloads and dtype != "float32" else ""
    lines = [
        f"dtype {dtype}{w6}",
        f"{'workload':8} {'peer':8} {'median':>11} {'ours faster by':>15} {'accuracy':>9}  note",
        "-" * 70,
    ]
    for w, res in workloads.items():
        for peer, r in res["peers"].items():
            if "skipped" in r:
                lines.append(f"{w:8} {peer:8} {'skipped':>11}  {r['skipped']}")
                continue
            t = r["median_s"]
            note = ""
            if "per_model" in r:
                t_show = t * r["per_model"]
                note = "per model"
            else:
                t_show = t
            if "samples" in r:
                note = f"{r['samples'] / t:,.0f} samples/s"
            if "gflops" in r:
                note = (
                    f"{r['gflops']:.1f} GFLOP/s; {100 * r['fraction_of_peak']:.0f} % of the float32 matmul "
                    f"peak sampled next to each run ({100 * r['fraction_of_best_peak']:.0f} % of the best, "
                    f"{r['peak_gflops']:.1f} GFLOP/s)"
                )
            speed = f"{r['speedup']:.1f}x" if "speedup" in r else ""
            acc = f"{r['accuracy']:.3f}" if "accuracy" in r else ""
            if "r2" in r:
                acc, note = f"{r['r2']:.3f}", f"{note}; score is R^2"
            lines.append(f"{w:8} {peer:8} {t_show * 1e3:>9.2f}ms {speed:>15} {acc:>9}  {note}")
    p = protocol
    lines += [
        "-" * 70,
        f"median: of all timed runs ({p.get('rounds')} rounds of fresh processes, >= {p.get('repeats')} runs each).",
        "ours faster by: the median, over side-by-side pairs, of (peer's run / our run next to it); the JSON",
        "also has the ratio of the medians (speedup_of_medians) and of the minima (speedup_of_minima).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
