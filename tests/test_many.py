"""train_many against its oracle: each network trained alone by ``train`` with the same settings and order.

``train`` is the single-network trainer (itself checked against the reference backward pass, finite
differences and autograd elsewhere); every number of a stacked network must equal its lone run to 1e-12
in float64: final weights, every step's loss, correct counts, batch sizes and evaluations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import perceptrons as pc
from perceptrons.core.many import NetworkStack
from perceptrons.datasets import circles

TOL = 1e-12
K = 3


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    X, y = circles(120, noise=0.15, seed=3)
    Xte, yte = circles(40, noise=0.15, seed=4)
    targets = {
        "softmax": (y, yte),
        "logistic": (np.c_[y, 1 - y * (X[:, 0] > 0)], np.c_[yte, 1 - yte * (Xte[:, 0] > 0)]),
        "identity": (np.c_[X[:, 0] * X[:, 1], np.sin(X[:, 0])], np.c_[Xte[:, 0] * Xte[:, 1], np.sin(Xte[:, 0])]),
    }
    return {"X": X, "Xte": Xte, "targets": targets, "w": np.random.default_rng(0).uniform(0, 2, len(y))}


def _entry(value: Any, k: int) -> Any:
    return value[k] if isinstance(value, list) else value


def _alone(net: pc.MLP, X: Any, y: Any, k: int, kw: dict[str, Any]) -> pc.History:
    """Network k trained by ``train`` with its own entry of every per-network setting."""
    own = {name: _entry(v, k) for name, v in kw.items()}
    try:
        return pc.train(net, X, y, **own)
    except pc.TrainingDiverged as exc:
        return exc.history


def assert_same(h_many: pc.History, h_one: pc.History, net_many: pc.MLP, net_one: pc.MLP) -> None:
    np.testing.assert_allclose(net_many.flat_params, net_one.flat_params, rtol=0, atol=TOL)
    np.testing.assert_allclose(h_many.loss, h_one.loss, rtol=TOL, atol=TOL)
    np.testing.assert_array_equal(h_many.n_correct, h_one.n_correct)
    np.testing.assert_array_equal(h_many.batch_sizes, h_one.batch_sizes)
    assert h_many.test_steps == h_one.test_steps
    np.testing.assert_allclose(h_many.test_accuracy, h_one.test_accuracy, rtol=0, atol=TOL)
    np.testing.assert_allclose(h_many.test_loss, h_one.test_loss, rtol=TOL, atol=TOL)
    assert h_many.task == h_one.task
    assert h_many.diverged == h_one.diverged


def check_many(sizes: list[int], output: str, X: Any, y: Any, activation: str = "relu", **kw: Any) -> list[pc.History]:
    """train_many on K fresh networks against K lone ``train`` runs; return the stacked Histories."""
    nets = [pc.MLP(sizes, activation=activation, output=output, seed=10 + k) for k in range(K)]
    alone = [net.copy() for net in nets]
    hists = pc.train_many(nets, X, y, **kw)
    assert len(hists) == K
    for k in range(K):
        assert_same(hists[k], _alone(alone[k], X, y, k, kw), nets[k], alone[k])
    return hists


@pytest.mark.parametrize("output", ["softmax", "logistic", "identity"])
@pytest.mark.parametrize(
    "opt",
    [
        {"optimizer": "sgd", "lr": [0.01, 0.05, 0.2]},
        {"optimizer": "sgd", "lr": 0.05, "momentum": [0.0, 0.5, 0.9]},
        {"optimizer": "sgd", "lr": [0.02, 0.05, 0.05], "momentum": 0.9, "nesterov": [True, False, True]},
        {"optimizer": "adam", "lr": [0.001, 0.01, 0.03]},
    ],
    ids=["sgd", "momentum", "nesterov", "adam"],
)
def test_equal_to_training_alone(data: dict[str, Any], output: str, opt: dict[str, Any]) -> None:
    y, yte = data["targets"][output]
    k_out = 2
    check_many([2, 7, 5, k_out], output, data["X"], y, batch_size=16, sampling="epochs", epochs=6, seed=5,
               eval_data=(data["Xte"], yte), eval_every=3, alpha=[0.0, 1e-3, 1e-2], **opt)  # fmt: skip


def test_many_classes_and_layers() -> None:
    """Softmax over 4 classes through three hidden layers, leaky ReLU, a ragged last batch."""
    X, y = pc.datasets.blobs(90, k=4, seed=1)
    check_many([2, 6, 5, 4, 4], "softmax", X, y, activation="leaky_relu", optimizer="adam", lr=[0.01, 0.03, 0.1],
               batch_size=20, sampling="epochs", epochs=5, seed=3, eval_data=(X, y), eval_every=4)  # fmt: skip


@pytest.mark.parametrize("batch_size", [1, 7, 32, None], ids=["one", "ragged7", "ragged32", "all"])
@pytest.mark.parametrize("sampling", ["epochs", "replacement"])
def test_batch_sizes_and_sampling(data: dict[str, Any], batch_size: int | None, sampling: str) -> None:
    y, yte = data["targets"]["softmax"]
    check_many([2, 6, 2], "softmax", data["X"], y, optimizer="sgd", lr=[0.05, 0.1, 0.3], momentum=0.8,
               batch_size=batch_size, sampling=sampling, steps=40, seed=1, eval_data=(data["Xte"], yte))  # fmt: skip


@pytest.mark.parametrize("output", ["softmax", "logistic", "identity"])
def test_sample_weights_l1_and_own_orders(data: dict[str, Any], output: str) -> None:
    """Weighted losses, L1 and L2, tanh, and a list of seeds (each network its own sample order)."""
    y, yte = data["targets"][output]
    check_many([2, 6, 2], output, data["X"], y, activation="tanh", optimizer="adam", lr=0.02, batch_size=9,
               sampling="epochs", epochs=4, sample_weight=data["w"], alpha=[0.0, 0.01, 0.0], l1=[0.0, 0.0, 1e-3],
               seed=[7, 8, 9], eval_data=(data["Xte"], yte))  # fmt: skip


def test_explicit_indices_shared(data: dict[str, Any]) -> None:
    y, _ = data["targets"]["softmax"]
    order = np.random.default_rng(2).integers(0, len(y), 95)
    check_many([2, 4, 2], "softmax", data["X"], y, lr=[0.1, 0.2, 0.3], batch_size=10, sampling=order)


def test_one_network_diverges_the_others_train_on(data: dict[str, Any]) -> None:
    """Network 1's rate blows up: it stops as train would (weights of its last finite loss, History cut,
    the same message); networks 0 and 2 match their lone runs to the end."""
    y, yte = data["targets"]["softmax"]
    X = data["X"] * 30
    hists = check_many([2, 8, 2], "softmax", X, y, lr=[0.01, 100.0, 0.05], batch_size=4, steps=200, seed=2,
                       eval_data=(data["Xte"] * 30, yte), eval_every=7)  # fmt: skip
    assert hists[1].diverged.startswith("training diverged at step")
    assert hists[1].steps < 200 and hists[0].steps == hists[2].steps == 200
    assert not hists[0].diverged and not hists[2].diverged


def test_divergence_with_own_orders_in_epochs(data: dict[str, Any]) -> None:
    """Each network its own order, epochs of batches, weights: the diverged network's rows leave the
    epoch's permuted rows too, and the others still see their own batches."""
    y, yte = data["targets"]["logistic"]
    hists = check_many([2, 8, 2], "logistic", data["X"] * 30, y, lr=[0.01, 200.0, 0.05], momentum=0.9, batch_size=6,
                       sampling="epochs", epochs=8, seed=[3, 4, 5], sample_weight=data["w"],
                       eval_data=(data["Xte"] * 30, yte))  # fmt: skip
    assert hists[1].diverged and not hists[0].diverged and not hists[2].diverged


