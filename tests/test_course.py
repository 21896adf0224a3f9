"""perceptrons.course against a direct transcription of the notebook's loops, with its two fixes
(test accuracy on the test set; the finite-difference gradient at the analytic gradient's weights)."""

import numpy as np
import pytest

from perceptrons import course
from perceptrons.datasets import blobs, moons, one_hot, train_test_split


def t_softmax(y):
    a = np.exp(y.reshape(-1))
    return (a / a.sum()).reshape(-1, 1)


def t_approx_grad_W(W, b, x, y, h=1e-4):  # central differences (the library's choice)
    out = np.zeros(W.shape)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            H = np.zeros(W.shape)
            H[i, j] = h
            lp = -np.log(t_softmax((W + H).T @ x + b).T @ y).item()
            lm = -np.log(t_softmax((W - H).T @ x + b).T @ y).item()
            out[i, j] = (lp - lm) / (2 * h)
    return out


def transcribed_one_layer(X_train, Y_train, X_test, Y_test, lr, n_it=1000, test_freq=10, random_seed=42):
    rs = np.random.RandomState(random_seed)
    b = rs.normal(size=(Y_train.shape[1], 1))
    W = rs.normal(size=(X_train.shape[1], Y_train.shape[1]))
    loss, acc, test_acc, grads, approx = [], [], [], [], []
    for it, i in enumerate(rs.randint(X_train.shape[0], size=n_it)):
        x = X_train[i].reshape(-1, 1)
        y = Y_train[i].reshape(-1, 1)
        s = t_softmax(W.T @ x + b)
        dW, db = x @ (s - y).T, s - y
        grads.append(dW)
        approx.append(t_approx_grad_W(W, b, x, y))  # fix 2: before the update
        W -= lr * dW
        b -= lr * db
        loss.append(float(-np.log(s.T @ y).item()))
        acc.append(np.argmax(s) == np.argmax(y))
        if it % test_freq == 0:
            tmp = [
                np.argmax(t_softmax(W.T @ X_test[j].reshape(-1, 1) + b)) == np.argmax(Y_test[j])  # fix 1
                for j in range(X_test.shape[0])
            ]
            test_acc.append(np.mean(tmp))
    return W, b, loss, acc, test_acc, np.stack(grads, -1), np.stack(approx, -1)


def transcribed_two_layer(X_train, Y_train, X_test, Y_test, lr, n_hidden, act, n_it=1000, test_freq=10, seed=42):
    f = (lambda z: np.maximum(z, 0)) if act == "relu" else np.tanh
    df = (lambda h: (h > 0).astype(float)) if act == "relu" else (lambda h: 1 - h**2)
    rs = np.random.RandomState(seed)
    bh = rs.normal(size=(n_hidden, 1))
    Wh = rs.normal(size=(X_train.shape[1], n_hidden))
    bo = rs.normal(size=(Y_train.shape[1], 1))
    Wo = rs.normal(size=(n_hidden, Y_train.shape[1]))
    loss, acc, test_acc = [], [], []
    for it, i in enumerate(rs.randint(X_train.shape[0], size=n_it)):
        x = X_train[i].reshape(-1, 1)
        y = Y_train[i].reshape(-1, 1)
        h = f(Wh.T @ x + bh)
        s = t_softmax(Wo.T @ h + bo)
        dWo, dbo = h @ (s - y).T, s - y
        dbh = np.zeros(h.shape)
        for k in range(n_hidden):
            dbh[k, 0] = df(h)[k, 0] * (Wo[k, :] @ (s - y).reshape(-1))
        dWh = np.outer(x, dbh)
        bh -= lr * dbh
        Wh -= lr * dWh
        bo -= lr * dbo
        Wo -= lr * dWo
        loss.append(float(-np.log(s.T @ y).item()))
        acc.append(np.argmax(s) == np.argmax(y))
        if it % test_freq == 0:
            tmp = []
            for j in range(X_test.shape[0]):
                hh = f(Wh.T @ X_test[j].reshape(-1, 1) + bh)
                tmp.append(np.argmax(t_softmax(Wo.T @ hh + bo)) == np.argmax(Y_test[j]))
            test_acc.append(np.mean(tmp))
    return Wo, bo, Wh, bh, loss, acc, test_acc


