"""Gradients of the MLP against an independent autodiff engine (autograd), a hand-worked 2-2-2
network, and the numerical-stability facts softmax must have."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from perceptrons import MLP
from perceptrons.core.heads import log_softmax, softmax

ACTS = ["relu", "tanh", "sigmoid", "identity", "leaky_relu"]


def autograd_loss(params, X, y, activation, alpha, n_layers):
    f = {
        "relu": lambda z: anp.maximum(z, 0.0),
        "tanh": anp.tanh,
        "sigmoid": lambda z: 1.0 / (1.0 + anp.exp(-z)),
        "identity": lambda z: z,
        "leaky_relu": lambda z: anp.where(z > 0, z, 0.01 * z),
    }[activation]
    h = X
    for i in range(n_layers - 1):
        h = f(anp.dot(h, params[f"W{i}"]) + params[f"b{i}"])
    z = anp.dot(h, params[f"W{n_layers - 1}"]) + params[f"b{n_layers - 1}"]
    m = anp.max(z, axis=1, keepdims=True)
    lse = anp.log(anp.sum(anp.exp(z - m), axis=1)) + m[:, 0]
    onehot = np.eye(z.shape[1])[y]
    loss = anp.mean(lse - anp.sum(z * onehot, axis=1))
    return loss + 0.5 * alpha * sum(anp.sum(params[f"W{i}"] ** 2) for i in range(n_layers))


def _near_kink(params, X, activation, n_layers, tol=1e-7):
    if activation not in ("relu", "leaky_relu"):
        return False
    h = X
    for i in range(n_layers - 1):
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        if np.abs(z).min() < tol:
            return True
        h = np.maximum(z, 0) if activation == "relu" else np.where(z > 0, z, 0.01 * z)
    return False


def test_gradients_match_autograd_on_random_architectures():
    rng = np.random.default_rng(20261126)
    checked = 0
    for trial in range(300):
        depth = int(rng.integers(0, 5))
        sizes = [int(rng.integers(1, 9))] + [int(rng.integers(1, 65)) for _ in range(depth)]
        sizes.append(int(rng.integers(2, 11)))
        activation = ACTS[trial % len(ACTS)]
        alpha = float(rng.choice([0.0, 0.1, 1e-3]))
        n = int(rng.integers(1, 65))
        net = MLP(sizes, activation=activation, init=str(rng.choice(["normal", "he", "glorot"])), seed=trial)
        X = rng.standard_normal((n, sizes[0]))
        y = rng.integers(0, sizes[-1], n)
        if _near_kink(net.params, X, activation, len(sizes) - 1):
            continue
        loss, grads = net.loss_and_grads(X, y, alpha=alpha)
        oracle = autograd.value_and_grad(autograd_loss)
        ref_loss, ref = oracle(dict(net.params), X, y, activation, alpha, len(sizes) - 1)
        assert abs(loss - ref_loss) <= 1e-12 * max(1.0, abs(ref_loss))
        for k in net.params:
            denom = max(np.linalg.norm(ref[k]), 1e-300)
            err = np.linalg.norm(grads[k] - ref[k]) / denom if np.linalg.norm(ref[k]) > 0 else np.abs(grads[k]).max()
            assert err <= 1e-10, (trial, sizes, activation, k, err)
        checked += 1
    assert checked >= 250


def test_two_two_two_network_worked_by_hand():
    # x = (1, 0); W0 = [[1, -1], [0, 2]], b0 = 0  ->  pre-activation (1, -1), ReLU -> h = (1, 0)
    # W1 = I, b1 = 0 -> logits (1, 0); label 0:  p = (e/(e+1), 1/(e+1)),  loss = log(1 + e^-1)
    # dz = p - (1, 0) = (-s, s) with s = 1/(1+e);  dW1 = h^T dz = [[-s, s], [0, 0]];  db1 = (-s, s)
    # dh = dz W1^T = (-s, s); ReLU' = (1, 0) -> dz0 = (-s, 0); dW0 = x^T dz0 = [[-s, 0], [0, 0]]
    net = MLP([2, 2, 2], activation="relu")
    net.params = {"W0": np.array([[1.0, -1.0], [0.0, 2.0]]), "b0": np.zeros(2), "W1": np.eye(2), "b1": np.zeros(2)}
    loss, g = net.loss_and_grads(np.array([[1.0, 0.0]]), np.array([0]))
    s = 1.0 / (1.0 + np.e)
    assert loss == pytest.approx(np.log1p(np.exp(-1.0)), rel=1e-15)
    np.testing.assert_allclose(g["W1"], [[-s, s], [0, 0]], rtol=1e-15, atol=0)
    np.testing.assert_allclose(g["b1"], [-s, s], rtol=1e-15)
    np.testing.assert_allclose(g["W0"], [[-s, 0], [0, 0]], rtol=1e-15, atol=0)
    np.testing.assert_allclose(g["b0"], [-s, 0], rtol=1e-15, atol=0)


def test_l2_term_is_half_alpha_sum_of_squared_weights():
    net = MLP([3, 4, 2], activation="tanh", seed=1)
    X = np.ones((2, 3))
    y = np.array([0, 1])
    base = net.loss(X, y)
    sq = sum(np.sum(net.params[k] ** 2) for k in ("W0", "W1"))
    assert net.loss(X, y, alpha=0.3) == pytest.approx(base + 0.15 * sq, rel=1e-14)


def test_softmax_is_stable_for_huge_logits():
    z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    p = softmax(z)
    lp = log_softmax(z)
    assert np.isfinite(p).all() and np.isfinite(lp).all()
    np.testing.assert_allclose(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[1], [1 / 3] * 3)
    np.testing.assert_allclose(lp[0], [0.0, -1e4, -2e4])
    net = MLP([1, 2], activation="identity")
    net.params = {"W0": np.array([[1.0, -1.0]]), "b0": np.zeros(2)}
    loss, g = net.loss_and_grads(np.array([[5e3]]), np.array([1]))
    assert loss == pytest.approx(1e4)
    np.testing.assert_allclose(g["W0"], [[5e3, -5e3]])


def test_one_hot_labels_give_the_same_loss_and_grads():
    net = MLP([2, 5, 3], seed=0)
    X = np.random.default_rng(0).standard_normal((6, 2))
    y = np.array([0, 1, 2, 2, 1, 0])
    a = net.loss_and_grads(X, y)
    b = net.loss_and_grads(X, np.eye(3)[y])
    assert a[0] == b[0]
    for k in a[1]:
        np.testing.assert_array_equal(a[1][k], b[1][k])


def test_params_assignment_changes_network_and_predict_paths_agree():
    net = MLP([2, 3, 2], activation="tanh", seed=0)
    X = np.random.default_rng(1).standard_normal((10, 2))
    new = {k: np.full_like(v, 0.5) for k, v in net.params.items()}
    net.params = new
    z = np.tanh(X @ new["W0"] + 0.5) @ new["W1"] + 0.5
    np.testing.assert_allclose(net.forward(X), z, rtol=1e-15)
    np.testing.assert_allclose(net.predict_proba(X), np.exp(net.predict_log_proba(X)), rtol=1e-14)
    assert (net.predict(X) == net.predict_proba(X).argmax(1)).all()


def test_normal_init_draws_weights_then_biases_from_the_generator():
    rng = np.random.default_rng(7)
    W0 = rng.standard_normal((2, 4))
    b0 = rng.standard_normal(4)
    W1 = rng.standard_normal((4, 3))
    net = MLP([2, 4, 3], init="normal", seed=7)
    np.testing.assert_array_equal(net.params["W0"], W0)
    np.testing.assert_array_equal(net.params["b0"], b0)
    np.testing.assert_array_equal(net.params["W1"], W1)


def test_repr_shows_layers():
    assert "2 -> 16 -> 2" in repr(MLP([2, 16, 2], seed=0))


def test_float32_network_stays_float32():
    net = MLP([4, 8, 3], seed=0, dtype=np.float32)
    X = np.random.default_rng(0).standard_normal((5, 4))
    assert net.forward(X).dtype == np.float32
    _, g = net.loss_and_grads(X, np.array([0, 1, 2, 0, 1]))
    assert all(v.dtype == np.float32 for v in g.values())


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(sizes=[2, 3], activation="relu6"), ValueError, "activation must be one of"),
        (dict(sizes=[2, 0, 3]), ValueError, "got 0"),
        (dict(sizes=[2]), ValueError, "at least"),
        (dict(sizes=[2, 1]), ValueError, "number of outputs"),
        (dict(sizes="2,3"), TypeError, "list of ints"),
        (dict(sizes=[2, 3], init="xavier"), ValueError, "init must be one of"),
        (dict(sizes=[2, 2.5, 3]), TypeError, "must hold ints"),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        MLP(**kwargs)


@pytest.mark.parametrize(
    "X, y, exc, words",
    [
        (np.array([[np.nan, 1.0]]), [0], ValueError, "NaN"),
        (np.ones((3, 2)), [0, 1], ValueError, "different lengths"),
        (np.ones(2), [0], ValueError, "reshape"),
        (np.ones((2, 2, 2)), [0, 1], ValueError, "2-D"),
        (np.ones((2, 3)), [0, 1], ValueError, "3 features, but the network expects 2"),
        ([["a", "b"]], [0], TypeError, "numbers only"),
        (np.ones((2, 2)), [0, 5], ValueError, "0..2"),
        (np.ones((0, 2)), [], ValueError, "empty"),
    ],
)
def test_bad_data(X, y, exc, words):
    net = MLP([2, 3], seed=0)
    with pytest.raises(exc, match=words):
        net.loss_and_grads(X, y)


def test_l1_term_is_l1_times_sum_of_absolute_weights():
    net = MLP([3, 4, 2], activation="tanh", seed=1)
    X = np.ones((2, 3))
    y = np.array([0, 1])
    total = sum(np.abs(net.params[k]).sum() for k in ("W0", "W1"))
    assert net.loss(X, y, l1=0.2) == pytest.approx(net.loss(X, y) + 0.2 * total, rel=1e-14)
    _, g = net.loss_and_grads(X, y, l1=0.2)
    _, g0 = net.loss_and_grads(X, y)
    np.testing.assert_allclose(g["W1"] - g0["W1"], 0.2 * np.sign(net.params["W1"]), rtol=1e-12)
