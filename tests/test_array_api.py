"""One core, any Array API library: PyTorch CPU tensors and ``array_api_strict`` arrays give NumPy's numbers.

The oracle is the NumPy path (itself tested against finite differences and autograd elsewhere): the
same network, data, sample order and hyper-parameters, trained or evaluated in another namespace,
must give the same losses, weights, predictions and gradient checks to 1e-10 in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn

import perceptrons
from perceptrons import MLP, PerceptronClassifier, PerceptronRegressor, gradcheck, train
from perceptrons.core.portable import PortableBackprop, _OutOps
from perceptrons.core.training import TrainingDiverged

torch = pytest.importorskip("torch")
xs = pytest.importorskip("array_api_strict")

NAMESPACES = [pytest.param(torch, id="torch"), pytest.param(xs, id="array_api_strict")]
HEADS = ["softmax", "logistic", "identity", "exp"]
TOL = 1e-10


def host(a):
    """A NumPy copy of an array of any of the namespaces tested (the test's own conversion, not ours)."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        return a
    return np.asarray(xs.asarray(a, device=xs.Device("CPU_DEVICE")))


def problem(output, n=120, seed=0):
    """Data, targets for ``output`` and sample weights, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    label = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    if output == "softmax":
        y = label
    elif output == "logistic":
        y = np.stack([label, (X[:, 2] > 0).astype(np.int64)], axis=1).astype(np.float64)
    elif output == "identity":
        y = np.stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]], axis=1)
    else:  # exp: non-negative counts
        y = rng.poisson(np.exp(0.3 * X[:, :2])).astype(np.float64)
    return X, y, rng.uniform(0.2, 2.0, n)


@pytest.mark.parametrize("xp", NAMESPACES)
@pytest.mark.parametrize("output", HEADS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_matches_numpy(xp, output, optimizer):
    X, y, w = problem(output)
    net = MLP([3, 8, 6, 2], activation="tanh" if output == "exp" else "relu", output=output, seed=3)
    kw = dict(
        optimizer=optimizer, lr=0.02, momentum=0.9 if optimizer == "sgd" else 0.0, batch_size=16,
        sampling="epochs", epochs=3, alpha=1e-3, eval_data=(X[:40], y[:40]), eval_every=5, seed=7,
    )  # fmt: skip
    ref = net.copy()
    h_ref = train(ref, X, y, sample_weight=w, **kw)
    dev = net.to(xp)
    h = train(dev, xp.asarray(X), xp.asarray(y), sample_weight=xp.asarray(w), **kw)
    assert h.steps == h_ref.steps == 24
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=0, atol=TOL)
    np.testing.assert_array_equal(h.n_correct, h_ref.n_correct)
    np.testing.assert_array_equal(h.batch_sizes, h_ref.batch_sizes)
    assert h.test_steps == h_ref.test_steps
    np.testing.assert_allclose(h.test_accuracy + h.test_loss, h_ref.test_accuracy + h_ref.test_loss, atol=TOL)
    np.testing.assert_allclose(host(dev.flat_params), ref.flat_params, rtol=0, atol=TOL)
    assert type(dev.flat_params) is type(xp.asarray(X))


@pytest.mark.parametrize("xp", NAMESPACES)
def test_course_protocol_matches_numpy(xp):
    """Per-sample SGD with replacement and a gradient check every few steps (the course's loop)."""
    X, y, _ = problem("softmax", n=60)
    net = MLP([3, 5, 2], activation="sigmoid", seed=0)
    kw = dict(lr=0.1, batch_size=1, steps=40, gradcheck_every=5, seed=2, eval_data=(X, y), eval_every=10)
    ref = net.copy()
    h_ref = train(ref, X, y, **kw)
    dev = net.to(xp)
    h = train(dev, xp.asarray(X), xp.asarray(y), **kw)
    np.testing.assert_allclose(h.loss, h_ref.loss, atol=TOL)
    np.testing.assert_allclose(host(dev.flat_params), ref.flat_params, atol=TOL)
    assert h.gradcheck_steps == h_ref.gradcheck_steps
    # the errors themselves are roundoff (~1e-9): equal to that, and passing
    np.testing.assert_allclose(h.gradcheck_error, h_ref.gradcheck_error, atol=1e-8)
    assert max(h.gradcheck_error) < 1e-6


@pytest.mark.parametrize("xp", NAMESPACES)
@pytest.mark.parametrize("output", HEADS)
def test_predictions_in_the_input_namespace(xp, output):
    X, y, w = problem(output, n=30)
    net = MLP([3, 7, 2], output=output, seed=1)
    dev = net.to(xp)
    Xd = xp.asarray(X)
    for name in ("forward", "predict") + (
        ("predict_proba", "predict_log_proba") if output in ("softmax", "logistic") else ()
    ):
        got = getattr(dev, name)(Xd)
        assert type(got) is type(Xd), name
        np.testing.assert_allclose(host(got), getattr(net, name)(X), atol=TOL, err_msg=name)
    # a NumPy input to a network elsewhere gives NumPy back, computed there
    assert isinstance(dev.predict(X), np.ndarray)
    loss, grads = dev.loss_and_grads(Xd, xp.asarray(y), alpha=0.01, l1=0.001, sample_weight=xp.asarray(w))
    loss_ref, grads_ref = net.loss_and_grads(X, y, alpha=0.01, l1=0.001, sample_weight=w)
    assert abs(loss - loss_ref) < TOL
    for k in grads_ref:
        np.testing.assert_allclose(host(grads[k]), grads_ref[k], atol=TOL, err_msg=k)


@pytest.mark.parametrize("xp", NAMESPACES)
@pytest.mark.parametrize("output", HEADS)
def test_gradcheck_in_another_namespace(xp, output):
    """The analytic gradient computed in the namespace, against central differences on the host."""
    X, y, w = problem(output, n=25)
    net = MLP([3, 4, 2], activation="tanh", output=output, seed=5)
    res = gradcheck(net.to(xp), xp.asarray(X), xp.asarray(y), alpha=0.05, sample_weight=xp.asarray(w))
    ref = gradcheck(net, X, y, alpha=0.05, sample_weight=w)
    assert res.passed and ref.passed
    assert abs(res.max_rel_error - ref.max_rel_error) < 1e-8


@pytest.mark.parametrize("xp", NAMESPACES)
def test_save_and_load_onto_a_namespace(xp, tmp_path):
    X, y, _ = problem("softmax", n=20)
    net = MLP([3, 6, 2], seed=4)
    train(net, X, y, lr=0.1, steps=30, seed=0)
    path = tmp_path / "net.npz"
    net.to(xp).save(path)  # saved from the namespace: the file holds NumPy arrays
    for loaded in (perceptrons.load(path, xp=xp), MLP.load(path, xp=xp)):
        assert type(loaded.flat_params) is type(xp.asarray(X))
        np.testing.assert_array_equal(host(loaded.flat_params), net.flat_params)
        np.testing.assert_allclose(host(loaded.predict_proba(xp.asarray(X))), net.predict_proba(X), atol=TOL)
    assert isinstance(perceptrons.load(path).flat_params, np.ndarray)


@pytest.mark.parametrize("xp", NAMESPACES)
def test_to_copies(xp):
    net = MLP([3, 6, 2], seed=0)
    before = net.flat_params.copy()
    dev = net.to(xp)
    X, y, _ = problem("softmax", n=40)
    train(dev, xp.asarray(X), xp.asarray(y), lr=0.5, steps=20, seed=0)
    np.testing.assert_array_equal(net.flat_params, before)  # the source is untouched
    assert np.abs(host(dev.flat_params) - before).max() > 1e-3  # the copy did train
    same = dev.to(xp)
    same.params = {k: np.zeros(v.shape) for k, v in net.params.items()}
    assert np.abs(host(dev.flat_params)).max() > 0  # a copy even within one namespace
    back = dev.to(np)
    assert isinstance(back.flat_params, np.ndarray)
    np.testing.assert_array_equal(back.flat_params, host(dev.flat_params))
    kept = host(dev.flat_params).copy()
    train(back, X, y, lr=0.5, steps=5, seed=0)  # the NumPy copy trains alone (no memory shared with a CPU tensor)
    np.testing.assert_array_equal(host(dev.flat_params), kept)


def test_float32_network_trains_in_float32_on_torch():
    X, y, _ = problem("softmax")
    net = MLP([3, 8, 2], seed=0, dtype=np.float32)
    dev = net.to(torch)
    assert dev.flat_params.dtype == torch.float32
    ref = net.copy()
    h_ref = train(ref, X, y, lr=0.05, batch_size=8, sampling="epochs", epochs=2, seed=0)
    h = train(dev, torch.asarray(X), torch.asarray(y), lr=0.05, batch_size=8, sampling="epochs", epochs=2, seed=0)
    assert dev.flat_params.dtype == torch.float32
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-4)


class _Counter:
    """Counts every way a tensor's numbers can reach the host (the test's oracle for "no sync")."""

    NAMES = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__", "__array__")

    def __init__(self, monkeypatch):
        self.calls = 0
        for name in self.NAMES:
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._wrap(original))

    def _wrap(self, original):
        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        return counted


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_no_host_transfer_inside_the_loop(monkeypatch, output):
    """Transfers to the host grow with the epochs, not the steps: 4 epochs of 50 steps each read a few times."""
    X, y, _ = problem(output, n=400)
    dev = MLP([3, 8, 2], output=output, seed=0).to(torch)
    Xd, yd = torch.asarray(X), torch.asarray(y)
    counts = {}
    for epochs in (2, 4):
        counter = _Counter(monkeypatch)
        h = train(dev, Xd, yd, lr=0.01, batch_size=8, sampling="epochs", epochs=epochs, seed=0, eval_data=(Xd, yd))
        counts[epochs] = counter.calls
        monkeypatch.undo()
        assert h.steps == 50 * epochs and np.isfinite(h.loss).all()
    assert counts[4] - counts[2] <= 2 * 4, counts  # two more epochs: a bounded number of reads each
    assert counts[4] < 50, counts  # far fewer than one per step (200 steps)


