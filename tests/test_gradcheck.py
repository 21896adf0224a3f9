"""The gradient checker: against a plain loop of central differences, on a planted bug, at kinks."""

import importlib

import numpy as np
import pytest

from perceptrons import MLP, gradcheck

gc = importlib.import_module("perceptrons.core.gradcheck")


def loop_central_differences(net, X, y, h):
    """The textbook oracle: perturb one entry, re-run the whole public loss, twice per entry."""
    out = {}
    for k, v in net.params.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            old = v[idx]
            v[idx] = old + h
            lp = net.loss(X, y)
            v[idx] = old - h
            lm = net.loss(X, y)
            v[idx] = old
            g[idx] = (lp - lm) / (2 * h)
        out[k] = g
    return out


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("sizes", [[2, 3], [3, 5, 2], [2, 4, 6, 3]])
def test_vectorised_differences_equal_the_loop(activation, sizes):
    rng = np.random.default_rng(len(sizes))
    net = MLP(sizes, activation=activation, seed=3)
    X = rng.standard_normal((7, sizes[0]))
    y = rng.integers(0, sizes[-1], 7)
    res = gradcheck(net, X, y)
    ref = loop_central_differences(net, X, y, 1e-5)
    for k in net.params:
        np.testing.assert_allclose(res.checks[k].numeric, ref[k], rtol=1e-6, atol=1e-9)
    assert res.passed
    assert res.max_rel_error < 1e-6


def test_passes_with_l2():
    net = MLP([2, 6, 3], activation="tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((5, 2))
    res = gradcheck(net, X, [0, 1, 2, 0, 1], alpha=0.3)
    assert res.passed and res.max_rel_error < 1e-7


def test_catches_a_planted_one_percent_bug(monkeypatch):
    net = MLP([2, 8, 3], activation="tanh", seed=1)
    X = np.random.default_rng(1).standard_normal((10, 2))
    y = np.arange(10) % 3
    assert gradcheck(net, X, y).passed
    real = gc.loss_and_grads

    def buggy(*args, **kw):
        loss, grads = real(*args, **kw)
        g = grads["W0"]
        i = np.unravel_index(np.abs(g).argmax(), g.shape)
        g[i] *= 1.01
        return loss, grads

    monkeypatch.setattr(gc, "loss_and_grads", buggy)
    res = gradcheck(net, X, y)
    assert not res.passed
    assert res.per_param["W0"][0] > 1e-3
    assert "FAILED" in str(res)


def test_flags_an_entry_whose_perturbation_crosses_a_relu_kink():
    net = MLP([1, 1, 2], activation="relu")
    # pre-activation of the hidden unit is x * W0 + b0 = 1 * 0 + 0 = 0: on the kink
    net.params = {"W0": np.array([[0.0]]), "b0": np.array([0.0]), "W1": np.array([[1.0, -1.0]]), "b1": np.zeros(2)}
    res = gradcheck(net, np.array([[1.0]]), np.array([0]))
    assert res.checks["W0"].kink.all() and res.checks["b0"].kink.all()
    assert not res.checks["W1"].kink.any()
    # the numbers really disagree there (one-sided slope 0 against the average 0.25), and are excluded
    assert res.checks["W0"].rel_error.max() > 0.5
    assert res.passed
    assert res.n_kinks == 2


def test_table_lists_every_parameter():
    net = MLP([2, 3, 2], seed=0)
    text = str(gradcheck(net, np.ones((2, 2)), [0, 1]))
    for k in ("W0", "b0", "W1", "b1", "PASSED"):
        assert k in text


def test_passes_with_l1_and_l2():
    net = MLP([3, 5, 4], activation="sigmoid", seed=2)
    X = np.random.default_rng(2).standard_normal((6, 3))
    res = gradcheck(net, X, [0, 1, 2, 3, 0, 1], alpha=0.1, l1=0.05)
    assert res.passed and res.norm_rel_error < 1e-8
