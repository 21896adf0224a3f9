"""Hostile use of the estimators: continuing a fit after ``set_params`` changed what the network is (scikit-learn's
MLPs are the oracle), and requests too large for memory (refused, with the numbers, before NumPy allocates)."""

import asyncio
import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from aiohttp import ClientSession
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from perceptrons import MLP, PerceptronClassifier, PerceptronRegressor, train
from perceptrons.playground.server import BackgroundServer

rng = np.random.RandomState(0)
X = rng.standard_normal((60, 4))
Y3 = (X @ rng.standard_normal((4, 3))).argmax(axis=1)  # three classes
YREG = np.abs(X[:, 0]) + 0.5  # positive: poisson and squared error alike


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


# -- warm start after set_params ----------------------------------------------------------------
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_warm_start_with_a_new_activation_trains_on_as_sklearn(solver):
    """A new activation keeps the weights and trains with the new activation: scikit-learn's run, epoch by epoch."""
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=8, random_state=1, warm_start=True)
    ours = _fit(PerceptronClassifier(**kw), X, Y3)
    theirs = _fit(MLPClassifier(**kw), X, Y3)
    ours.set_params(activation="tanh")
    theirs.set_params(activation="tanh")
    _fit(ours, X, Y3)
    _fit(theirs, X, Y3)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert ours.net_.activation == "tanh"
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize("hidden", [(7,), (5, 3), 4])
def test_new_hidden_sizes_are_refused_not_trained_in_the_old_shape(how, hidden):
    """The fitted weights cannot start a network of other shapes: a ValueError that names the parameter and how
    to start anew, the fitted network left as it was. (scikit-learn 1.9 silently goes on training its old
    (4, 5), (5, 3) weights for (7,) or 4, and fails with an AttributeError for (5, 3).)"""
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=3, random_state=0)
    ours = _fit(PerceptronClassifier(**kw, warm_start=how == "warm_start"), X, Y3)
    before = ours.net_.flat_params.copy()
    ours.set_params(hidden_layer_sizes=hidden)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes is .* fitted with \(5,\).*warm_start=False"):
        if how == "warm_start":
            _fit(ours, X, Y3)
        else:
            ours.partial_fit(X, Y3)
    np.testing.assert_array_equal(ours.net_.flat_params, before)
    assert [c.shape for c in ours.coefs_] == [(4, 5), (5, 3)]
    # without warm_start, fit starts a new network of the new shape, as scikit-learn
    ours.set_params(warm_start=False)
    _fit(ours, X, Y3)
    theirs = _fit(MLPClassifier(**{**kw, "hidden_layer_sizes": hidden}), X, Y3)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]


def test_new_features_or_classes_with_warm_start_are_refused_as_sklearn():
    kw = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0, warm_start=True)
    for est in (PerceptronClassifier(**kw), MLPClassifier(**kw)):
        _fit(est, X, Y3)
        with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4 features"):
            _fit(est, X[:, :3], Y3)
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
            _fit(est, X, np.minimum(Y3, 1))
        with pytest.raises(ValueError):
            _fit(est, X, np.eye(3, dtype=int)[Y3] | 1)  # multilabel targets over the same columns


def test_a_new_loss_with_warm_start_is_refused():
    """squared error -> poisson changes the output layer (identity -> exp): the fitted weights are not continued
    with another head. (scikit-learn keeps the old head and mixes it with the new loss.)"""
    reg = _fit(PerceptronRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0, warm_start=True), X, YREG)
    before = reg.net_.flat_params.copy()
    with pytest.raises(ValueError, match=r"output layer is 'identity'.*'exp'.*loss='poisson'"):
        _fit(reg.set_params(loss="poisson"), X, YREG)
    np.testing.assert_array_equal(reg.net_.flat_params, before)
    _fit(reg.set_params(warm_start=False), X, YREG)
    assert reg.out_activation_ == reg.net_.output == "exp"