def test_history_numbers_come_back_as_python_floats_per_epoch():
    X, y, _ = problem("softmax")
    h = train(MLP([3, 4, 2], seed=0).to(xs), xs.asarray(X), xs.asarray(y), batch_size=10, sampling="epochs", epochs=2)
    assert isinstance(h.loss, np.ndarray) and h.loss.dtype == np.float64 and h.steps == 24


@pytest.mark.parametrize("xp", NAMESPACES)
@pytest.mark.parametrize("diverge_at", [0, 1, 5, 12, 13, 23])
def test_divergence_keeps_the_last_finite_weights(xp, diverge_at):
    """The loss becomes infinite at a chosen step (a huge input row in its batch); the device trainer, which
    finds it only when it reads an epoch's losses (12 steps here), must end where the NumPy trainer does:
    at the start of a read, inside one, and on a read's first step (the weights kept from the read before)."""
    X, y, _ = problem("identity", n=48)
    X[47] = 1e200  # (z - y)^2 overflows to inf on this row
    order = np.arange(96) % 40
    order[4 * diverge_at] = 47
    net = MLP([3, 5, 2], activation="identity", output="identity", seed=0)
    kw = dict(lr=0.01, batch_size=4, sampling=order, optimizer="adam", eval_data=(X[:10], y[:10]), eval_every=3)
    ref = net.copy()
    with pytest.raises(TrainingDiverged) as want:
        train(ref, X, y, **kw)
    dev = net.to(xp)
    with pytest.raises(TrainingDiverged) as got:
        train(dev, xp.asarray(X), xp.asarray(y), **kw)
    assert got.value.history.steps == want.value.history.steps == diverge_at
    assert got.value.history.test_steps == want.value.history.test_steps
    np.testing.assert_allclose(got.value.history.loss, want.value.history.loss, atol=TOL)
    np.testing.assert_allclose(host(dev.flat_params), ref.flat_params, atol=TOL)


