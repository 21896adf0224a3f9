"""The gradient checker: against a plain loop of central differences, on planted bugs in user code, at kinks,
in its functional form on the course's column vectors, and the error-versus-h curve against theory."""

import importlib

import numpy as np
import pytest

from perceptrons import MLP, course, gradcheck, train
from perceptrons.core.gradcheck import DEFAULT_H, H_RANGE, error_vs_h

gc = importlib.import_module("perceptrons.core.gradcheck")


def loop_central_differences(net, X, y, h):
    """The textbook oracle: perturb one entry, re-run the whole public loss, twice per entry."""
    out = {}
    for k, v in net.params.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            old = v[idx]
            v[idx] = old + h
            lp = net.loss(X, y)
            v[idx] = old - h
            lm = net.loss(X, y)
            v[idx] = old
            g[idx] = (lp - lm) / (2 * h)
        out[k] = g
    return out


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("sizes", [[2, 3], [3, 5, 2], [2, 4, 6, 3]])
def test_vectorised_differences_equal_the_loop(activation, sizes):
    rng = np.random.default_rng(len(sizes))
    net = MLP(sizes, activation=activation, seed=3)
    X = rng.standard_normal((7, sizes[0]))
    y = rng.integers(0, sizes[-1], 7)
    res = gradcheck(net, X, y)
    ref = loop_central_differences(net, X, y, 1e-5)
    for k in net.params:
        np.testing.assert_allclose(res.checks[k].numeric, ref[k], rtol=1e-6, atol=1e-9)
    assert res.passed
    assert res.max_rel_error < 1e-6


