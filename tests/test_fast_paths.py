"""The fast paths give the same numbers as the plain ones (to 1e-12 in float64)."""

import numpy as np
import pytest

from perceptrons import MLP, gradcheck, train
from perceptrons.core.fused import FusedBackprop
from perceptrons.core.heads import log_softmax, softmax
from perceptrons.core.network import loss_and_grads
from perceptrons.datasets import blobs, moons


def plain_cross_entropy(z, y):
    """The textbook formula, one sample at a time, no shortcuts."""
    n = z.shape[0]
    loss = 0.0
    dz = np.zeros_like(z)
    for i in range(n):
        p = np.exp(z[i] - z[i].max())
        p /= p.sum()
        loss -= np.log(p[y[i]])
        dz[i] = p
        dz[i, y[i]] -= 1
    return loss / n, dz / n


@pytest.mark.parametrize("shape", [(1, 2), (1, 10), (1, 40), (7, 3), (300, 2), (200, 20)])
def test_fused_softmax_cross_entropy_equals_the_textbook_formula(shape):
    """The engine's softmax cross-entropy (Python floats for one sample, transposed buffers for a batch),
    on a single-layer identity network whose logits are the inputs (W = I, b = 0)."""
    n, c = shape
    rng = np.random.default_rng(n * 100 + c)
    z = 3 * rng.standard_normal(shape)
    y = rng.integers(0, c, n)
    net = MLP([c, c], activation="identity", seed=0)
    net.params = {"W0": np.eye(c), "b0": np.zeros(c)}
    g = np.empty_like(net.flat_params)
    engine = FusedBackprop(net.sizes, "identity", "softmax", net.flat_params, g)
    loss, n_correct = engine(engine.prepare(z), y)
    ref_loss, ref_dz = plain_cross_entropy(z, y)
    assert n_correct == np.count_nonzero(z.argmax(axis=1) == y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    db = g[c * c :]  # dL/db = sum over samples of dL/dz
    np.testing.assert_allclose(db, ref_dz.sum(axis=0), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("shape", [(1, 3), (10, 2), (1000, 2), (1000, 3), (50, 30)])
def test_softmax_and_log_softmax_are_stable(shape):
    z = np.random.default_rng(0).standard_normal(shape) * 50
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax(z), p, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.exp(log_softmax(z)), p, rtol=1e-12, atol=1e-300)


def test_batched_gradcheck_in_training_equals_checking_each_step():
    X, y = moons(100, seed=0)
    net = MLP([2, 6, 3, 2], activation="tanh", seed=0)
    seen = []
    hist = train(
        net,
        X,
        y,
        lr=0.1,
        batch_size=4,
        steps=30,
        gradcheck_every=3,
        seed=0,
        on_step=lambda info: seen.append((info.step, {k: v.copy() for k, v in info.params.items()}, info.batch.copy())),
    )
    direct = {}
    for step, params, idx in seen:
        if (step - 1) % 3 == 0:
            probe = MLP([2, 6, 3, 2], activation="tanh", seed=0)
            probe.params = params
            direct[step] = gradcheck(probe, X[idx], y[idx]).norm_rel_error
    assert hist.gradcheck_steps == sorted(direct)
    # the trainer's analytic gradient comes from Backprop, gradcheck's from loss_and_grads: they agree
    # to rounding, so the errors (themselves ~1e-11, measures of rounding) agree to ~1e-17
    np.testing.assert_allclose(hist.gradcheck_norm_error, [direct[s] for s in hist.gradcheck_steps], rtol=0, atol=1e-15)


def test_per_sample_training_equals_the_general_batch_path():
    """Batch size 1 takes slices and the one-sample loss; an explicit batch of 1 index array the same."""
    X, y = blobs(60, seed=0)
    order = np.random.default_rng(0).integers(0, 60, 200)
    a, b = MLP([2, 8, 3], seed=1), MLP([2, 8, 3], seed=1)
    ha = train(a, X, y, lr=0.05, sampling=order, batch_size=1)
    # the same updates computed by hand with the public, validated loss_and_grads on 2-row batches
    # of the same sample (mean over identical rows = the one-sample loss and gradient)
    for i in order:
        _, g = b.loss_and_grads(X[[i, i]], y[[i, i]])
        for k in b.params:
            b.params[k] -= 0.05 * g[k]
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12, atol=1e-14)
    assert ha.steps == 200


def test_predict_fast_path_equals_per_point_evaluation():
    X, y = moons(200, seed=0)
    net = MLP([2, 16, 2], seed=0)
    train(net, X, y, lr=0.1, steps=500, seed=0)
    grid = np.random.default_rng(0).uniform(-2, 3, (400, 2))
    batched = net.predict_proba(grid)
    p = net.params
    for i in range(0, 400, 37):
        h = np.maximum(grid[i] @ p["W0"] + p["b0"], 0)
        z = h @ p["W1"] + p["b1"]
        e = np.exp(z - z.max())
        np.testing.assert_allclose(batched[i], e / e.sum(), rtol=1e-12)


def test_history_memory_is_one_number_per_step():
    X, y = blobs(30, seed=0)
    h = train(MLP([2, 3], seed=0), X, y, lr=0.1, steps=5000, seed=0)
    assert h.loss.nbytes + h.n_correct.nbytes + h.batch_sizes.nbytes == 3 * 8 * 5000


ARCHS = [
    ([2, 3], "identity"),
    ([2, 16, 2], "relu"),
    ([3, 7, 5, 4], "tanh"),
    ([4, 6, 3], "sigmoid"),
    ([2, 5, 5, 5, 3], "leaky_relu"),
    ([5, 300, 2], "relu"),
    ([1, 2], "relu"),
]


