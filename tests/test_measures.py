"""Boundary measures against shapes worked by hand, an independent autodiff engine, and their own
convergence as the grid is refined (the issue's criterion: < 5 % change when the resolution doubles)."""

import autograd.numpy as anp
import contourpy
import matplotlib.pyplot as plt
import numpy as np
import pytest
from autograd import grad

from perceptrons import MLP, train
from perceptrons.datasets import circles
from perceptrons.measures import (
    boundary_measures,
    linear_regions,
    margin_and_normal,
    region_bound,
    trace_boundary,
)
from perceptrons.plotting import plot_decision_boundary, window_of

BOX = (-1.5, 1.5, -1.5, 1.5)


def _diamond() -> MLP:
    """m(x) = 1 - |x1| - |x2| with |t| = relu(t) + relu(-t): the boundary is the square |x1| + |x2| = 1."""
    net = MLP([2, 4, 2], activation="relu", seed=0)
    net.params["W0"] = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    net.params["b0"] = np.zeros(4)
    net.params["W1"] = np.column_stack([np.zeros(4), -np.ones(4)])
    net.params["b1"] = np.array([0.0, 1.0])
    return net


@pytest.mark.parametrize("resolution", [31, 400])
def test_diamond_boundary_measured_as_worked_by_hand(resolution):
    m = boundary_measures(_diamond(), BOX, resolution)
    assert m["length"] == pytest.approx(4 * np.sqrt(2), rel=1e-12)  # four sides of sqrt(2), corners included
    assert m["total_turning_deg"] == pytest.approx(360.0, abs=1e-9)  # four 90-degree corners
    assert m["turning_per_length_deg"] == pytest.approx(360 / (4 * np.sqrt(2)), rel=1e-12)
    assert (m["corners"], m["largest_corner_deg"], m["pieces"], m["curves"]) == (4, pytest.approx(90.0), 4, 1)
    assert m["corner_share"] == 1.0


def _one_unit(act: str, w, b: float, v: float, c: float) -> MLP:
    """m(x) = z_1 - z_0 = v f(w . x + b) + c."""
    net = MLP([2, 1, 2], activation=act, seed=0)
    net.params["W0"] = np.array(w, dtype=float).reshape(2, 1)
    net.params["b0"] = np.array([b])
    net.params["W1"] = np.array([[0.0, v]])
    net.params["b1"] = np.array([-c, 0.0])
    return net


@pytest.mark.parametrize(
    "act, level", [("relu", 0.4 / 1.6), ("leaky_relu", 0.4 / 1.6), ("tanh", np.arctanh(0.4 / 1.6))]
)
@pytest.mark.parametrize("resolution", [23, 400])
def test_one_unit_boundary_is_the_known_line(act, level, resolution):
    # v f(w . x + b) + c = 0 with v = 1.6, c = -0.4: f(w . x + b) = 0.25, the line w . x + b = f^-1(0.25)
    w, b = np.array([1.0, 2.0]), 0.3
    (curve,) = trace_boundary(_one_unit(act, w, b, 1.6, -0.4), BOX, resolution)
    v = curve.vertices
    np.testing.assert_allclose(v @ w + b, level, atol=1e-12)
    np.testing.assert_allclose(curve.normals, np.tile(w / np.linalg.norm(w), (len(v), 1)), atol=1e-12)
    # x1 + 2 x2 = level - 0.3 meets the box's sides x1 = -1.5 and 1.5 (|x2| < 1.5 there): edge to edge
    ends = v[[0, -1]][np.argsort(v[[0, -1], 0])]
    np.testing.assert_allclose(ends[:, 0], [-1.5, 1.5], atol=1e-12)
    np.testing.assert_allclose(ends[:, 1], (level - b - ends[:, 0]) / 2, atol=1e-12)
    assert not curve.closed
    m = boundary_measures(_one_unit(act, w, b, 1.6, -0.4), BOX, resolution)
    assert m["length"] == pytest.approx(3.0 * np.sqrt(5) / 2, rel=1e-12)  # dx2 = -dx1 / 2 over dx1 = 3
    assert m["corners"] == 0 and m["total_turning_deg"] == pytest.approx(0.0, abs=1e-9)


def _two_units() -> MLP:
    """m(x) = relu(x1) + relu(x2) - 1: x2 = 1 for x1 < 0, x1 + x2 = 1 between, x1 = 1 for x2 < 0."""
    net = MLP([2, 2, 2], activation="relu", seed=0)
    net.params["W0"] = np.eye(2)
    net.params["b0"] = np.zeros(2)
    net.params["W1"] = np.array([[0.0, 1.0], [0.0, 1.0]])
    net.params["b1"] = np.array([1.0, 0.0])
    return net


@pytest.mark.parametrize("resolution", [17, 37, 400])
def test_two_unit_relu_boundary_is_the_known_polyline(resolution):
    (curve,) = trace_boundary(_two_units(), BOX, resolution)
    # class 1 (m > 0) is up and to the right: walked with it on the left, from the left edge down to the bottom
    np.testing.assert_allclose(curve.vertices, [[-1.5, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, -1.5]], atol=1e-12)
    r = np.sqrt(0.5)
    np.testing.assert_allclose(curve.normals, [[0, 1], [r, r], [1, 0], [1, 0]], atol=1e-12)
    m = boundary_measures(_two_units(), BOX, resolution)
    assert m["length"] == pytest.approx(1.5 + np.sqrt(2) + 1.5, rel=1e-12)
    assert (m["corners"], m["pieces"], m["curves"]) == (2, 3, 1)
    assert m["largest_corner_deg"] == pytest.approx(45.0, abs=1e-9)