def test_a_stack_with_every_network_dropped_trains_none(data: dict[str, Any]) -> None:
    y, _ = data["targets"]["softmax"]
    nets = [pc.MLP([2, 3, 2], seed=k) for k in range(2)]
    stack = NetworkStack(nets, lr=0.1)
    with pytest.raises(ValueError, match="indices into nets"):
        stack.drop([2])
    stack.drop([0, 1])
    before = [n.flat_params.copy() for n in nets]
    assert stack.train(data["X"], y, steps=5) == []
    for n, b in zip(nets, before):
        np.testing.assert_array_equal(n.flat_params, b)


def test_divergence_at_the_starting_weights(data: dict[str, Any]) -> None:
    """A network whose loss is not finite before any update keeps its weights and has an empty History."""
    y, _ = data["targets"]["softmax"]
    nets = [pc.MLP([2, 3, 2], seed=k) for k in range(K)]
    nets[1].params["W0"] = np.full((2, 3), 1e300)
    nets[1].params["W1"] = np.full((3, 2), -1e300)
    alone = [n.copy() for n in nets]
    hists = pc.train_many(nets, data["X"], y, lr=0.1, batch_size=5, steps=10, seed=0)
    for k in range(K):
        assert_same(hists[k], _alone(alone[k], data["X"], y, k, dict(lr=0.1, batch_size=5, steps=10, seed=0)),
                    nets[k], alone[k])  # fmt: skip
    assert hists[1].steps == 0 and hists[1].diverged.startswith("the loss at the starting weights")
    assert hists[0].steps == hists[2].steps == 10


