"""The output heads of ``perceptrons.core``, each checked against an oracle that shares no code with the package.

- Gradients and loss of ``loss_and_grads`` for every head (softmax, logistic binary and multilabel, identity and exp with
  one and several outputs), with and without L2 / L1 / sample weights, against ``autograd`` applied to the loss
  written here from the formulas of the API (``logsumexp``, ``logaddexp(0, z)``, ...), on hundreds of random
  architectures.
- The scaling of the losses against scikit-learn's own loss functions, and the relation of our ``alpha`` to
  scikit-learn's (``alpha_core = alpha_sklearn / sum(sample_weight)``).
- The fast engine ``FusedBackprop`` against the reference ``loss_and_grads`` (float64 and float32).
- Sparse inputs (CSR / CSC) against dense ones, and that the sparse path never densifies X.
- The MLP-level edges: target shapes, ``predict`` / ``predict_proba`` of the new heads, errors, float32 training.
"""

from __future__ import annotations

import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.sparse as sp
from autograd.scipy.special import logsumexp as ag_logsumexp
from scipy.special import expit, xlogy
from scipy.special import softmax as sp_softmax
from sklearn.neural_network._base import binary_log_loss, log_loss, poisson_loss, squared_loss

import perceptrons
from perceptrons.core.fused import FusedBackprop
from perceptrons.core.network import MLP, forward, loss_and_grads

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "identity")
KINKED = ("relu", "leaky_relu")
SW_MODES = (None, "positive", "zeros")
# (head, smallest K, largest K): softmax K >= 2; logistic binary (K = 1) and multilabel; identity K = 1 and K >= 2.
HEAD_CASES = [
    ("softmax", 2, 4),
    ("logistic", 1, 1),
    ("logistic", 2, 4),
    ("identity", 1, 1),
    ("identity", 2, 4),
    ("exp", 1, 1),
    ("exp", 2, 3),
]
HEAD_IDS = ["softmax", "logistic-binary", "logistic-multilabel", "identity-1", "identity-multi", "exp-1", "exp-multi"]


# ---------------------------------------------------------------------------------------------------------------------
# Independent oracles (plain NumPy / autograd, written from the formulas of the API, nothing from the package)
# ---------------------------------------------------------------------------------------------------------------------
def np_activation(name, z):
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    assert name == "identity"
    return z


def np_forward(params, X, activation):
    """Logits (N, K) and the list of hidden pre-activations."""
    n_layers = len(params) // 2
    h = X
    pre = []
    for i in range(n_layers):
        z = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < n_layers - 1:
            pre.append(z)
            h = np_activation(activation, z)
        else:
            h = z
    return h, pre


def ag_activation(name, z):
    if name == "relu":
        return anp.maximum(z, 0.0)
    if name == "leaky_relu":
        return anp.where(z > 0, z, 0.01 * z)
    if name == "sigmoid":
        return 1.0 / (1.0 + anp.exp(-z))
    if name == "tanh":
        return anp.tanh(z)
    return z


def ag_loss(params, X, y, activation, output, alpha, l1, sample_weight):
    """The loss of the API written in autograd.numpy (weighted mean over samples + penalties on the weights)."""
    n_layers = len(params) // 2
    h = X
    for i in range(n_layers):
        z = anp.dot(h, params[f"W{i}"]) + params[f"b{i}"]
        h = ag_activation(activation, z) if i < n_layers - 1 else z
    z = h
    n, k = z.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if output == "softmax":
        onehot = np.eye(k)[y]
        per_sample = ag_logsumexp(z, axis=1) - anp.sum(z * onehot, axis=1)
    elif output == "logistic":
        per_sample = anp.sum(anp.logaddexp(0.0, z) - y * z, axis=1)
    elif output == "exp":  # half Poisson deviance with the log link: mu = e^z, y log(y / mu) - y + mu
        per_sample = anp.sum(xlogy(y, y) - y * z - y + anp.exp(z), axis=1)
    else:
        per_sample = anp.sum((z - y) ** 2, axis=1) / (2.0 * k)
    loss = anp.sum(w * per_sample) / np.sum(w)
    for i in range(n_layers):
        W = params[f"W{i}"]
        loss = loss + 0.5 * alpha * anp.sum(W * W) + l1 * anp.sum(anp.abs(W))
    return loss


