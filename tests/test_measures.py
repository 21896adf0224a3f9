"""Boundary measures against shapes worked by hand, an independent autodiff engine, and their own
convergence as the grid is refined (the issue's criterion: < 5 % change when the resolution doubles)."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from perceptrons import MLP, train
from perceptrons.datasets import circles
from perceptrons.measures import boundary_measures, linear_regions, margin_and_normal, region_bound
from perceptrons.plotting import window_of

BOX = (-1.5, 1.5, -1.5, 1.5)


def _diamond() -> MLP:
    """m(x) = 1 - |x1| - |x2| with |t| = relu(t) + relu(-t): the boundary is the square |x1| + |x2| = 1."""
    net = MLP([2, 4, 2], activation="relu", seed=0)
    net.params["W0"] = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    net.params["b0"] = np.zeros(4)
    net.params["W1"] = np.column_stack([np.zeros(4), -np.ones(4)])
    net.params["b1"] = np.array([0.0, 1.0])
    return net


def test_diamond_boundary_measured_as_worked_by_hand():
    m = boundary_measures(_diamond(), BOX, 400)
    assert m["length"] == pytest.approx(4 * np.sqrt(2), rel=5e-3)  # four sides of sqrt(2); the trace cuts corners
    assert m["total_turning_deg"] == pytest.approx(360.0, abs=1e-6)  # four 90-degree corners
    assert m["turning_per_length_deg"] == pytest.approx(360 / (4 * np.sqrt(2)), rel=5e-3)
    assert (m["corners"], m["largest_corner_deg"], m["pieces"], m["curves"]) == (4, pytest.approx(90.0), 4, 1)
    assert m["corner_share"] == 1.0


def test_three_lines_in_general_position_make_seven_regions():
    net = MLP([2, 3, 2], activation="relu", seed=0)
    net.params["W0"] = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])  # x1 = 0, x2 = 0, x1 + x2 = 0.5
    net.params["b0"] = np.array([0.0, 0.0, -0.5])
    assert region_bound(3) == 7
    assert linear_regions(net, BOX, 300) == 7


def test_normal_is_the_autograd_gradient_of_the_logit_difference():
    net = MLP([2, 7, 5, 2], activation="tanh", seed=3)
    p = {k: np.array(v) for k, v in net.params.items()}

    def margin(x):
        h = anp.tanh(anp.dot(x, p["W0"]) + p["b0"])
        h = anp.tanh(anp.dot(h, p["W1"]) + p["b1"])
        z = anp.dot(h, p["W2"]) + p["b2"]
        return z[1] - z[0]

    pts = np.random.default_rng(0).normal(size=(20, 2))
    m, n = margin_and_normal(net, pts)
    for x, mi, ni in zip(pts, m, n):
        g = grad(margin)(x)
        assert mi == pytest.approx(margin(x), abs=1e-12)
        np.testing.assert_allclose(ni, g / np.linalg.norm(g), atol=1e-10)


@pytest.fixture(scope="module")
def trained():
    X, y = circles(300, noise=0.1, seed=0)
    nets = {}
    for act in ("relu", "tanh"):
        net = MLP([2, 15, 2], activation=act, seed=1)
        train(net, X, y, optimizer="adam", lr=0.02, batch_size=32, sampling="epochs", epochs=150, seed=1)
        nets[act] = net
    return nets, window_of(X)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_measures_converge_as_the_grid_is_refined(trained, act):
    nets, window = trained
    coarse, fine = (boundary_measures(nets[act], window, r) for r in (400, 800))
    assert fine["turning_per_length_deg"] == pytest.approx(coarse["turning_per_length_deg"], rel=0.05)
    assert fine["length"] == pytest.approx(coarse["length"], rel=0.05)
    assert fine["corner_share"] == pytest.approx(coarse["corner_share"], abs=0.05)
    if act == "relu":  # every turn of a piecewise-linear boundary is at a corner
        assert fine["corner_share"] > 0.95
        assert fine["largest_corner_deg"] == pytest.approx(coarse["largest_corner_deg"], rel=0.05)
    else:  # a smooth boundary has none
        assert fine["corner_share"] == 0.0 and fine["corners"] == 0
