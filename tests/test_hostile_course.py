"""The course functions under wrong shapes, dtypes, empty arrays and NaN: the documented convention (columns; a
1-D vector is a column) checked on cases worked by hand, and a clear error naming the shape expected otherwise."""

import math

import numpy as np
import pytest

from perceptrons import course
from perceptrons.datasets import one_hot

LN2 = math.log(2.0)


# -- softmax: hand-worked values and the row/column convention --------------------------------------
def test_softmax_by_hand():
    # e^0 : e^ln2 = 1 : 2
    np.testing.assert_allclose(course.softmax(np.array([[0.0], [LN2]])), [[1 / 3], [2 / 3]], rtol=1e-15)
    # each column on its own: (0, ln 3) -> (1/4, 3/4); (5, 5) -> (1/2, 1/2)
    np.testing.assert_allclose(
        course.softmax(np.array([[0.0, 5.0], [math.log(3.0), 5.0]])), [[0.25, 0.5], [0.75, 0.5]], rtol=1e-15
    )
    # a 1-D vector is one vector of scores, and keeps its shape
    out = course.softmax(np.array([0.0, LN2, LN2]))
    assert out.shape == (3,)
    np.testing.assert_allclose(out, [0.2, 0.4, 0.4], rtol=1e-15)
    # -inf is a class of probability 0; a single score has probability 1
    np.testing.assert_array_equal(course.softmax(np.array([[-np.inf], [3.0]])), [[0.0], [1.0]])
    np.testing.assert_array_equal(course.softmax(np.array([[7.0]])), [[1.0]])
    # integers are scores too
    np.testing.assert_allclose(course.softmax(np.array([[1], [1]])), [[0.5], [0.5]])


@pytest.mark.parametrize(
    "y, exc, words",
    [
        (np.array([[1.0, 2.0, 3.0]]), ValueError, r"shape \(1, 3\), a row.*y\.T"),
        (np.zeros((2, 2, 2)), ValueError, r"shape \(2, 2, 2\)"),
        (np.float64(1.0), ValueError, r"shape \(\)"),
        (np.zeros((0, 1)), ValueError, r"empty \(shape \(0, 1\)\)"),
        (np.array([[np.nan], [1.0]]), ValueError, "NaN or \\+inf"),
        (np.array([[np.inf], [1.0]]), ValueError, "NaN or \\+inf"),
        (np.array([[-np.inf], [-np.inf]]), ValueError, "all -inf"),
        (np.array([["a"], ["b"]]), TypeError, "real numbers.*<U1"),
        (np.array([[1 + 2j], [0j]]), TypeError, "complex128"),
        (np.array([[None], [1.0]], dtype=object), TypeError, "object"),
    ],
)
def test_softmax_refuses_what_has_no_softmax(y, exc, words):
    with pytest.raises(exc, match=words):
        course.softmax(y)


# -- the one-layer functions -------------------------------------------------------------------------
W = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.5]])  # (INPUT_SHAPE 2, N_CLASSES 3)
B = np.array([[0.0], [0.0], [1.0]])
X1 = np.array([[1.0], [2.0]])  # logits W.T x + b = (1, 2, 1)
Y1 = np.array([[0.0], [1.0], [0.0]])