ag_value_and_grad = autograd.value_and_grad(ag_loss)


def np_loss(z, y, output, sample_weight=None):
    """The data term of the API in plain NumPy, from the logits (the MLP-level oracle)."""
    n, k = z.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if output == "softmax":
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        per = lse - z[np.arange(n), y]
    elif output == "logistic":
        per = (np.logaddexp(0.0, z) - y * z).sum(axis=1)
    elif output == "exp":
        per = (xlogy(y, y / np.exp(z)) - y + np.exp(z)).sum(axis=1)
    else:
        per = ((z - y) ** 2).sum(axis=1) / (2.0 * k)
    return float((w * per).sum() / w.sum())


# ---------------------------------------------------------------------------------------------------------------------
# Random problems
# ---------------------------------------------------------------------------------------------------------------------
def random_params(rng, sizes, w_scale=1.0, b_scale=0.5):
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{i}"] = rng.standard_normal((a, b)) * (w_scale / math.sqrt(a))
        params[f"b{i}"] = rng.standard_normal(b) * b_scale
    return params


def random_sizes(rng, k):
    depth = int(rng.integers(1, 5))  # number of weight layers: 1 (no hidden layer) to 4
    return [int(rng.integers(1, 7)), *(int(v) for v in rng.integers(1, 7, size=depth - 1)), k]


def random_targets(rng, output, n, k):
    """Targets in the function-level encoding: softmax int (N,), logistic 0/1 float (N, K), identity float (N, K)."""
    if output == "softmax":
        return rng.integers(0, k, size=n).astype(np.intp)
    if output == "logistic":
        return (rng.random((n, k)) < 0.5).astype(np.float64)
    if output == "exp":  # counts, zeros included (0 log 0 = 0)
        return rng.poisson(1.5, size=(n, k)).astype(np.float64)
    return rng.standard_normal((n, k))


def random_weights(rng, mode, n):
    if mode is None:
        return None
    w = rng.uniform(0.1, 3.0, size=n)
    if mode == "zeros":
        zero = rng.random(n) < 0.4
        if n > 1:
            zero[rng.integers(n)] = True
        w[zero] = 0.0
        if not (w > 0).any():
            w[rng.integers(n)] = rng.uniform(0.1, 3.0)
    return w


def flat(grads, sizes):
    return np.concatenate([grads[f"{p}{i}"].ravel() for i in range(len(sizes) - 1) for p in ("W", "b")])


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(b)
    num = np.linalg.norm(a - b)
    return 0.0 if num == 0 else num / den


def assert_grads_close(got, ref, rtol, what):
    """Normwise relative error of the whole gradient <= rtol, and of each parameter (floored at 1e-3 of the whole)."""
    assert set(got) == set(ref), what
    total = math.sqrt(sum(float(np.vdot(v, v)) for v in ref.values()))
    for k, r in ref.items():
        g = np.asarray(got[k])
        assert g.shape == r.shape, (what, k, g.shape, r.shape)
        err = float(np.linalg.norm(g.astype(np.float64) - r))
        assert err <= rtol * max(float(np.linalg.norm(r)), 1e-3 * total), (what, k, err, float(np.linalg.norm(r)))
    keys = sorted(ref)
    err = rel_err(np.concatenate([np.ravel(got[k]) for k in keys]), np.concatenate([ref[k].ravel() for k in keys]))
    assert err <= rtol, (what, err)


def assert_loss_close(got, ref, rtol, what):
    assert math.isfinite(got), what
    assert abs(got - ref) <= rtol * abs(ref), (what, got, ref, abs(got - ref) / abs(ref))