def test_passes_with_l2():
    net = MLP([2, 6, 3], activation="tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((5, 2))
    res = gradcheck(net, X, [0, 1, 2, 0, 1], alpha=0.3)
    assert res.passed and res.max_rel_error < 1e-7


def test_flags_an_entry_whose_perturbation_crosses_a_relu_kink():
    net = MLP([1, 1, 2], activation="relu")
    # pre-activation of the hidden unit is x * W0 + b0 = 1 * 0 + 0 = 0: on the kink
    net.params = {"W0": np.array([[0.0]]), "b0": np.array([0.0]), "W1": np.array([[1.0, -1.0]]), "b1": np.zeros(2)}
    res = gradcheck(net, np.array([[1.0]]), np.array([0]))
    assert res.checks["W0"].kink.all() and res.checks["b0"].kink.all()
    assert not res.checks["W1"].kink.any()
    # the numbers really disagree there (one-sided slope 0 against the average 0.25), and are excluded
    assert res.checks["W0"].rel_error.max() > 0.5
    assert res.passed
    assert res.n_kinks == 2


def test_table_lists_every_parameter():
    net = MLP([2, 3, 2], seed=0)
    text = str(gradcheck(net, np.ones((2, 2)), [0, 1]))
    for k in ("W0", "b0", "W1", "b1", "PASSED"):
        assert k in text


def test_passes_with_l1_and_l2():
    net = MLP([3, 5, 4], activation="sigmoid", seed=2)
    X = np.random.default_rng(2).standard_normal((6, 3))
    res = gradcheck(net, X, [0, 1, 2, 3, 0, 1], alpha=0.1, l1=0.05)
    assert res.passed and res.norm_rel_error < 1e-8


ACCEPTED_H = [H_RANGE[0], 3e-6, DEFAULT_H, H_RANGE[1]]


class OffByOnePercent(MLP):
    """A learner's network: its own loss_and_grads, wrong by 1 % in one entry."""

    entry: tuple = ("W0", (0, 0))

    def loss_and_grads(self, X, y, alpha=0.0, l1=0.0, sample_weight=None):
        loss, grads = super().loss_and_grads(X, y, alpha, l1, sample_weight)
        grads = {k: v.copy() for k, v in grads.items()}
        key, idx = self.entry
        grads[key][idx] *= 1.01
        return loss, grads


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("sizes", [[3, 8, 3], [4, 6, 5, 3]])
def test_a_one_percent_error_in_any_entry_of_a_subclass_fails_at_every_accepted_h(activation, sizes):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((12, sizes[0])), rng.integers(0, sizes[-1], 12)
    net = MLP(sizes, activation=activation, seed=5)
    _, g = net.loss_and_grads(X, y)
    for h in ACCEPTED_H:
        ok = gradcheck(net, X, y, h=h)
        assert ok.passed, (h, ok.max_rel_error)
        assert ok.max_rel_error > 0  # the errors are measured, not floored to zero
        resolvable = 100 * ok.atol  # below this no step tells 1 % of a gradient from roundoff
        for key, grad in g.items():
            for idx in np.ndindex(grad.shape):
                if abs(grad[idx]) <= resolvable or ok.checks[key].kink[idx]:
                    continue
                bad = OffByOnePercent(sizes, activation=activation, seed=5)
                bad.entry = (key, idx)
                res = gradcheck(bad, X, y, h=h)
                assert not res.passed, (h, key, idx, grad[idx])
                # the error carries the size of the bug: |0.01 a| / max(|1.01 a| + |a|, atol / rtol)
                a = abs(grad[idx])
                expected = 0.01 * a / max(2.01 * a, res.atol / res.rtol)
                assert res.checks[key].rel_error[idx] == pytest.approx(expected, rel=1e-3)
                assert res.checks[key].worst_index == idx


def test_the_planted_bug_is_named_in_the_table():
    net = OffByOnePercent([2, 8, 3], activation="tanh", seed=1)
    X = np.random.default_rng(1).standard_normal((10, 2))
    text = str(gradcheck(net, X, np.arange(10) % 3))
    assert "FAILED" in text and "W0[0, 0]" in text and "OffByOnePercent.loss_and_grads" in text


def test_the_objects_own_loss_is_differenced():
    """A subclass with another (consistent) loss passes: the differences are of its loss, not the library's."""

    class Doubled(MLP):
        def loss_and_grads(self, X, y, alpha=0.0, l1=0.0, sample_weight=None):
            loss, grads = super().loss_and_grads(X, y, alpha, l1, sample_weight)
            return 2 * loss + float(np.sum(self.params["b0"] ** 3)), {
                k: 2 * v + (3 * self.params["b0"] ** 2 if k == "b0" else 0) for k, v in grads.items()
            }

    X = np.random.default_rng(2).standard_normal((6, 3))
    net = Doubled([3, 4, 2], activation="tanh", seed=0)
    assert gradcheck(net, X, [0, 1, 0, 1, 1, 0]).passed


@pytest.mark.parametrize("h", [1e-12, 1e-8, 1e-3, 0.0, -1e-5, float("nan")])
def test_steps_outside_the_accepted_range_are_refused_with_the_reason(h):
    net = MLP([2, 3], seed=0)
    with pytest.raises((ValueError, TypeError), match="h must be"):
        gradcheck(net, np.ones((2, 2)), [0, 1], h=h)
    with pytest.raises((ValueError, TypeError), match="gradcheck_h must be"):
        train(net, np.ones((2, 2)), [0, 1], steps=2, gradcheck_every=1, gradcheck_h=h)


def test_a_five_percent_bug_cannot_pass_by_choosing_a_tiny_step():
    net = OffByOnePercent([2, 8, 3], activation="tanh", seed=1)
    X = np.random.default_rng(1).standard_normal((10, 2))
    with pytest.raises(ValueError, match="roundoff"):
        gradcheck(net, X, np.arange(10) % 3, h=1e-12)


def column_one_layer(params, x, y):
    """The course's single-layer loss and gradient written with its column-vector functions."""
    s = course.forward_one_layer(params["W"], params["b"], x)
    d_W, d_b = course.compute_grads_one_layer(s, x, y)
    return course.compute_loss(s, y), {"W": d_W, "b": d_b}


def test_functional_form_on_the_course_column_vectors_agrees_with_the_network_form():
    rng = np.random.default_rng(3)
    W, b, x = rng.standard_normal((4, 3)), rng.standard_normal((3, 1)), rng.standard_normal((4, 1))
    y = np.array([[0.0], [1.0], [0.0]])
    res = gradcheck(lambda p: column_one_layer(p, x, y), {"W": W, "b": b})
    assert res.passed and res.checks["b"].analytic.shape == (3, 1)
    net = MLP([4, 3], seed=0)
    net.params = {"W0": W, "b0": b.ravel()}
    ref = gradcheck(net, x.T, [1])
    assert res.loss == pytest.approx(ref.loss, rel=1e-14)
    np.testing.assert_allclose(res.checks["W"].analytic, ref.checks["W0"].analytic, rtol=1e-13)
    np.testing.assert_allclose(res.checks["b"].numeric.ravel(), ref.checks["b0"].numeric, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.checks["W"].numeric, ref.checks["W0"].numeric, rtol=1e-8, atol=1e-12)


def test_functional_form_with_a_list_and_a_planted_bug():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 3))

    def quad(p, bug=1.0):
        (v,) = p
        g = (A + A.T) @ v
        g[1, 0] *= bug
        return (v.T @ A @ v).item(), [g]

    v = rng.standard_normal((3, 1))
    assert gradcheck(quad, [v]).passed
    res = gradcheck(lambda p: quad(p, 1.01), [v])
    assert not res.passed and res.checks["params[0]"].worst_index == (1, 0)


def test_functional_form_names_a_gradient_of_the_wrong_shape():
    x, y = np.ones((2, 1)), np.array([[1.0], [0.0]])

    def flat_b(p):
        loss, g = column_one_layer(p, x, y)
        return loss, {"W": g["W"], "b": g["b"].ravel()}

    with pytest.raises(ValueError, match=r"shape \(2,\).*\(2, 1\)"):
        gradcheck(flat_b, {"W": np.eye(2), "b": np.zeros((2, 1))})