# -- memory: estimated and refused before allocating ----------------------------------------------
@pytest.fixture
def no_big_allocation(monkeypatch):
    """np.empty/zeros of more than 100 MB fail the test: the refusal must come before NumPy is asked."""
    real_empty, real_zeros = np.empty, np.zeros

    def guarded(real):
        def alloc(shape, *a, **kw):
            n = int(np.prod(shape, dtype=object)) if np.ndim(shape) else int(shape)
            if n * 8 > 100e6:
                raise AssertionError(f"allocated {shape} before refusing")
            return real(shape, *a, **kw)

        return alloc

    monkeypatch.setattr(np, "empty", guarded(real_empty))
    monkeypatch.setattr(np, "zeros", guarded(real_zeros))


def _bytes_in(message):
    """The two sizes a refusal names, in bytes: what the request needs and the limit."""
    units = {"GB": 1e9, "MB": 1e6, "kB": 1e3}
    found = re.findall(r"([0-9][0-9,]*\.[0-9]+) (GB|MB|kB)", message)
    return [float(v.replace(",", "")) * units[u] for v, u in found]


@pytest.mark.parametrize(
    "make, need",
    [
        # (hidden 10^6): parameters (4+1)*1e6 + (1e6+1)*3, six copies; activations 2*60*(4+1e6+3); rows 60*5
        (lambda: PerceptronClassifier(hidden_layer_sizes=(10**6,)), 8 * (6 * (5e6 + 3e6 + 3) + 120 * (1e6 + 7) + 300)),
        # L-BFGS keeps about 26 copies of the parameters and takes every row as one batch
        (
            lambda: PerceptronClassifier(hidden_layer_sizes=(10**5,), solver="lbfgs"),
            8 * (26 * (8e5 + 3) + 120 * (1e5 + 7) + 300),
        ),
        (
            lambda: PerceptronRegressor(hidden_layer_sizes=(10**6, 10)),
            8 * (6 * (5e6 + (1e6 + 1) * 10 + 11) + 120 * (1e6 + 15) + 300),
        ),
    ],
)
def test_estimator_refuses_a_fit_over_the_limit_with_the_numbers(monkeypatch, no_big_allocation, make, need):
    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "50MB")
    est = make()
    y = Y3 if isinstance(est, PerceptronClassifier) else YREG
    with pytest.raises(
        MemoryError, match=r"needs about .* more than the limit of 50.00 MB \(PERCEPTRONS_MEMORY_LIMIT=50MB\)"
    ) as info:
        est.fit(X, y)
    assert isinstance(info.value, ValueError)  # a request to change: one line on the CLI
    got, cap = _bytes_in(str(info.value))
    assert got == pytest.approx(need, rel=0.01) and cap == 50e6
    assert "hidden_layer_sizes" in str(info.value) and not hasattr(est, "coefs_")


def test_the_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "2GiB")
    _fit(PerceptronClassifier(hidden_layer_sizes=(2000,), max_iter=1), X, Y3)  # ~ 120 MB: allowed
    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "1MB")
    with pytest.raises(ValueError, match="limit of 1.00 MB"):
        _fit(PerceptronClassifier(hidden_layer_sizes=(2000,), max_iter=1), X, Y3)
    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match=r"PERCEPTRONS_MEMORY_LIMIT must be .*e.g. 500MB.*'lots'"):
        MLP([2, 3, 2])


def test_without_a_setting_the_limit_is_this_machine(monkeypatch, no_big_allocation):
    monkeypatch.delenv("PERCEPTRONS_MEMORY_LIMIT", raising=False)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    hidden = int(total / 8 / 10) + 1  # ten inputs: its weights alone are larger than the machine
    with pytest.raises(MemoryError, match="machine|available"):
        MLP([10, hidden, 2])
    with pytest.raises(MemoryError, match=r"training MLP.*steps"):
        train(MLP([2, 3, 2], seed=0), X[:, :2], Y3 % 2, steps=total // 8, batch_size=1)


@pytest.mark.parametrize("sizes", [[10**6, 10**6, 2], [2, 10**5, 10**5, 2], [10**9, 2]])
def test_mlp_refuses_before_allocating(monkeypatch, no_big_allocation, sizes):
    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "1GB")
    n = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    with pytest.raises(MemoryError, match=f"MLP.*{n:,} parameters needs about {8 * n / 1e9:,.2f} GB"):
        MLP(sizes)
    with pytest.raises(MemoryError, match="float32|needs about"):
        MLP(sizes, dtype=np.float32)