# ---------------------------------------------------------------------------------------------------------------------
# 1. loss_and_grads against autograd, every head, random architectures
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_loss_and_grads_match_autograd(output, k_lo, k_hi):
    rng = np.random.default_rng([1, k_lo, k_hi, len(output)])
    draws = 132  # 6 (alpha, sample_weight) combinations x 22, L1 on in every other round
    used = {}
    for i in range(draws):
        alpha = float(rng.uniform(0.01, 1.0)) if i % 2 else 0.0
        sw_mode = SW_MODES[(i // 2) % 3]
        l1 = float(rng.uniform(0.01, 0.5)) if (i // 6) % 2 else 0.0
        k = int(rng.integers(k_lo, k_hi + 1))
        sizes = random_sizes(rng, k)
        act = str(rng.choice(ACTIVATIONS))
        n = int(rng.integers(1, 21))
        params = random_params(rng, sizes)
        X = rng.standard_normal((n, sizes[0]))
        y = random_targets(rng, output, n, k)
        w = random_weights(rng, sw_mode, n)
        _, pre = np_forward(params, X, act)
        if act in KINKED and any(np.abs(p).min() < 1e-7 for p in pre):
            continue  # a pre-activation on the kink: the derivative is not defined there
        what = f"draw {i}: sizes={sizes} act={act} N={n} alpha={alpha} l1={l1} sw={sw_mode}"

        ref_loss, ref_grads = ag_value_and_grad(params, X, y, act, output, alpha, l1, w)
        loss, grads = loss_and_grads(params, X, y, activation=act, output=output, alpha=alpha, l1=l1, sample_weight=w)
        assert isinstance(loss, float), what
        assert_loss_close(loss, float(ref_loss), 1e-12, what)
        assert all(g.dtype == np.float64 for g in grads.values()), what
        assert_grads_close(grads, ref_grads, 1e-10, what)
        combo = (alpha > 0, sw_mode)
        used[combo] = used.get(combo, 0) + 1
    assert sum(used.values()) >= 0.95 * draws, used
    assert len(used) == 6 and min(used.values()) >= 15, used


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_forward_matches_numpy(act):
    """``forward`` (the prediction path, in-place activations) gives the logits of the plain NumPy oracle."""
    rng = np.random.default_rng([0, len(act), ord(act[0])])
    for i in range(40):
        k = int(rng.integers(1, 5))
        sizes = random_sizes(rng, k)
        n = int(rng.integers(1, 21))
        params = random_params(rng, sizes)
        X = rng.standard_normal((n, sizes[0]))
        z_ref, _ = np_forward(params, X, act)
        z = forward(params, X, act)
        assert z.shape == (n, k)
        assert rel_err(z, z_ref) <= 1e-12, f"draw {i}: sizes={sizes} act={act} N={n}"
        for fmt in (sp.csr_matrix, sp.csc_matrix):
            assert rel_err(forward(params, fmt(X), act), z_ref) <= 1e-12, f"draw {i}: sparse {fmt.__name__}"


def test_loss_and_grads_zero_weight_rows_do_not_count():
    """A row with weight 0 changes nothing; integer weights equal repeating rows (checked without autograd)."""
    rng = np.random.default_rng(7)
    for output, _k_lo, k_hi in HEAD_CASES:
        k = k_hi
        sizes = [3, 4, k]
        params = random_params(rng, sizes)
        X = rng.standard_normal((6, 3))
        y = random_targets(rng, output, 6, k)
        w = np.array([1.0, 0.0, 2.0, 1.0, 0.0, 3.0])
        loss_w, g_w = loss_and_grads(params, X, y, "tanh", output, alpha=0.1, sample_weight=w)
        rows = np.repeat(np.arange(6), w.astype(int))
        loss_r, g_r = loss_and_grads(params, X[rows], y[rows], "tanh", output, alpha=0.1)
        assert_loss_close(loss_w, loss_r, 1e-12, output)
        assert_grads_close(g_w, g_r, 1e-12, output)
        loss_1, g_1 = loss_and_grads(params, X, y, "tanh", output, sample_weight=np.ones(6))
        loss_n, g_n = loss_and_grads(params, X, y, "tanh", output)
        assert_loss_close(loss_1, loss_n, 1e-14, output)
        assert_grads_close(g_1, g_n, 1e-14, output)


# ---------------------------------------------------------------------------------------------------------------------
# 2. The scaling of scikit-learn
# ---------------------------------------------------------------------------------------------------------------------
def sklearn_loss(output, z, y, w):
    if output == "softmax":
        return log_loss(np.eye(z.shape[1])[y], sp_softmax(z, axis=1), w)
    if output == "logistic":
        return binary_log_loss(y, expit(z), w)
    if output == "exp":
        return poisson_loss(y, np.exp(z), w)
    return squared_loss(y, z, w)


@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_losses_equal_sklearn(output, k_lo, k_hi):
    rng = np.random.default_rng([2, k_lo, k_hi, len(output)])
    for i in range(30):
        k = int(rng.integers(k_lo, k_hi + 1))
        sizes = random_sizes(rng, k)
        act = str(rng.choice(ACTIVATIONS))
        n = int(rng.integers(1, 21))
        params = random_params(rng, sizes)
        X = rng.standard_normal((n, sizes[0]))
        z, _ = np_forward(params, X, act)
        top = np.abs(z).max()
        if top > 3.0:  # probabilities far from sklearn's eps clipping, and 1 - p without cancellation
            last = len(sizes) - 2
            params[f"W{last}"] *= 3.0 / top
            params[f"b{last}"] *= 3.0 / top
            z, _ = np_forward(params, X, act)
        y = random_targets(rng, output, n, k)
        w = random_weights(rng, SW_MODES[i % 3], n)
        what = f"draw {i}: sizes={sizes} act={act} N={n} sw={SW_MODES[i % 3]}"

        sk = float(sklearn_loss(output, z, y, w))
        loss0, g0 = loss_and_grads(params, X, y, act, output, sample_weight=w)
        assert_loss_close(loss0, sk, 1e-12, what)

        # scikit-learn's L2 term: 0.5 * alpha * sum ||W||^2 / sw_sum (sw_sum = N without weights)
        alpha_sk = float(rng.uniform(1e-3, 2.0))
        sw_sum = float(n if w is None else w.sum())
        sq = sum(float(np.vdot(params[f"W{j}"], params[f"W{j}"])) for j in range(len(sizes) - 1))
        sk_reg = sk + 0.5 * alpha_sk * sq / sw_sum
        loss_r, g_r = loss_and_grads(params, X, y, act, output, alpha=alpha_sk / sw_sum, sample_weight=w)
        assert_loss_close(loss_r, sk_reg, 1e-12, what)
        # ... and its gradient alpha * W / sw_sum on the weights only (scikit-learn's coef_grads)
        for key in g0:
            expected = alpha_sk * params[key] / sw_sum if key.startswith("W") else np.zeros_like(params[key])
            scale = float(np.linalg.norm(g_r[key]) + np.linalg.norm(g0[key]) + np.linalg.norm(expected))
            assert np.linalg.norm((g_r[key] - g0[key]) - expected) <= 1e-12 * scale, (what, key)


# ---------------------------------------------------------------------------------------------------------------------
# 3. FusedBackprop against the reference
# ---------------------------------------------------------------------------------------------------------------------
def expected_correct(output, z, y):
    if output == "softmax":
        return int(np.count_nonzero(z.argmax(axis=1) == y))
    if output == "logistic":
        return int(np.count_nonzero(((z > 0) == (y > 0.5)).all(axis=1)))
    return 0


def pick_rows(rng, b, n, w):
    """Row indices of a batch of size b whose weights (if any) do not all vanish."""
    while True:
        idx = rng.permutation(n) if b == n else rng.integers(0, n, size=b)
        if w is None or w[idx].sum() > 0:
            return idx


FUSED_OPTIONS = [  # (alpha, l1, sample_weight mode)
    (0.0, 0.0, None),
    (0.3, 0.0, None),
    (0.0, 0.2, "positive"),
    (0.1, 0.05, "zeros"),
]


@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_fused_equals_reference(output, k_lo, k_hi):
    rng = np.random.default_rng([3, k_lo, k_hi, len(output)])
    n_total = 33
    for act in ACTIVATIONS:
        for alpha, l1, sw_mode in FUSED_OPTIONS:
            k = int(rng.integers(k_lo, k_hi + 1))
            sizes = [int(rng.integers(1, 6)), *(int(v) for v in rng.integers(1, 6, size=int(rng.integers(0, 3)))), k]
            net = MLP(sizes, activation=act, output=output, seed=int(rng.integers(1 << 30)))
            theta = net.flat_params
            theta[...] = rng.standard_normal(theta.size) * 0.7  # non-zero biases too
            grads = np.full_like(theta, np.nan)
            eng = FusedBackprop(net.sizes, act, output, theta, grads, alpha=alpha, l1=l1)
            X = rng.standard_normal((n_total, sizes[0]))
            y = random_targets(rng, output, n_total, k)
            w = random_weights(rng, sw_mode, n_total)
            xa = eng.prepare(X)
            assert xa.shape == (n_total, sizes[0] + 1) and xa.dtype == np.float64
            np.testing.assert_array_equal(xa[:, :-1], X)
            np.testing.assert_array_equal(xa[:, -1], 1.0)
            for b in (33, 1, 2, 33, 2, 1):  # sizes revisited: buffers reused
                idx = pick_rows(rng, b, n_total, w)
                wb = None if w is None else w[idx]
                what = f"{output} sizes={sizes} act={act} alpha={alpha} l1={l1} sw={sw_mode} batch={b}"
                ref_loss, ref_grads = loss_and_grads(
                    net.params, X[idx], y[idx], act, output, alpha=alpha, l1=l1, sample_weight=wb
                )
                grads[...] = np.nan
                loss, n_correct = eng(xa[idx], y[idx], sample_weight=wb)
                assert_loss_close(float(loss), ref_loss, 1e-12, what)
                assert rel_err(grads, flat(ref_grads, sizes)) <= 1e-12, what
                z, _ = np_forward(net.params, X[idx], act)
                assert n_correct == expected_correct(output, z, y[idx]), what
            # a contiguous slice of the prepared rows, as the per-sample training loop passes
            ref_loss, ref_grads = loss_and_grads(net.params, X[4:5], y[4:5], act, output, alpha=alpha, l1=l1)
            loss, _ = eng(xa[4:5], y[4:5])
            assert_loss_close(float(loss), ref_loss, 1e-12, f"{output} {act} slice")
            assert rel_err(grads, flat(ref_grads, sizes)) <= 1e-12


def test_fused_reads_theta_in_place():
    """The engine works on the flat vector it was given: an update of theta is seen by the next call."""
    rng = np.random.default_rng(4)
    for output, k in (("softmax", 3), ("logistic", 2), ("identity", 1)):
        net = MLP([3, 5, k], activation="tanh", output=output, seed=0)
        theta = net.flat_params
        grads = np.empty_like(theta)
        eng = FusedBackprop(net.sizes, "tanh", output, theta, grads, alpha=0.1)
        X = rng.standard_normal((9, 3))
        y = random_targets(rng, output, 9, k)
        xa = eng.prepare(X)
        for _ in range(3):
            loss, _ = eng(xa, y)
            ref_loss, ref_grads = loss_and_grads(net.params, X, y, "tanh", output, alpha=0.1)
            assert_loss_close(float(loss), ref_loss, 1e-12, output)
            assert rel_err(grads, flat(ref_grads, net.sizes)) <= 1e-12
            theta -= 0.5 * grads


@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_fused_float32(output, k_lo, k_hi):
    rng = np.random.default_rng([5, k_lo, k_hi, len(output)])
    for act in ("relu", "tanh", "sigmoid"):
        k = k_hi
        sizes = [4, 6, 5, k]
        net = MLP(sizes, activation=act, output=output, seed=1, dtype=np.float32)
        theta = net.flat_params
        assert theta.dtype == np.float32
        theta[...] = (rng.standard_normal(theta.size) * 0.5).astype(np.float32)
        grads = np.empty_like(theta)
        eng = FusedBackprop(net.sizes, act, output, theta, grads, alpha=0.01, l1=0.001)
        X = rng.standard_normal((17, 4))
        y = random_targets(rng, output, 17, k)
        y32 = y if output == "softmax" else y.astype(np.float32)
        w = rng.uniform(0.5, 2.0, size=17)
        xa = eng.prepare(X)
        assert xa.dtype == np.float32
        for wb in (None, w.astype(np.float32)):
            loss, _ = eng(xa, y32, sample_weight=wb)
            assert grads.dtype == np.float32
            p64 = {key: v.astype(np.float64) for key, v in net.params.items()}
            X64 = xa[:, :-1].astype(np.float64)
            ref_loss, ref_grads = loss_and_grads(p64, X64, y, act, output, alpha=0.01, l1=0.001, sample_weight=wb)
            assert abs(float(loss) - ref_loss) <= 1e-5 * abs(ref_loss), (act, float(loss), ref_loss)
            assert rel_err(grads, flat(ref_grads, sizes)) <= 1e-4, act


# ---------------------------------------------------------------------------------------------------------------------
# 4. Sparse X
# ---------------------------------------------------------------------------------------------------------------------
def sparse_problem(rng, output, k, n=12, d=5):
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.6] = 0.0
    X[0] = 0.0  # an all-zero row
    return X, random_targets(rng, output, n, k)


@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_sparse_loss_and_grads_equal_dense(output, k_lo, k_hi):
    rng = np.random.default_rng([6, k_lo, k_hi, len(output)])
    for act in ACTIVATIONS:
        for alpha, l1, sw_mode in FUSED_OPTIONS:
            k = k_hi
            sizes = [5, 4, 3, k] if act in ("tanh", "relu") else [5, k]
            params = random_params(rng, sizes)
            X, y = sparse_problem(rng, output, k)
            w = random_weights(rng, sw_mode, X.shape[0])
            ref_loss, ref_grads = loss_and_grads(params, X, y, act, output, alpha=alpha, l1=l1, sample_weight=w)
            for fmt in (sp.csr_matrix, sp.csc_matrix):
                Xs = fmt(X)
                before = (Xs.data.copy(), Xs.indices.copy(), Xs.indptr.copy())
                loss, grads = loss_and_grads(params, Xs, y, act, output, alpha=alpha, l1=l1, sample_weight=w)
                what = f"{output} {act} {fmt.__name__} alpha={alpha} l1={l1} sw={sw_mode}"
                assert_loss_close(loss, ref_loss, 1e-12, what)
                assert_grads_close(grads, ref_grads, 1e-12, what)
                assert all(isinstance(g, np.ndarray) and not sp.issparse(g) for g in grads.values()), what
                for a, b in zip(before, (Xs.data, Xs.indices, Xs.indptr)):
                    np.testing.assert_array_equal(a, b)  # X left alone


def edge_targets(rng, output, n, k):
    """Targets in the MLP/train encoding: (N,) when K == 1."""
    y = random_targets(rng, output, n, k)
    return y[:, 0] if output != "softmax" and k == 1 else y


@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_train_sparse_equals_dense(output, k_lo, k_hi):
    rng = np.random.default_rng([7, k_lo, k_hi, len(output)])
    k = k_hi
    for act, sw_mode, alpha in (("relu", None, 0.0), ("tanh", "positive", 0.01), ("sigmoid", "zeros", 0.0)):
        X, _ = sparse_problem(rng, output, k, n=15, d=6)
        y = edge_targets(rng, output, 15, k)
        w = random_weights(rng, "positive" if sw_mode else None, 15)
        if sw_mode == "zeros":  # a few zero weights, so that no batch of 4 is all zeros (its mean would be 0/0)
            w[[2, 7, 11]] = 0.0
        net = MLP([6, 5, k], activation=act, output=output, seed=3)
        start = net.flat_params.copy()
        dense, sparse = net.copy(), net.copy()
        kw = dict(batch_size=4, steps=10, seed=0, lr=0.1, alpha=alpha, sample_weight=w)
        perceptrons.train(dense, X, y, **kw)
        perceptrons.train(sparse, sp.csr_matrix(X), y, **kw)
        assert not np.allclose(dense.flat_params, start), "training did not move the weights"
        assert rel_err(sparse.flat_params, dense.flat_params) <= 1e-10, (output, act, sw_mode)


@pytest.fixture
def no_densify(monkeypatch):
    """Make every way of turning a SciPy sparse matrix into a dense array raise."""
    from scipy.sparse import _base, _compressed, _matrix

    def boom(*args, **kwargs):
        raise AssertionError("the sparse X was densified")

    for cls in (_base._spbase, _compressed._cs_matrix, _matrix.spmatrix, sp.csr_matrix, sp.csc_matrix):
        for name in ("toarray", "todense", "__array__"):
            monkeypatch.setattr(cls, name, boom, raising=False)
    return boom


@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_sparse_path_never_densifies(no_densify, output, k_lo, k_hi):
    rng = np.random.default_rng([8, k_lo, k_hi, len(output)])
    k = k_hi
    X, y = sparse_problem(rng, output, k)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        Xs = fmt(X)
        with pytest.raises(AssertionError, match="densified"):  # the trap is armed
            Xs.toarray()
        with pytest.raises(AssertionError, match="densified"):
            np.asarray(Xs)
        params = random_params(rng, [5, 4, k])
        w = random_weights(rng, "positive", X.shape[0])
        loss, grads = loss_and_grads(params, Xs, y, "relu", output, alpha=0.1, l1=0.01, sample_weight=w)
        assert math.isfinite(loss)
    net = MLP([5, 4, k], activation="tanh", output=output, seed=0)
    hist = perceptrons.train(net, sp.csr_matrix(X), edge_targets(rng, output, X.shape[0], k), batch_size=4, steps=10)
    assert np.isfinite(net.flat_params).all()
    assert len(hist.loss) == 10


# ---------------------------------------------------------------------------------------------------------------------
# 5. MLP-level edges
# ---------------------------------------------------------------------------------------------------------------------
def test_mlp_logistic_binary():
    rng = np.random.default_rng(9)
    net = MLP([3, 4, 1], output="logistic", seed=0)
    net.flat_params[...] = rng.standard_normal(net.flat_params.size)
    X = rng.standard_normal((11, 3))
    y = (rng.random(11) < 0.5).astype(int)  # (N,) of 0/1
    z, _ = np_forward({key: v.copy() for key, v in net.params.items()}, X, "relu")
    assert z.shape == (11, 1)

    loss = net.loss(X, y)
    assert_loss_close(loss, np_loss(z, y[:, None].astype(float), "logistic"), 1e-12, "binary loss")
    loss2, grads2 = net.loss_and_grads(X, y[:, None].astype(float))
    loss1, grads1 = net.loss_and_grads(X, y)
    assert_loss_close(loss1, loss2, 1e-14, "(N,) vs (N, 1)")
    assert_grads_close(grads1, grads2, 1e-14, "(N,) vs (N, 1)")

    pred = net.predict(X)
    assert pred.shape == (11,)
    assert pred.dtype.kind in "iu"
    np.testing.assert_array_equal(pred, (z[:, 0] > 0).astype(int))

    proba = np.asarray(net.predict_proba(X))
    assert proba.shape in ((11, 1), (11,))
    np.testing.assert_allclose(proba.reshape(11), 1.0 / (1.0 + np.exp(-z[:, 0])), rtol=1e-13, atol=0)
    np.testing.assert_allclose(net.forward(X), z, rtol=1e-13, atol=1e-15)


def test_mlp_logistic_multilabel():
    rng = np.random.default_rng(10)
    net = MLP([3, 5, 3], activation="tanh", output="logistic", seed=0)
    net.flat_params[...] = rng.standard_normal(net.flat_params.size)
    X = rng.standard_normal((8, 3))
    Y = (rng.random((8, 3)) < 0.5).astype(float)
    z, _ = np_forward(dict(net.params), X, "tanh")
    assert_loss_close(net.loss(X, Y), np_loss(z, Y, "logistic"), 1e-12, "multilabel loss")
    pred = net.predict(X)
    assert pred.shape == (8, 3) and pred.dtype.kind in "iu"
    np.testing.assert_array_equal(pred, (z > 0).astype(int))
    np.testing.assert_allclose(net.predict_proba(X), 1.0 / (1.0 + np.exp(-z)), rtol=1e-13, atol=0)


def test_mlp_identity_one_output():
    rng = np.random.default_rng(11)
    net = MLP([3, 4, 1], activation="sigmoid", output="identity", seed=0)
    net.flat_params[...] = rng.standard_normal(net.flat_params.size)
    X = rng.standard_normal((9, 3))
    y = rng.standard_normal(9)
    w = rng.uniform(0.1, 2.0, 9)
    z, _ = np_forward(dict(net.params), X, "sigmoid")
    assert_loss_close(net.loss(X, y), 0.5 * float(np.mean((z[:, 0] - y) ** 2)), 1e-12, "identity K=1")
    assert_loss_close(net.loss(X, y, sample_weight=w), np_loss(z, y[:, None], "identity", w), 1e-12, "weighted")
    l1_, g1 = net.loss_and_grads(X, y, alpha=0.1)
    l2_, g2 = net.loss_and_grads(X, y[:, None], alpha=0.1)
    assert_loss_close(l1_, l2_, 1e-14, "(N,) vs (N, 1)")
    assert_grads_close(g1, g2, 1e-14, "(N,) vs (N, 1)")
    pred = net.predict(X)
    assert pred.shape == (9,)
    np.testing.assert_allclose(pred, z[:, 0], rtol=1e-13, atol=1e-15)


def test_mlp_identity_several_outputs():
    rng = np.random.default_rng(12)
    net = MLP([3, 4, 2], activation="leaky_relu", output="identity", seed=0)
    net.flat_params[...] = rng.standard_normal(net.flat_params.size)
    X = rng.standard_normal((9, 3))
    Y = rng.standard_normal((9, 2))
    z, _ = np_forward(dict(net.params), X, "leaky_relu")
    assert_loss_close(net.loss(X, Y), 0.5 * float(np.mean((z - Y) ** 2)), 1e-12, "identity K=2")
    pred = net.predict(X)
    assert pred.shape == (9, 2)
    np.testing.assert_allclose(pred, z, rtol=1e-13, atol=1e-15)


def test_mlp_softmax_labels_and_onehot():
    rng = np.random.default_rng(13)
    net = MLP([3, 4, 3], activation="tanh", output="softmax", seed=0)
    X = rng.standard_normal((10, 3))
    y = rng.integers(0, 3, 10)
    z, _ = np_forward(dict(net.params), X, "tanh")
    assert_loss_close(net.loss(X, y), np_loss(z, y, "softmax"), 1e-12, "softmax")
    l1_, g1 = net.loss_and_grads(X, y)
    l2_, g2 = net.loss_and_grads(X, np.eye(3)[y])
    assert_loss_close(l1_, l2_, 1e-14, "labels vs one-hot")
    assert_grads_close(g1, g2, 1e-14, "labels vs one-hot")
    np.testing.assert_array_equal(net.predict(X), z.argmax(axis=1))
    np.testing.assert_allclose(net.predict_proba(X), sp_softmax(z, axis=1), rtol=1e-13, atol=1e-16)


def test_mlp_softmax_needs_two_outputs():
    with pytest.raises(ValueError) as info:
        MLP([3, 4, 1], output="softmax")
    msg = str(info.value).lower()
    assert "output" in msg and ("1" in msg or "2" in msg), msg
    MLP([3, 4, 1], output="logistic")  # fine for the other heads
    MLP([3, 1], output="identity")


def test_mlp_unknown_output():
    with pytest.raises(ValueError) as info:
        MLP([3, 4, 2], output="bogus")
    msg = str(info.value)
    for choice in ("softmax", "logistic", "identity"):
        assert choice in msg, msg


@pytest.mark.parametrize(("output", "k_lo", "k_hi"), HEAD_CASES, ids=HEAD_IDS)
def test_float32_training_stays_float32(output, k_lo, k_hi):
    rng = np.random.default_rng([14, k_lo, k_hi, len(output)])
    k = k_hi
    net = MLP([4, 5, k], activation="tanh", output=output, seed=0, dtype=np.float32)
    X = rng.standard_normal((20, 4))
    y = edge_targets(rng, output, 20, k)
    start = net.flat_params.copy()
    perceptrons.train(net, X, y, batch_size=4, steps=15, seed=0, lr=0.1, alpha=1e-3, sample_weight=rng.random(20) + 0.1)
    assert net.flat_params.dtype == np.float32
    assert all(v.dtype == np.float32 for v in net.params.values())
    assert not np.array_equal(net.flat_params, start)
    loss, grads = net.loss_and_grads(X, y)
    assert math.isfinite(loss)
    assert all(g.dtype == np.float32 for g in grads.values())
    ref_loss, ref_grads = loss_and_grads(
        {key: v.astype(np.float64) for key, v in net.params.items()},
        X.astype(np.float32).astype(np.float64),
        y if output == "softmax" else (y[:, None] if y.ndim == 1 else y).astype(np.float64),
        "tanh",
        output,
    )
    assert abs(loss - ref_loss) <= 1e-5 * abs(ref_loss)
    assert_grads_close(grads, ref_grads, 1e-4, "float32 vs float64")