def test_forward_and_loss_by_hand_with_1d_columns():
    e = np.exp([1.0, 2.0, 1.0])
    s = course.forward_one_layer(W, B.ravel(), X1.ravel())  # 1-D b and x are columns
    np.testing.assert_allclose(s, (e / e.sum())[:, None], rtol=1e-15)
    assert course.compute_loss(s.ravel(), Y1.ravel()) == pytest.approx(math.log(e.sum()) - 2.0, rel=1e-14)
    # probability exactly 0 for the true class: the loss is its limit, +inf
    assert course.compute_loss(np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])) == math.inf


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (
            lambda: course.forward_one_layer(W, B, X1.T),
            ValueError,
            r"x must be a column .*\(2, 1\).*got shape \(1, 2\): that is a row; pass x.T",
        ),
        (
            lambda: course.forward_one_layer(W, B.T, X1),
            ValueError,
            r"b must be a column .*\(3, 1\).*got shape \(1, 3\): that is a row",
        ),
        (
            lambda: course.forward_one_layer(W.T, B, X1),
            ValueError,
            r"b must be a column \(N_CLASSES, 1\) = \(2, 1\), as W is \(3, 2\)",
        ),
        (
            lambda: course.forward_one_layer(W, B, np.ones((3, 1))),
            ValueError,
            r"x must be .*\(2, 1\).*got shape \(3, 1\)",
        ),
        (
            lambda: course.forward_one_layer(W.ravel(), B, X1),
            ValueError,
            r"W must be a matrix \(INPUT_SHAPE, N_CLASSES\), got an array of shape \(6,\)",
        ),
        (
            lambda: course.forward_one_layer(W, B, np.array([[np.nan], [1.0]])),
            ValueError,
            r"x holds NaN or infinite values \(the first at index \[0, 0\]",
        ),
        (lambda: course.forward_one_layer(W, B, np.zeros((2, 0))), ValueError, r"x is empty"),
        (
            lambda: course.forward_one_layer(W, B, np.array([["1"], ["2"]])),
            TypeError,
            r"x must be an array of real numbers",
        ),
        (lambda: course.compute_loss(np.ones((3, 2)) / 3, np.eye(3)[:, :2]), ValueError, "one sample"),
        (lambda: course.compute_loss(np.array([[0.5], [0.5]]), np.array([[0.5], [0.5]])), ValueError, "one-hot"),
        (
            lambda: course.compute_loss(np.array([[2.0], [-1.0]]), np.array([[1.0], [0.0]])),
            ValueError,
            r"probabilities in \[0, 1\]",
        ),
        (
            lambda: course.compute_loss(np.array([[0.5], [0.5]]), np.array([[1.0, 0.0]])),
            ValueError,
            r"y must be one-hot columns of softmaxed's shape \(2, 1\), got shape \(1, 2\)",
        ),
        (
            lambda: course.compute_grads_one_layer(np.ones((3, 1)) / 3, np.ones((2, 2)), Y1),
            ValueError,
            r"x must be columns \(INPUT_SHAPE, 1\)",
        ),
        (lambda: course.approx_grad_W(W, B, X1, Y1.T), ValueError, r"y must be one-hot columns \(3, 1\)"),
    ],
)
def test_one_layer_shape_errors_name_the_expected_shape(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_several_columns_are_several_samples():
    """x (INPUT_SHAPE, M): column m is sample m, the same as calling with that column alone."""
    Xm = np.array([[1.0, -2.0, 0.5], [2.0, 0.0, 4.0]])
    s = course.forward_one_layer(W, B, Xm)
    for m in range(3):
        np.testing.assert_allclose(s[:, [m]], course.forward_one_layer(W, B, Xm[:, [m]]), rtol=1e-15)
    Ym = np.eye(3)[:, [1, 0, 2]]
    dW, db = course.compute_grads_one_layer(s, Xm, Ym)
    np.testing.assert_allclose(dW, sum(Xm[:, [m]] @ (s[:, [m]] - Ym[:, [m]]).T for m in range(3)), rtol=1e-14)
    # the mean loss's gradient over the three samples = the summed per-sample gradients / 3
    np.testing.assert_allclose(course.approx_grad_W(W, B, Xm, Ym, h=1e-6), dW / 3, rtol=1e-6, atol=1e-9)


# -- elementwise functions: any shape, NumPy's NaN convention ----------------------------------------
def test_elementwise_functions_keep_shape_and_nan():
    for f, x, want in (
        (course.relu, [[-1.0, np.nan], [2.0, 0.0]], [[0.0, np.nan], [2.0, 0.0]]),
        (course.tanh, [np.nan, 0.0], [np.nan, 0.0]),
        (course.d_tanh_hidden, [[0.5]], [[0.75]]),
        (course.d_relu, 3.0, 1.0),
    ):
        np.testing.assert_array_equal(f(np.array(x)), np.array(want))
    assert course.relu(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(TypeError, match="x must hold real numbers, got dtype <U"):
        course.relu(np.array(["1"]))


# -- the two-layer functions ---------------------------------------------------------------------------
Wh = np.array([[1.0, -1.0], [0.5, 2.0]])  # (2 inputs, 2 hidden)
BH = np.array([[0.0], [-1.0]])
WO = np.array([[1.0, 0.0], [0.0, 1.0]])  # (2 hidden, 2 classes)
BO = np.zeros((2, 1))


def test_two_layers_by_hand():
    # x = (2, 1): hidden pre-activation (2 + 0.5, -2 + 2 - 1) = (2.5, -1) -> relu (2.5, 0); out (2.5, 0)
    s, h, out = course.forward_two_layers(WO, BO, Wh, BH, np.array([2.0, 1.0]))
    np.testing.assert_array_equal(h, [[2.5], [0.0]])
    np.testing.assert_array_equal(out, [[2.5], [0.0]])
    np.testing.assert_allclose(s, [[1 / (1 + math.exp(-2.5))], [1 / (1 + math.exp(2.5))]], rtol=1e-15)
    y = np.array([[0.0], [1.0]])
    dWo, dbo, dWh, dbh = course.compute_grads_two_layers(h, s, WO, np.array([[2.0], [1.0]]), y)
    # d_bh = Wo (s - y) * 1[h > 0]: only the first hidden unit is active
    np.testing.assert_allclose(dbh, [[s[0, 0]], [0.0]], rtol=1e-15)


@pytest.mark.parametrize(
    "call, words",
    [
        (
            lambda: course.forward_two_layers(WO, BO, Wh, BH, np.array([[2.0, 1.0]])),
            r"x must be .*\(2, 1\).*that is a row",
        ),
        (
            lambda: course.forward_two_layers(WO, BO, Wh, BH.T, np.ones((2, 1))),
            r"bh must be a column \(N_HIDDEN, 1\) = \(2, 1\)",
        ),
        (
            lambda: course.forward_two_layers(np.ones((3, 2)), BO, Wh, BH, np.ones((2, 1))),
            r"Wo must be a matrix \(N_HIDDEN, N_CLASSES\) with 2 rows",
        ),
        (
            lambda: course.forward_two_layers(WO, np.zeros((3, 1)), Wh, BH, np.ones((2, 1))),
            r"bo must be a column \(N_CLASSES, 1\) = \(2, 1\)",
        ),
        (
            lambda: course.compute_grads_two_layers(
                np.ones((3, 1)), np.ones((2, 1)) / 2, WO, np.ones((2, 1)), np.eye(2)[:, [0]]
            ),
            r"hidden must be the hidden columns \(2, 1\)",
        ),
    ],
)
def test_two_layer_shape_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# -- the training loops: data as rows, one-hot targets --------------------------------------------------
def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    y = (X[:, 0] > 0).astype(int)
    return X, one_hot(y), X[:6], one_hot(y[:6])


@pytest.mark.parametrize(
    "edit, words",
    [
        (
            lambda d: (d[0], d[1].argmax(axis=1), d[2], d[3]),
            r"Y_train must be one-hot rows \(N, N_CLASSES\), got shape \(20,\); from integer labels, np.eye",
        ),
        (
            lambda d: (d[0].T, d[1], d[2], d[3]),
            r"Y_train must be one-hot rows \(2, N_CLASSES\), one per row of X_train, got shape \(20, 2\)",
        ),
        (lambda d: (d[0], d[1] * 2, d[2], d[3]), r"Y_train must be one-hot rows"),
        (
            lambda d: (d[0], d[1], d[2][:, :1], d[3]),
            r"X_test must be rows of samples \(N_test, 2\), as X_train, got shape \(6, 1\)",
        ),
        (lambda d: (d[0], d[1], d[2], d[3][:5]), r"Y_test must be one-hot rows \(6, 2\)"),
        (lambda d: (np.where(d[0] > 1, np.nan, d[0]), d[1], d[2], d[3]), "X_train holds NaN"),
        (lambda d: (d[0][:0], d[1][:0], d[2], d[3]), "X_train is empty"),
    ],
)
@pytest.mark.parametrize("which", ["one", "two"])
def test_training_data_errors(edit, words, which):
    args = edit(_data())
    with pytest.raises(ValueError, match=words):
        if which == "one":
            course.train_one_layer(*args, 0.1, n_it=5)
        else:
            course.train_two_layer(*args, 0.1, 3, n_it=5)


@pytest.mark.parametrize(
    "kw, words", [(dict(n_it=0), "n_it"), (dict(test_freq=-1), "test_freq"), (dict(n_hidden=0), "n_hidden")]
)
def test_training_counts_must_be_positive(kw, words):
    args = {"n_hidden": 3, "n_it": 5, **kw}
    with pytest.raises(ValueError, match=words):
        course.train_two_layer(*_data(), 0.1, **args)