@pytest.mark.parametrize("sizes,activation", ARCHS)
@pytest.mark.parametrize("n", [1, 2, 33, 257])
@pytest.mark.parametrize("alpha,l1", [(0.0, 0.0), (0.3, 0.0), (0.0, 0.05), (0.1, 0.02)])
def test_backprop_fast_path_equals_loss_and_grads(sizes, activation, n, alpha, l1):
    """The trainer's fused engine (augmented weights, preallocated buffers) against the reference backward."""
    rng = np.random.default_rng(sum(sizes) * 1000 + n)
    net = MLP(sizes, activation=activation, init="normal", seed=n)
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    g = np.full_like(net.flat_params, np.nan)
    bp = FusedBackprop(net.sizes, activation, "softmax", net.flat_params, g, alpha, l1)
    XA = bp.prepare(X)
    for _ in range(2):  # twice: the reused buffers must not leak state between calls
        loss, n_correct = bp(XA, y)
    ref_loss, ref = loss_and_grads(net.params, X, y, activation, "softmax", alpha, l1)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert n_correct == np.count_nonzero(net.forward(X).argmax(axis=1) == y)
    np.testing.assert_allclose(g, np.concatenate([ref[k].ravel() for k in net.params]), rtol=1e-12, atol=1e-14)


def test_penalties_set_after_construction_count():
    """The estimators set ``alpha`` on an engine made without it: the penalty and its gradient still follow."""
    rng = np.random.default_rng(3)
    net = MLP([3, 5, 2], activation="tanh", init="normal", seed=1)
    X, y = rng.standard_normal((9, 3)), rng.integers(0, 2, 9)
    g = np.full_like(net.flat_params, np.nan)
    bp = FusedBackprop(net.sizes, "tanh", "softmax", net.flat_params, g)
    bp.alpha, bp.l1 = 0.3, 0.05
    loss, _ = bp(bp.prepare(X), y)
    ref_loss, ref = loss_and_grads(net.params, X, y, "tanh", "softmax", 0.3, 0.05)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(g, np.concatenate([ref[k].ravel() for k in net.params]), rtol=1e-12, atol=1e-14)


def test_backprop_counts_ties_like_argmax():
    net = MLP([2, 3], init="normal", seed=0)
    net.params = {"W0": np.zeros((2, 3)), "b0": np.zeros(3)}  # every logit ties: argmax says class 0
    bp = FusedBackprop(net.sizes, "relu", "softmax", net.flat_params, np.empty_like(net.flat_params))
    y = np.array([0, 1, 2, 0])
    XA = bp.prepare(np.ones((4, 2)))
    assert bp(XA, y)[1] == 2
    assert np.count_nonzero(bp.logits(XA).argmax(axis=1) == y) == 2  # the evaluation's forward pass agrees
    assert bp(XA[:1], y[:1])[1] == 1 and bp(XA[1:2], y[1:2])[1] == 0


@pytest.mark.parametrize("n", [1, 32])
def test_backprop_float32_agrees_with_the_float64_reference(n):
    """float32 training (W5, W6 of the benchmark): the same gradient to float32 precision."""
    rng = np.random.default_rng(n)
    net = MLP([64, 128, 10], activation="relu", seed=0, dtype=np.float32)
    X = rng.random((n, 64))
    y = rng.integers(0, 10, n)
    g = np.empty_like(net.flat_params)
    bp = FusedBackprop(net.sizes, "relu", "softmax", net.flat_params, g)
    loss, _ = bp(bp.prepare(X), y)
    ref_loss, ref = loss_and_grads({k: v.astype(np.float64) for k, v in net.params.items()}, X, y, "relu")
    assert g.dtype == np.float32
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    flat = np.concatenate([ref[k].ravel() for k in net.params])
    assert np.linalg.norm(g - flat) <= 1e-5 * np.linalg.norm(flat)


def test_epochs_batches_are_the_rows_of_the_schedule():
    """Epoch training takes each batch as a view of the epoch's permuted rows; replaying the same
    permutations (same seed) as explicit index schedules, which take rows per batch, gives the same
    run bit for bit."""
    X, y = moons(103, seed=0)  # 103 = 3 batches of 32 + a last batch of 7
    a, c = MLP([2, 8, 2], seed=0), MLP([2, 8, 2], seed=0)
    ha = train(a, X, y, lr=0.1, batch_size=32, sampling="epochs", epochs=3, seed=5)
    rng = np.random.default_rng(5)
    losses = []
    for _ in range(3):
        losses.extend(train(c, X, y, lr=0.1, batch_size=32, sampling=rng.permutation(103)).loss.tolist())
    np.testing.assert_array_equal(ha.loss, losses)
    np.testing.assert_array_equal(a.flat_params, c.flat_params)
    assert ha.batch_sizes.tolist() == [32, 32, 32, 7] * 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predictions_in_blocks_equal_one_pass_in_value_and_layout(dtype):
    """Rows are independent, so the blocks give forward's logits bit for bit, in forward's (K, N)
    layout (the heads' reductions over K run along its rows)."""
    from perceptrons.core import network

    net = MLP([3, 40, 4], seed=0, dtype=dtype)
    X = np.random.default_rng(1).standard_normal((70_000, 3)).astype(dtype)  # several blocks of 26,214 rows
    one = network.forward(net.params, X, "relu")
    blocks = network.forward_in_blocks(net.params, X, "relu")
    assert X.shape[0] > network.BLOCK_BYTES // (40 * np.dtype(dtype).itemsize)
    np.testing.assert_array_equal(blocks, one)
    assert blocks.strides == one.strides and blocks.flags.f_contiguous
