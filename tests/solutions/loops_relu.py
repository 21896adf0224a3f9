# ruff: noqa: NPY002  (written as the course notebook is: the legacy global random state)
"""A learner's solution to the course, written like the course notebook (loops, columns, np.random)."""

import numpy as np
import numpy.random as rand


def softmax(y):
    aux = y.reshape(-1)
    aux = np.exp(aux - aux.max())
    return (aux / aux.sum()).reshape(-1, 1)


def forward_one_layer(W, b, x):
    return softmax(W.T @ x + b)


def compute_grads_one_layer(softmaxed, x, y):
    d_W = x @ (softmaxed - y).T
    d_b = softmaxed - y
    return d_W, d_b


def compute_loss(softmaxed, y):
    return float(-np.log((softmaxed.T @ y).item()))


def approx_grad_W(W, b, x, y, h=0.0001):
    base = compute_loss(forward_one_layer(W, b, x), y)
    result = np.zeros(W.shape)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            W_h = W.copy()
            W_h[i, j] += h
            result[i, j] = (compute_loss(forward_one_layer(W_h, b, x), y) - base) / h
    return result


def train_one_layer(X_train, Y_train, X_test, Y_test, lr, n_it=1000, test_freq=10, random_seed=42):
    INPUT_SHAPE, N_CLASSES = X_train.shape[1], Y_train.shape[1]
    loss, acc, test_acc, approx_grads, grads = [], [], [], [], []
    np.random.seed(random_seed)
    b = rand.normal(size=(N_CLASSES, 1))
    W = rand.normal(size=(INPUT_SHAPE, N_CLASSES))
    indexes = rand.randint(X_train.shape[0], size=n_it)
    for it, i in enumerate(indexes):
        x = X_train[i, :].reshape(-1, 1)
        y = Y_train[i, :].reshape(-1, 1)
        softmaxed = forward_one_layer(W, b, x)
        d_W, d_b = compute_grads_one_layer(softmaxed, x, y)
        grads.append(d_W)
        approx_grads.append(approx_grad_W(W, b, x, y))
        W -= lr * d_W
        b -= lr * d_b
        loss.append(compute_loss(softmaxed, y))
        acc.append(np.argmax(softmaxed) == np.argmax(y))
        if it % test_freq == 0:
            acc_temp = []
            for k in range(X_test.shape[0]):
                x = X_test[k, :].reshape(-1, 1)
                y = Y_test[k, :].reshape(-1, 1)
                acc_temp.append(np.argmax(forward_one_layer(W, b, x)) == np.argmax(y))
            test_acc.append(np.mean(acc_temp))
    return W, b, loss, acc, test_acc, np.stack(grads, -1), np.stack(approx_grads, -1)


def relu(x):
    aux = x.reshape(-1)
    result = np.zeros(len(aux))
    for i in range(len(result)):
        result[i] = max(0, aux[i])
    return result.reshape(-1, 1)


def d_relu(x):
    aux = x.reshape(-1)
    result = np.zeros(len(aux))
    for i in range(len(result)):
        if aux[i] > 0:
            result[i] = 1
    return result.reshape(-1, 1)


def forward_two_layers(Wo, bo, Wh, bh, x):
    hidden = relu(Wh.T @ x + bh)
    out = Wo.T @ hidden + bo
    softmaxed = softmax(out)
    return softmaxed, hidden, out


def compute_grads_two_layers(hidden, softmaxed, Wo, x, y):
    d_Wo, d_bo = compute_grads_one_layer(softmaxed, hidden, y)
    d_bh = np.zeros(hidden.shape)
    aux = d_relu(hidden)
    for i in range(d_bh.shape[0]):
        d_bh[i, 0] = aux[i, 0] * (Wo[i, :] @ (softmaxed - y).reshape(-1))
    d_Wh = np.outer(x, d_bh)
    return d_Wo, d_bo, d_Wh, d_bh


def train_two_layer(X_train, Y_train, X_test, Y_test, lr, n_hidden, n_it=1000, test_freq=10, random_seed=42):
    INPUT_SHAPE, N_CLASSES = X_train.shape[1], Y_train.shape[1]
    loss, acc, test_acc = [], [], []
    np.random.seed(random_seed)
    bh = rand.normal(size=(n_hidden, 1))
    Wh = rand.normal(size=(INPUT_SHAPE, n_hidden))
    bo = rand.normal(size=(N_CLASSES, 1))
    Wo = rand.normal(size=(n_hidden, N_CLASSES))
    indexes = rand.randint(X_train.shape[0], size=n_it)
    for it, i in enumerate(indexes):
        x = X_train[i, :].reshape(-1, 1)
        y = Y_train[i, :].reshape(-1, 1)
        softmaxed, hidden, out = forward_two_layers(Wo, bo, Wh, bh, x)
        d_Wo, d_bo, d_Wh, d_bh = compute_grads_two_layers(hidden, softmaxed, Wo, x, y)
        bh -= lr * d_bh
        Wh -= lr * d_Wh
        bo -= lr * d_bo
        Wo -= lr * d_Wo
        loss.append(compute_loss(softmaxed, y))
        acc.append(np.argmax(softmaxed) == np.argmax(y))
        if it % test_freq == 0:
            acc_temp = []
            for k in range(X_test.shape[0]):
                x = X_test[k, :].reshape(-1, 1)
                y = Y_test[k, :].reshape(-1, 1)
                acc_temp.append(np.argmax(forward_two_layers(Wo, bo, Wh, bh, x)[0]) == np.argmax(y))
            test_acc.append(np.mean(acc_temp))
    return Wo, bo, Wh, bh, loss, acc, test_acc


def tanh(x):
    return np.tanh(x)


def d_tanh_hidden(hidden):
    return 1 - hidden**2