@pytest.mark.parametrize("xp", NAMESPACES)
def test_bad_input_on_the_device_is_explained(xp):
    dev = MLP([3, 4, 2], seed=0).to(xp)
    X, y, _ = problem("softmax", n=10)
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        train(dev, xp.asarray(bad), xp.asarray(y), steps=1)
    with pytest.raises(ValueError, match="class labels in 0..1"):
        train(dev, xp.asarray(X), xp.asarray(y + 5), steps=1)
    with pytest.raises(ValueError, match="features"):
        dev.predict(xp.asarray(X[:, :2]))


@pytest.mark.parametrize("xp", NAMESPACES)
def test_estimators_follow_array_api_dispatch(xp):
    X, y, _ = problem("softmax", n=80)
    Xd = xp.asarray(X)
    clf = PerceptronClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, y)
    reg = PerceptronRegressor(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, X[:, 0] * 2)
    with sklearn.config_context(array_api_dispatch=True):
        for got, want in (
            (clf.predict_proba(Xd), clf.predict_proba(X)),
            (clf.predict(Xd), clf.predict(X)),
            (reg.predict(Xd), reg.predict(X)),
        ):
            assert type(got) is type(Xd)
            np.testing.assert_allclose(host(got), want, atol=TOL)
        fitted = PerceptronClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(Xd, xp.asarray(y))
        assert type(fitted.predict(Xd)) is type(Xd)
        np.testing.assert_array_equal(host(fitted.predict(Xd)), clf.predict(X))
    # without dispatch, scikit-learn's convention is NumPy out
    assert isinstance(clf.predict_proba(X), np.ndarray)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("output", ["softmax", "logistic"])
