"""The naive peer: per-sample loops in the course notebook's style (Python loops, one forward call
per test point, element-wise ReLU and its derivative in Python, a forward-difference gradient of W
by perturbing one entry at a time). Written for the benchmark only (``benchmarks/run.py`` imports it as
a sibling module); it is what the library replaces. Not part of the installed package."""

from __future__ import annotations

from typing import Any

import numpy as np


def softmax(y: Any) -> Any:
    aux = np.exp(y.reshape(-1))
    return (aux / aux.sum()).reshape(-1, 1)


def forward_one_layer(W: Any, b: Any, x: Any) -> Any:
    return softmax(W.T @ x + b)


def compute_loss(s: Any, y: Any) -> float:
    return float(-np.log((s.T @ y).item()))


def approx_grad_W(W: Any, b: Any, x: Any, y: Any, h: float = 1e-4) -> Any:
    base = compute_loss(forward_one_layer(W, b, x), y)
    result = np.zeros(W.shape)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            H = np.zeros(W.shape)
            H[i][j] = h
            result[i, j] = (compute_loss(forward_one_layer(W + H, b, x), y) - base) / h
    return result


def relu(x: Any) -> Any:
    aux = x.reshape(-1)
    result = np.zeros(len(aux))
    for i in range(len(result)):
        result[i] = max(0, aux[i])
    return result.reshape(-1, 1)


def d_relu(x: Any) -> Any:
    aux = x.reshape(-1)
    result = np.zeros(len(aux))
    for i in range(len(result)):
        result[i] = 1 if aux[i] > 0 else 0
    return result.reshape(-1, 1)


def forward_two_layers(Wo: Any, bo: Any, Wh: Any, bh: Any, x: Any) -> Any:
    hidden = relu(Wh.T @ x + bh)
    out = Wo.T @ hidden + bo
    return softmax(out), hidden, out


def train_one_layer(
    Xtr: Any, Ytr: Any, Xte: Any, Yte: Any, lr: float, n_it: int = 1000, test_freq: int = 10, seed: int = 42
) -> tuple[Any, ...]:
    rs = np.random.RandomState(seed)
    b = rs.normal(size=(Ytr.shape[1], 1))
    W = rs.normal(size=(Xtr.shape[1], Ytr.shape[1]))
    loss, acc, test_acc, grads, approx = [], [], [], [], []
    for it, i in enumerate(rs.randint(Xtr.shape[0], size=n_it)):
        x = Xtr[i, :].reshape(-1, 1)
        y = Ytr[i, :].reshape(-1, 1)
        s = forward_one_layer(W, b, x)
        dW, db = x @ (s - y).T, s - y
        grads.append(dW)
        approx.append(approx_grad_W(W, b, x, y))
        W -= lr * dW
        b -= lr * db
        loss.append(compute_loss(s, y))
        acc.append(np.argmax(s) == np.argmax(y))
        if it % test_freq == 0:
            tmp = []
            for j in range(Xte.shape[0]):
                tmp.append(np.argmax(forward_one_layer(W, b, Xte[j, :].reshape(-1, 1))) == np.argmax(Yte[j]))
            test_acc.append(np.mean(tmp))
    return W, b, loss, acc, test_acc


def train_two_layer(
    Xtr: Any,
    Ytr: Any,
    Xte: Any,
    Yte: Any,
    lr: float,
    n_hidden: int,
    n_it: int = 1000,
    test_freq: int = 10,
    seed: int = 42,
) -> tuple[Any, ...]:
    rs = np.random.RandomState(seed)
    bh = rs.normal(size=(n_hidden, 1))
    Wh = rs.normal(size=(Xtr.shape[1], n_hidden))
    bo = rs.normal(size=(Ytr.shape[1], 1))
    Wo = rs.normal(size=(n_hidden, Ytr.shape[1]))
    loss, acc, test_acc = [], [], []
    for it, i in enumerate(rs.randint(Xtr.shape[0], size=n_it)):
        x = Xtr[i, :].reshape(-1, 1)
        y = Ytr[i, :].reshape(-1, 1)
        s, hidden, _ = forward_two_layers(Wo, bo, Wh, bh, x)
        dWo, dbo = hidden @ (s - y).T, s - y
        dbh = np.zeros(hidden.shape)
        for k in range(dbh.shape[0]):
            aux = d_relu(hidden)
            dbh[k, 0] = aux[k, 0] * (Wo[k, :] @ (s - y).reshape(-1))
        dWh = np.outer(x, dbh)
        bh -= lr * dbh
        Wh -= lr * dWh
        bo -= lr * dbo
        Wo -= lr * dWo
        loss.append(compute_loss(s, y))
        acc.append(np.argmax(s) == np.argmax(y))
        if it % test_freq == 0:
            tmp = []
            for j in range(Xte.shape[0]):
                sj = forward_two_layers(Wo, bo, Wh, bh, Xte[j, :].reshape(-1, 1))[0]
                tmp.append(np.argmax(sj) == np.argmax(Yte[j]))
            test_acc.append(np.mean(tmp))
    return Wo, bo, Wh, bh, loss, acc, test_acc


def grid_proba(Wo: Any, bo: Any, Wh: Any, bh: Any, xs: Any, ys: Any) -> Any:
    out = np.zeros((len(ys), len(xs), Wo.shape[1]))
    for i1, x1 in enumerate(xs):
        for i2, x2 in enumerate(ys):
            out[i2, i1] = forward_two_layers(Wo, bo, Wh, bh, np.array([x1, x2]).reshape(-1, 1))[0].reshape(-1)
    return out