def _distance_to_curves(P, curves):
    """Distance of each point of P (M, 2) to the nearest traced segment."""
    best = np.full(len(P), np.inf)
    for c in curves:
        v = np.vstack([c.vertices, c.vertices[:1]]) if c.closed else c.vertices
        for s0, s1 in zip(v[:-1], v[1:]):
            d = s1 - s0
            t = np.clip((P - s0) @ d / (d @ d), 0.0, 1.0)
            best = np.minimum(best, np.hypot(*(P - s0 - t[:, None] * d).T))
    return best


def test_two_parallel_lines_are_two_curves():
    """m(x) = relu(x1) + relu(-x1) - 0.5 = |x1| - 0.5: the lines x1 = -0.5 and x1 = 0.5, class 1 outside."""
    net = MLP([2, 2, 2], activation="relu", seed=0)
    net.params["W0"] = np.array([[1.0, -1.0], [0.0, 0.0]])
    net.params["b0"] = np.zeros(2)
    net.params["W1"] = np.array([[0.0, 1.0], [0.0, 1.0]])
    net.params["b1"] = np.array([0.5, 0.0])
    curves = sorted(trace_boundary(net, BOX, 50), key=lambda c: c.vertices[0, 0])
    # walked with class 1 (outside) on the left: up the left line (west on the left), down the right one
    np.testing.assert_allclose(curves[0].vertices, [[-0.5, -1.5], [-0.5, 1.5]], atol=1e-12)
    np.testing.assert_allclose(curves[1].vertices, [[0.5, 1.5], [0.5, -1.5]], atol=1e-12)
    m = boundary_measures(net, BOX, 50)
    assert (m["curves"], m["pieces"], m["corners"]) == (2, 2, 0) and m["length"] == pytest.approx(6.0, rel=1e-12)


def test_deep_relu_trace_lies_on_the_boundary_and_misses_none_of_it():
    """A random 2-8-8-2 ReLU network: every traced piece is on the boundary (m = 0 all along it, class 1
    on its left), and every point of a finer grid's contour (contourpy, independent) is within a grid
    spacing of the trace."""
    net = MLP([2, 8, 8, 2], activation="relu", init="normal", seed=4)
    curves = trace_boundary(net, BOX, 200)
    assert curves
    for c in curves:
        v = np.vstack([c.vertices, c.vertices[:1]]) if c.closed else c.vertices
        t = np.linspace(0.0, 1.0, 7)[:, None, None]
        pts = (v[:-1] * (1 - t) + v[1:] * t).reshape(-1, 2)
        np.testing.assert_allclose(net.forward(pts) @ [-1.0, 1.0], 0.0, atol=1e-9)
        d = np.diff(v, axis=0)
        left = 0.5 * (v[:-1] + v[1:]) + 1e-6 * np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(*d.T)[:, None]
        assert (net.predict_proba(left)[:, 1] > 0.5).all()
    res = 700
    gx, gy = np.meshgrid(np.linspace(-1.5, 1.5, res), np.linspace(-1.5, 1.5, res))
    grid_m = (net.forward(np.column_stack([gx.ravel(), gy.ravel()])) @ [-1.0, 1.0]).reshape(gx.shape)
    P = np.vstack(contourpy.contour_generator(gx, gy, grid_m).lines(0.0))
    assert _distance_to_curves(P, curves).max() < 3.0 / (res - 1)


def test_smooth_trace_vertices_are_moved_onto_the_boundary():
    net = MLP([2, 7, 5, 2], activation="tanh", init="normal", seed=3)
    net.params["b2"] = net.params["b2"] - [0.0, float((net.forward(np.zeros((1, 2))) @ [-1.0, 1.0])[0])]  # m(0) = 0
    curves = trace_boundary(net, BOX, 60)
    assert curves
    for c in curves:
        np.testing.assert_allclose(net.forward(c.vertices) @ [-1.0, 1.0], 0.0, atol=1e-12)
        _, n = margin_and_normal(net, c.vertices)
        np.testing.assert_array_equal(c.normals, n)


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


def test_drawn_boundary_is_the_traced_polyline_and_a_three_class_one_is_on_its_lines():
    fig, ax = plt.subplots()
    X, y = np.array([[-1.0, -1.0], [1.0, 1.0]]), np.array([0, 1])
    plot_decision_boundary(_two_units(), X, y, ax=ax, window=BOX, resolution=29, legend=False)
    (line,) = [ln for ln in ax.lines if ln.get_color() == "k"]
    np.testing.assert_allclose(line.get_xydata(), [[-1.5, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, -1.5]], atol=1e-12)
    # three classes, tanh: a smooth boundary that a grid contour misses by O(h^2), refined onto z_c = z_k
    net = MLP([2, 6, 3], activation="tanh", init="normal", seed=2)
    ax.clear()
    plot_decision_boundary(net, X, y, ax=ax, window=BOX, resolution=41, legend=False)
    pts = np.vstack([ln.get_xydata() for ln in ax.lines if ln.get_color() == "k"])
    z = np.sort(net.forward(pts), axis=1)
    away = z[:, 1] - z[:, 0] > 0.2  # not where the third class ties too (a chord across a junction's cell)
    assert away.sum() > 0.8 * len(pts)
    np.testing.assert_allclose((z[:, 2] - z[:, 1])[away], 0.0, atol=1e-10)
    plt.close(fig)