def test_error_vs_h_has_the_v_shape_of_truncation_against_roundoff():
    net = MLP([2, 5, 3], activation="tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((8, 2))
    y = np.arange(8) % 3
    e = error_vs_h(net, X, y, hs=np.logspace(-12, -1, 23))
    logh = np.log10(e.h)

    def slope(err, lo, hi):
        m = (logh >= lo) & (logh <= hi)
        return np.polyfit(logh[m], np.log10(err[m]), 1)[0]

    # truncation: O(h) forward, O(h^2) central; roundoff ~ eps / h on the left for both
    assert slope(e.forward, -4, -1) == pytest.approx(1, abs=0.15)
    assert slope(e.central, -3, -1) == pytest.approx(2, abs=0.15)
    assert slope(e.forward, -12, -9) == pytest.approx(-1, abs=0.3)
    assert slope(e.central, -12, -9) == pytest.approx(-1, abs=0.3)
    assert 1e-7 <= e.best_h["central"] <= 1e-4 and e.best_h["forward"] < e.best_h["central"]
    assert e.central.min() < 1e-9 < e.forward.min()
    # the default step sits at the bottom of the central V (within a factor 10 of the least error)
    assert e.central[np.argmin(abs(logh - np.log10(DEFAULT_H)))] < 10 * e.central.min()


def test_error_vs_h_of_a_wrong_gradient_has_a_flat_floor():
    net = OffByOnePercent([2, 5, 3], activation="tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((8, 2))
    e = error_vs_h(net, X, np.arange(8) % 3, hs=[1e-8, 1e-6, 1e-4])
    a = net.loss_and_grads(X, np.arange(8) % 3)[1]
    expected = 0.01 * abs(a["W0"][0, 0]) / np.sqrt(sum((v**2).sum() for v in a.values()))
    np.testing.assert_allclose(e.central, expected, rtol=0.05)


# -- sampled checks: a random subset of entries, for networks too large to difference whole ----------
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_sampled_check_differences_its_entries_exactly_as_the_loop_does(activation):
    rng = np.random.default_rng(11)
    sizes = [3, 7, 6, 4]
    net = MLP(sizes, activation=activation, seed=2)
    X, y = rng.standard_normal((9, 3)), rng.integers(0, 4, 9)
    res = gradcheck(net, X, y, sample=20, seed=5)
    ref = loop_central_differences(net, X, y, DEFAULT_H)
    _, analytic = net.loss_and_grads(X, y)
    total = sum(v.size for v in net.params.values())
    assert res.n_entries == total and 20 <= res.n_checked < total
    for k, c in res.checks.items():
        assert c.checked.sum() >= min(4, c.checked.size)  # every array sampled, biases included
        np.testing.assert_allclose(c.numeric[c.checked], ref[k][c.checked], rtol=1e-6, atol=1e-9)
        assert np.isnan(c.numeric[~c.checked]).all() and not c.kink[~c.checked].any()
        np.testing.assert_array_equal(c.analytic, analytic[k])
    assert res.passed and "sampled: " in str(res)
    again = gradcheck(net, X, y, sample=20, seed=5)  # the same seed draws the same entries
    assert all(np.array_equal(again.checks[k].checked, res.checks[k].checked) for k in res.checks)
    other = gradcheck(net, X, y, sample=20, seed=6)
    assert any(not np.array_equal(other.checks[k].checked, res.checks[k].checked) for k in res.checks)


def test_a_sampled_check_catches_a_bug_in_a_whole_array_however_small():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((12, 2)), rng.integers(0, 3, 12)

    class WrongBias(MLP):  # the learner forgot a factor in one bias gradient: every entry of b1 is off
        def loss_and_grads(self, X, y, alpha=0.0, l1=0.0, sample_weight=None):
            loss, grads = super().loss_and_grads(X, y, alpha, l1, sample_weight)
            return loss, {k: (1.05 * v if k == "b1" else v) for k, v in grads.items()}

    sizes = [2, 40, 40, 3]  # 1,883 parameters, of which b1 is 40
    assert gradcheck(MLP(sizes, activation="tanh", seed=0), X, y, sample=50, seed=1).passed
    for seed in range(5):
        res = gradcheck(WrongBias(sizes, activation="tanh", seed=0), X, y, sample=50, seed=seed)
        assert not res.passed and res.n_checked < 100
        assert max(res.per_param.items(), key=lambda kv: kv[1][0])[0] == "b1"


def test_a_sampled_functional_check_and_bad_sample_sizes():
    w = np.random.default_rng(0).standard_normal((30, 20))
    res = gradcheck(lambda p: (float(np.sum(np.sin(p["w"]))), {"w": np.cos(p["w"])}), {"w": w}, sample=25, seed=0)
    assert res.passed and res.n_checked == 25 and np.isnan(res.checks["w"].numeric).sum() == 600 - 25
    for bad in (0, -3, 2.5, True):
        with pytest.raises((ValueError, TypeError), match="sample must be"):
            gradcheck(MLP([2, 3], seed=0), np.ones((2, 2)), [0, 1], sample=bad)
