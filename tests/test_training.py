"""The trainer: optimisers against scikit-learn's own, determinism across processes, divergence."""

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from perceptrons import MLP, SGD, Adam, train
from perceptrons.datasets import blobs, moons, train_test_split


def _params_and_grads(seed):
    rng = np.random.default_rng(seed)
    return [{"W0": rng.standard_normal((3, 2)), "b0": rng.standard_normal(2)} for _ in range(4)]


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: SGD(0.1), lambda p: SGDOptimizer(p, 0.1, momentum=0.0, nesterov=False)),
        (lambda: SGD(0.1, 0.9), lambda p: SGDOptimizer(p, 0.1, momentum=0.9, nesterov=False)),
        (lambda: SGD(0.1, 0.9, nesterov=True), lambda p: SGDOptimizer(p, 0.1, momentum=0.9, nesterov=True)),
        (lambda: Adam(0.01), lambda p: AdamOptimizer(p, 0.01)),
    ],
)
def test_optimisers_match_scikit_learns_update_rules(ours, theirs):
    p, *gs = _params_and_grads(0)
    ref = [p["W0"].copy(), p["b0"].copy()]
    opt, sk = ours(), theirs(ref)
    for g in gs:
        opt.step(p, g)
        sk.update_params(ref, [g["W0"], g["b0"]])
    np.testing.assert_allclose(p["W0"], ref[0], rtol=1e-13)
    np.testing.assert_allclose(p["b0"], ref[1], rtol=1e-13)


def test_full_batch_sgd_is_plain_gradient_descent():
    X, y = blobs(30, seed=0)
    net = MLP([2, 4, 3], activation="tanh", seed=0)
    ref = net.copy()
    train(net, X, y, lr=0.05, batch_size=None, sampling="epochs", epochs=3, seed=0)
    for _ in range(3):
        _, g = ref.loss_and_grads(X, y)
        for k in ref.params:
            ref.params[k] -= 0.05 * g[k]
    for k in net.params:
        np.testing.assert_allclose(net.params[k], ref.params[k], rtol=1e-12)


def test_history_records_and_running_accuracy():
    X, y = moons(200, seed=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, seed=0)
    net = MLP([2, 16, 2], seed=0)
    h = train(net, Xtr, ytr, lr=0.1, steps=2000, eval_data=(Xte, yte), eval_every=10, gradcheck_every=25, seed=0)
    assert h.steps == 2000 and h.loss.shape == (2000,)
    assert h.test_steps[:3] == [1, 11, 21] and h.test_steps[-1] == 2000
    assert len(h.gradcheck_steps) == 80 and max(h.gradcheck_error) < 1e-6
    np.testing.assert_allclose(h.running_accuracy, np.cumsum(h.n_correct) / np.arange(1, 2001))
    assert h.test_accuracy[-1] == net.accuracy(Xte, yte)
    assert h.test_accuracy[-1] > 0.85


def test_epoch_sampling_visits_every_sample_once_per_epoch():
    X, y = blobs(23, seed=0)
    seen = []
    train(
        MLP([2, 3], seed=0),
        X,
        y,
        lr=0.1,
        batch_size=5,
        sampling="epochs",
        epochs=2,
        seed=1,
        on_step=lambda info: seen.append(info.batch),
    )
    assert len(seen) == 10
    assert sorted(np.concatenate(seen[:5])) == list(range(23))
    assert sorted(np.concatenate(seen[5:])) == list(range(23))


SCRIPT = """
import json, sys, numpy as np
from perceptrons import MLP, train
from perceptrons.datasets import moons
X, y = moons(300, seed=4)
net = MLP([2, 8, 8, 2], activation="tanh", seed=5)
h = train(net, X, y, optimizer="adam", lr=0.01, batch_size=16, sampling="epochs", epochs=3, seed=6,
          eval_data=(X, y), gradcheck_every=7)
out = {k: v for k, v in h.to_dict().items() if k != "time_s"}
out["params"] = {k: v.tobytes().hex() for k, v in net.params.items()}
json.dump(out, sys.stdout)
"""


def test_same_seed_same_history_bit_for_bit_in_two_processes():
    runs = [
        subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True) for _ in range(2)
    ]
    a, b = (json.loads(r.stdout) for r in runs)
    assert a == b
    assert len(a["loss"]) == 57


def test_divergence_stops_with_a_clear_error_and_finite_weights():
    X, y = blobs(100, seed=0)
    net = MLP([2, 32, 3], activation="relu", init="normal", seed=0)
    with pytest.raises(FloatingPointError, match=r"diverged at step \d+.*learning rate"):
        train(net, X * 1e3, y, lr=1e6, steps=200, seed=0)
    assert all(np.isfinite(v).all() for v in net.params.values())


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(lr=-0.1, steps=5), ValueError, "learning rate must be > 0"),
        (dict(lr=0.1, steps=0), ValueError, "steps must be > 0"),
        (dict(lr=0.1, steps=5, batch_size=0), ValueError, "batch_size"),
        (dict(lr=0.1, steps=5, optimizer="rmsprop"), ValueError, "optimizer must be one of"),
        (dict(lr=0.1, steps=5, sampling="random"), ValueError, "sampling must be"),
        (dict(lr=0.1), ValueError, "steps="),
        (dict(lr=0.1, steps=5, momentum=1.5), ValueError, "momentum"),
        (dict(lr=0.1, steps=5, eval_data=(np.ones((3, 2)), [0, 1])), ValueError, "different lengths"),
    ],
)
def test_bad_training_arguments(kwargs, exc, words):
    X, y = blobs(20, seed=0)
    with pytest.raises(exc, match=words):
        train(MLP([2, 3], seed=0), X, y, **kwargs)
