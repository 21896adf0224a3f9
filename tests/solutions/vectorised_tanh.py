"""A correct solution in another style: einsum, scipy.special.softmax, a RandomState, central
differences, ReLU'(0) = 1 (np.heaviside), and the tanh versions of the two-layer functions."""

import numpy as np
from scipy.special import softmax as _softmax


def softmax(y):
    return _softmax(y, axis=0)


def forward_one_layer(W, b, x):
    return softmax(np.einsum("dc,dk->ck", W, x) + b)


def compute_grads_one_layer(softmaxed, x, y):
    d_b = softmaxed - y
    return np.einsum("dk,ck->dc", x, d_b), d_b


def compute_loss(softmaxed, y):
    return -np.log(softmaxed[int(np.argmax(y)), 0])


def approx_grad_W(W, b, x, y, h=0.0001):
    out = np.empty_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        up = compute_loss(forward_one_layer(W + E, b, x), y)
        down = compute_loss(forward_one_layer(W - E, b, x), y)
        out[idx] = (up - down) / (2 * h)
    return out


def train_one_layer(X_train, Y_train, X_test, Y_test, lr, n_it=1000, test_freq=10, random_seed=42):
    rs = np.random.RandomState(random_seed)
    W = rs.normal(size=(X_train.shape[1], Y_train.shape[1]))
    b = rs.normal(size=(Y_train.shape[1], 1))
    loss, acc, test_acc, grads, approx = [], [], [], [], []
    for it, i in enumerate(rs.randint(len(X_train), size=n_it)):
        x, y = X_train[[i]].T, Y_train[[i]].T
        s = forward_one_layer(W, b, x)
        d_W, d_b = compute_grads_one_layer(s, x, y)
        grads.append(d_W)
        approx.append(approx_grad_W(W, b, x, y))
        loss.append(compute_loss(s, y))
        acc.append(bool(s.argmax() == y.argmax()))
        W, b = W - lr * d_W, b - lr * d_b
        if it % test_freq == 0:
            test_acc.append(np.mean(forward_one_layer(W, b, X_test.T).argmax(0) == Y_test.argmax(1)))
    return W, b, loss, acc, test_acc, np.stack(grads, -1), np.stack(approx, -1)


def relu(x):
    return np.maximum(x, 0.0)


def d_relu(x):
    return np.heaviside(x, 1.0)


def tanh(x):
    return 2.0 / (1.0 + np.exp(-2.0 * x)) - 1.0


def d_tanh_hidden(hidden):
    return 1.0 - hidden * hidden


def forward_two_layers(Wo, bo, Wh, bh, x):
    hidden = tanh(np.einsum("dh,dk->hk", Wh, x) + bh)
    out = np.einsum("hc,hk->ck", Wo, hidden) + bo
    return softmax(out), hidden, out


def compute_grads_two_layers(hidden, softmaxed, Wo, x, y):
    d_out = softmaxed - y
    d_bh = np.einsum("hc,ck->hk", Wo, d_out) * d_tanh_hidden(hidden)
    return hidden @ d_out.T, d_out, np.einsum("dk,hk->dh", x, d_bh), d_bh


def train_two_layer(X_train, Y_train, X_test, Y_test, lr, n_hidden, n_it=1000, test_freq=10, random_seed=42):
    rs = np.random.RandomState(random_seed)
    D, C = X_train.shape[1], Y_train.shape[1]
    bh, Wh = rs.normal(size=(n_hidden, 1)), rs.normal(size=(D, n_hidden))
    bo, Wo = rs.normal(size=(C, 1)), rs.normal(size=(n_hidden, C))
    loss, acc, test_acc = [], [], []
    for it, i in enumerate(rs.randint(len(X_train), size=n_it)):
        x, y = X_train[[i]].T, Y_train[[i]].T
        s, hidden, _ = forward_two_layers(Wo, bo, Wh, bh, x)
        d_Wo, d_bo, d_Wh, d_bh = compute_grads_two_layers(hidden, s, Wo, x, y)
        loss.append(compute_loss(s, y))
        acc.append(bool(s.argmax() == y.argmax()))
        Wo, bo, Wh, bh = Wo - lr * d_Wo, bo - lr * d_bo, Wh - lr * d_Wh, bh - lr * d_bh
        if it % test_freq == 0:
            s_test = forward_two_layers(Wo, bo, Wh, bh, X_test.T)[0]
            test_acc.append(np.mean(s_test.argmax(0) == Y_test.argmax(1)))
    return Wo, bo, Wh, bh, loss, acc, test_acc