def test_out_ops_through_numpy_signatures(activation, output):
    """The ``out=`` operations written for CuPy use NumPy's signatures, so NumPy runs them here (CuPy
    itself needs a GPU): the engine with them gives the reference loss and gradient."""
    X, y, w = problem(output, n=33)
    net = MLP([3, 7, 5, 2], activation=activation, output=output, seed=2)
    theta = net.flat_params.copy()
    grads = np.zeros_like(theta)
    engine = PortableBackprop(net.sizes, activation, output, theta, grads, alpha=0.01)
    engine.ops = _OutOps(engine.xp, engine.act, np)
    for weights in (None, w):
        loss, n_correct = engine(X, y, weights)
        loss_ref, grads_ref = net.loss_and_grads(X, y, alpha=0.01, sample_weight=weights)
        assert abs(float(loss) - loss_ref) < TOL
        flat_ref = np.concatenate([grads_ref[k].ravel() for k in net.params])
        np.testing.assert_allclose(grads, flat_ref, atol=TOL)
        assert int(n_correct) == round(net.accuracy(X, y) * X.shape[0])


@pytest.mark.parametrize("xp", NAMESPACES)
def test_host_data_is_moved_once_to_the_network(xp):
    """NumPy data given to a network elsewhere trains it there, with the numbers of the same data moved by hand."""
    X, y, w = problem("identity", n=50)
    net = MLP([3, 5, 2], output="identity", seed=0)
    kw = dict(lr=0.05, batch_size=5, sampling="epochs", epochs=2, seed=0)
    a, b = net.to(xp), net.to(xp)
    h_host = train(a, X, y, sample_weight=w, **kw)
    h_dev = train(b, xp.asarray(X), xp.asarray(y), sample_weight=xp.asarray(w), **kw)
    np.testing.assert_array_equal(h_host.loss, h_dev.loss)
    np.testing.assert_array_equal(host(a.flat_params), host(b.flat_params))


def test_wrong_kinds_of_input_are_explained(tmp_path):

    dev = MLP([3, 4, 2], seed=0).to(torch)
    X, y, _ = problem("softmax", n=10)
    with pytest.raises(TypeError, match=r"sparse inputs train on NumPy networks only \(use net.to\(numpy\)\)"):
        train(dev, sp.csr_matrix(X), y, steps=1)
    with pytest.raises(TypeError, match="array library module"):
        dev.to("torch")
    clf = PerceptronClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    clf.save(tmp_path / "clf.npz")
    with pytest.raises(TypeError, match="array_api_dispatch"):
        perceptrons.load(tmp_path / "clf.npz", xp=torch)
    MLP([3, 4, 2], seed=0).save(tmp_path / "net.npz")
    with pytest.raises(TypeError, match="device= needs xp="):
        perceptrons.load(tmp_path / "net.npz", device="cpu")


CUDA = torch.cuda.is_available()


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (run on one: pytest tests/test_array_api.py -k cuda)")
@pytest.mark.parametrize("output", HEADS)
def test_cuda_training_matches_numpy(monkeypatch, output):
    """On a GPU: the same numbers as NumPy in float64, results on the GPU, and host reads per epoch only."""
    X, y, w = problem(output, n=200)
    net = MLP([3, 16, 8, 2], activation="tanh" if output == "exp" else "relu", output=output, seed=0)
    kw = dict(optimizer="adam", lr=0.01, batch_size=10, sampling="epochs", epochs=3, alpha=1e-3, seed=0)
    ref = net.copy()
    h_ref = train(ref, X, y, sample_weight=w, **kw)
    dev = net.to(torch, device="cuda")
    Xd, yd, wd = (torch.asarray(a, device="cuda") for a in (X, y, w))
    counter = _Counter(monkeypatch)
    h = train(dev, Xd, yd, sample_weight=wd, **kw)
    reads = counter.calls
    monkeypatch.undo()
    assert reads < 20, reads  # 60 steps, 3 epochs
    np.testing.assert_allclose(h.loss, h_ref.loss, atol=TOL)
    np.testing.assert_allclose(host(dev.flat_params), ref.flat_params, atol=TOL)
    pred = dev.predict(Xd)
    assert pred.device.type == "cuda"
    np.testing.assert_allclose(host(pred), ref.predict(X), atol=TOL)