def test_huge_batches_and_step_counts_are_refused_by_train(monkeypatch, no_big_allocation):
    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "100MB")
    net = MLP([4, 8, 3], seed=0)
    with pytest.raises(MemoryError, match=r"10,000,000,000 steps of batch_size 60"):
        train(net, X, Y3, steps=10**10, batch_size=10**12)  # a batch is at most the whole set
    with pytest.raises(MemoryError, match=r"train"):
        train(net, X, Y3, sampling="epochs", epochs=10**9, batch_size=1)
    h = train(net, X, Y3, steps=10, batch_size=10**12)  # huge batch, few steps: the whole set, allowed
    assert h.batch_sizes.tolist() == [60] * 10


def _cli(*args, env=None):
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src), **(env or {})}
    return subprocess.run([sys.executable, "-m", "perceptrons", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["train", "--hidden", "3000,3000"],
            r"sizes \[2, 3000, 3000, 2\] \(9,018,002 parameters\) needs about 360.72 MB",
        ),
        (["gradcheck", "--hidden", "3000,3000"], r"9,018,002 parameters"),
        # 2e6 steps x (3 history numbers + 10 drawn indices) x 8 bytes, plus [2, 16, 2]'s working set on 224 rows
        (
            ["train", "--steps", "2000000", "--batch-size", "10"],
            r"2,000,000 steps of batch_size 10 on 224 rows needs about 208.01 MB",
        ),
        (["train", "--n", "10000000"], r"n=10,000,000 points needs about 1.00 GB"),
    ],
)
def test_cli_refuses_over_the_limit_in_one_line(args, words):
    proc = _cli(*args, env={"PERCEPTRONS_MEMORY_LIMIT": "100MB"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(words, lines[0]) and "PERCEPTRONS_MEMORY_LIMIT" in lines[0], proc.stderr


def test_a_batch_larger_than_the_data_is_not_counted_as_asked():
    """The trainer takes at most every row in a batch: 20 steps of a 10^12 batch are 20 steps of the data."""
    proc = _cli("train", "--steps", "20", "--batch-size", str(10**12), env={"PERCEPTRONS_MEMORY_LIMIT": "100MB"})
    assert proc.returncode == 0 and "test accuracy" in proc.stdout, proc.stderr


def test_playground_config_over_the_limit_is_refused_and_the_session_goes_on(monkeypatch):
    """The playground's own limits keep its networks small; under a lower memory limit its MLP is refused
    with the message above, and the page can go on with a smaller one."""

    async def run(url):
        async with ClientSession() as http:
            ws = await http.ws_connect(url + "ws")
            assert json.loads((await ws.receive(timeout=20)).data)["type"] == "hello"
            await ws.send_str(json.dumps({"type": "config", "config": {"layers": [64] * 6}}))
            m = json.loads((await ws.receive(timeout=20)).data)
            assert m["type"] == "error" and "configuration refused" in m["message"], m
            assert (
                "21,122 parameters needs about 168.98 kB" in m["message"] and "PERCEPTRONS_MEMORY_LIMIT" in m["message"]
            )
            await ws.send_str(json.dumps({"type": "config", "config": {"layers": [2]}}))
            kinds = {json.loads((await ws.receive(timeout=20)).data)["type"] for _ in range(2)}
            assert kinds == {"data", "frame"}
            await ws.close()

    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "100kB")  # [2, 64 x 6, 2]: 21,122 parameters, 168.98 kB
    with BackgroundServer() as s:
        asyncio.run(run(s.url))


def test_huge_feature_counts_are_refused_before_the_network_is_made(monkeypatch, no_big_allocation):
    monkeypatch.setenv("PERCEPTRONS_MEMORY_LIMIT", "50MB")
    Xwide = np.zeros((20, 10**5))  # 16 MB of data: the first layer would be 10^5 x 100 weights, six times over
    # 8 bytes x (6 x ((1e5 + 1) 100 + 101 x 1) parameters + 2 x 20 x (1e5 + 101) activations + 20 x (1e5 + 1) rows)
    with pytest.raises(MemoryError, match=r"on 20 samples x 100,000 features .* needs about 528\.04 MB"):
        PerceptronClassifier(hidden_layer_sizes=(100,)).fit(Xwide, np.arange(20) % 2)