def test_stack_continues_like_train_with_its_optimizer(data: dict[str, Any]) -> None:
    """NetworkStack keeps each network's Adam state and order Generator across calls, and drop() takes one
    out: the same as train(..., opt=Adam, seed=rng) called repeatedly (the study's plateau loop)."""
    y, _ = data["targets"]["softmax"]
    nets = [pc.MLP([2, 5, 2], seed=s) for s in range(K)]
    alone = [n.copy() for n in nets]
    stack = NetworkStack(nets, optimizer="adam", lr=[0.01, 0.02, 0.03])
    rngs = [np.random.default_rng(40 + k) for k in range(K)]
    hs1 = stack.train(data["X"], y, batch_size=8, sampling="epochs", epochs=2, seed=rngs)
    stack.drop([1])
    hs2 = stack.train(data["X"], y, batch_size=8, sampling="epochs", epochs=3, seed=[rngs[0], rngs[2]])
    assert list(stack.active) == [0, 2]
    for k, lr in enumerate([0.01, 0.02, 0.03]):
        opt, rng = pc.Adam(lr), np.random.default_rng(40 + k)
        h1 = pc.train(alone[k], data["X"], y, opt=opt, batch_size=8, sampling="epochs", epochs=2, seed=rng)
        if k == 1:  # dropped after the first call: its weights stay those of the first call
            assert_same(hs1[k], h1, nets[k], alone[k])
            continue
        np.testing.assert_allclose(hs1[k].loss, h1.loss, rtol=TOL, atol=TOL)
        h2 = pc.train(alone[k], data["X"], y, opt=opt, batch_size=8, sampling="epochs", epochs=3, seed=rng)
        assert_same(hs2[[0, 2].index(k)], h2, nets[k], alone[k])


def test_float32_trains_in_float32(data: dict[str, Any]) -> None:
    y, _ = data["targets"]["softmax"]
    X = data["X"].astype(np.float32)
    nets = [pc.MLP([2, 6, 2], seed=k, dtype=np.float32) for k in range(K)]
    alone = [n.copy() for n in nets]
    pc.train_many(nets, X, y, optimizer="adam", lr=0.01, batch_size=16, sampling="epochs", epochs=3, seed=0)
    for net, one in zip(nets, alone):
        pc.train(one, X, y, optimizer="adam", lr=0.01, batch_size=16, sampling="epochs", epochs=3, seed=0)
        assert net.flat_params.dtype == np.float32
        np.testing.assert_allclose(net.flat_params, one.flat_params, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("nets", "kw", "error", "match"),
    [
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 5, 2])], {}, ValueError, "same sizes"),
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2], activation="tanh")], {}, ValueError, "Group networks"),
        (lambda: [], {}, TypeError, "non-empty list"),
        (lambda: [pc.MLP([2, 4, 2])] * 2, {}, ValueError, "appears twice"),
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2])], {"lr": [0.1]}, ValueError, r"one per network \(2\)"),
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2])], {"lr": [0.1, -1.0]}, ValueError, r"lr\[1\] must be > 0"),
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2])], {"momentum": [0.1, 1.5]}, ValueError, "momentum"),
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2])], {"nesterov": "yes"}, TypeError, "True or False"),
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2])], {"seed": [1, 2, 3]}, ValueError, "one per network"),
        (lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2])], {"optimizer": "lbfgs"}, ValueError, "optimizer"),
        (
            lambda: [pc.MLP([2, 4, 2]), pc.MLP([2, 4, 2])],
            {"seed": [1, 2], "sampling": np.arange(5)},
            ValueError,
            "one order for all",
        ),  # fmt: skip
    ],
)
def test_bad_input_says_what_to_do(nets: Any, kw: dict[str, Any], error: type, match: str) -> None:
    X, y = circles(20, seed=0)
    made = nets()
    before = [n.flat_params.copy() for n in made]
    with pytest.raises(error, match=match):
        pc.train_many(made, X, y, steps=3, **kw)
    for n, b in zip(made, before):
        np.testing.assert_array_equal(n.flat_params, b)  # nothing trained


def test_sparse_input_is_refused_clearly() -> None:
    X, y = circles(20, seed=0)
    with pytest.raises(TypeError, match="dense X only"):
        pc.train_many([pc.MLP([2, 3, 2]), pc.MLP([2, 3, 2])], sp.csr_matrix(X), y, steps=2)