def _data(kind):
    X, y = blobs(300, k=3, seed=1) if kind == "blobs" else moons(300, noise=0.2, seed=1)
    Xtr, Xte, ytr, yte = train_test_split(X, y, seed=2)
    return Xtr, one_hot(ytr), Xte, one_hot(yte)


def test_train_one_layer_matches_the_transcribed_notebook():
    data = _data("blobs")
    ours = course.train_one_layer(*data, 0.01)
    ref = transcribed_one_layer(*data, 0.01)
    for a, b in zip(ours, ref):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        assert a.shape == b.shape
    for i in range(5):
        np.testing.assert_allclose(np.asarray(ours[i], float), np.asarray(ref[i], float), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours[5], ref[5], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[6], ref[6], rtol=1e-6, atol=1e-8)
    assert ours[5].shape == (2, 3, 1000)
    assert ours[4][-1] > 0.95


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_train_two_layer_matches_the_transcribed_notebook(act):
    data = _data("moons")
    ours = course.train_two_layer(*data, 0.1, 16, activation=act)
    ref = transcribed_two_layer(*data, 0.1, 16, act)
    assert len(ours) == len(ref) == 7
    for a, b in zip(ours, ref):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_global_random_state_is_untouched():
    np.random.seed(123)  # noqa: NPY002 (the test is about the global state)
    before = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002 (the test is about the global state)
    course.train_two_layer(*_data("moons"), 0.1, 4, n_it=20)
    assert np.random.random() == before  # noqa: NPY002


def test_notebook_helpers_by_hand():
    x = np.array([[1.0], [2.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.5]])
    b = np.array([[0.0], [0.0], [1.0]])
    s = course.forward_one_layer(W, b, x)  # logits (1, 2, 1)
    e = np.exp([1.0, 2.0, 1.0])
    np.testing.assert_allclose(s, (e / e.sum()).reshape(-1, 1))
    y = np.array([[0.0], [1.0], [0.0]])
    assert course.compute_loss(s, y) == pytest.approx(-np.log(e[1] / e.sum()))
    dW, db = course.compute_grads_one_layer(s, x, y)
    np.testing.assert_allclose(dW, x @ (s - y).T)
    np.testing.assert_allclose(course.approx_grad_W(W, b, x, y), dW, rtol=1e-7)
    np.testing.assert_array_equal(course.relu(np.array([[-1.0], [2.0]])), [[0.0], [2.0]])
    np.testing.assert_array_equal(course.d_relu(np.array([[0.0], [2.0]])), [[0.0], [1.0]])
    np.testing.assert_allclose(course.tanh(np.array([[800.0]])), [[1.0]])
    np.testing.assert_allclose(course.d_tanh_hidden(np.array([[0.5]])), [[0.75]])
    np.testing.assert_allclose(course.softmax(np.array([[1e4], [0.0]])), [[1.0], [0.0]])


def test_two_layer_grads_match_finite_differences():
    rng = np.random.default_rng(0)
    Wh, bh, Wo, bo = (
        rng.standard_normal((2, 5)),
        rng.standard_normal((5, 1)),
        rng.standard_normal((5, 3)),
        rng.standard_normal((3, 1)),
    )
    x = rng.standard_normal((2, 1))
    y = np.array([[0.0], [0.0], [1.0]])
    for act in ("relu", "tanh"):
        s, h, _ = course.forward_two_layers(Wo, bo, Wh, bh, x, activation=act)
        dWo, dbo, dWh, dbh = course.compute_grads_two_layers(h, s, Wo, x, y, activation=act)
        num = np.zeros_like(Wh)
        for idx in np.ndindex(Wh.shape):
            for sign in (1, -1):
                W2 = Wh.copy()
                W2[idx] += sign * 1e-6
                num[idx] += sign * course.compute_loss(course.forward_two_layers(Wo, bo, W2, bh, x, act)[0], y) / 2e-6
        np.testing.assert_allclose(dWh, num, rtol=1e-6, atol=1e-9)


def test_plot_decision_draws_in_one_call():
    import matplotlib.pyplot as plt

    calls = []
    W, b = np.eye(2, 3), np.zeros((3, 1))

    def fwd(x):
        calls.append(x.shape)
        return course.forward_one_layer(W, b, x)

    Xtr, Ytr, Xte, Yte = _data("blobs")
    ax = course.plot_decision(Xte, Yte, fwd)
    assert len(calls) == 1 and calls[0][0] == 2
    plt.close(ax.figure)
