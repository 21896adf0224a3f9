"""Data sets: shapes, balance, reproducibility, the split, one-hot, CSV loading and its errors."""

import numpy as np
import pytest

from perceptrons import datasets as D


@pytest.mark.parametrize("name", sorted(D.DATASETS))
def test_generators_shape_dtype_balance_and_seed(name):
    X, y = D.make(name, n=101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64 and y.shape == (101,) and y.dtype.kind == "i"
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    X2, y2 = D.make(name, n=101, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, D.make(name, n=101, seed=4)[0])


def test_blobs_and_spiral_classes():
    assert set(D.blobs(50, k=5, seed=0)[1]) == set(range(5))
    assert set(D.spiral(60, k=3, seed=0)[1]) == {0, 1, 2}
    assert D.blobs(20, k=2, d=7, seed=0)[0].shape == (20, 7)


def test_circles_radii_without_noise():
    X, y = D.circles(200, noise=0.0, seed=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.5)


def test_stratified_split_keeps_class_shares():
    X, y = D.blobs(300, k=3, seed=0)
    Xtr, Xte, ytr, yte = D.train_test_split(X, y, test_size=0.2, seed=0)
    assert list(np.bincount(yte)) == [20, 20, 20] and len(ytr) == 240
    assert not set(map(tuple, Xtr)) & set(map(tuple, Xte))


def test_one_hot():
    np.testing.assert_array_equal(D.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_load_csv_any_labels(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,kind\n1,2,cat\n3.5,-1,dog\n0,0,cat\n")
    X, y, classes = D.load_csv(p, label="kind")
    np.testing.assert_array_equal(X, [[1, 2], [3.5, -1], [0, 0]])
    assert list(classes[y]) == ["cat", "dog", "cat"]
    p.write_text("lab,a,b\n2,1,2\n-1,3.5,-1\n2,0,0\n")
    X, y, classes = D.load_csv(p, label=0)
    np.testing.assert_array_equal(X, [[1, 2], [3.5, -1], [0, 0]])
    assert classes.tolist() == [-1, 2] and y.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    "text, words",
    [
        ("a,b,y\n1,2,0\n1,x,1\n", r"line 3, column 2 \('b'\): expected a number, found 'x'"),
        ("a,b,y\n1,,0\n", r"line 2, column 2 .*<empty>"),
        ("a,b,y\n1,2,0\n1,2\n", r"line 3: expected 3 cells"),
        ("a,b,y\n1,nan,0\n", r"line 2, column 2 .*finite"),
        ("a,b,y\n", "at least one data row"),
        ("a,b,y\n1,2,\n", "label is missing"),
    ],
)
def test_load_csv_errors_name_line_and_column(tmp_path, text, words):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=words):
        D.load_csv(p, label="y")


def test_bad_generator_arguments():
    with pytest.raises(ValueError, match="too small"):
        D.blobs(2, k=3)
    with pytest.raises(ValueError, match="noise"):
        D.moons(10, noise=-1)
    with pytest.raises(TypeError, match="seed"):
        D.moons(10, seed="a")
    with pytest.raises(ValueError, match="unknown data set"):
        D.make("swiss")
