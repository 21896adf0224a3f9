"""Toy data sets for 2-D classification (and two for regression), a stratified split, one-hot coding and CSV loading.

Every generator takes ``n`` (total samples, split as evenly as possible between classes),
``noise`` and ``seed`` (int or ``numpy.random.Generator``) and returns ``X`` of shape (n, D),
float64, and integer labels ``y`` of shape (n,), rows in random order.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .core.validation import as_generator, check_positive

Array = NDArray[Any]
Seed = int | np.random.Generator | None


def _counts(n: int, k: int) -> list[int]:
    check_positive("n", n, integer=True)
    check_positive("number of classes", k, integer=True)
    if n < k:
        raise ValueError(f"n={n} is too small for {k} classes; pass n >= {k}.")
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _finish(parts: list[Array], rng: np.random.Generator) -> tuple[Array, NDArray[np.intp]]:
    X = np.concatenate(parts).astype(np.float64)
    y = np.concatenate([np.full(len(p), c, dtype=np.intp) for c, p in enumerate(parts)])
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order]), y[order]


def blobs(
    n: int = 300, k: int = 3, noise: float = 1.0, seed: Seed = None, d: int = 2
) -> tuple[Array, NDArray[np.intp]]:
    """``k`` isotropic Gaussian clusters of standard deviation ``noise`` in ``d`` dimensions.

    In 2-D the centres sit evenly on a circle of radius 5 (a random rotation), so for the default
    noise the classes are linearly separable; in higher dimension they are N(0, 5^2) draws.
    """
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    check_positive("d", d, integer=True)
    counts = _counts(n, k)
    if d == 2:
        angle = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(k) / k
        centres = 5.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        centres = 5.0 * rng.standard_normal((k, d))
    return _finish([centres[c] + noise * rng.standard_normal((m, d)) for c, m in enumerate(counts)], rng)


def moons(n: int = 300, noise: float = 0.2, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """Two interleaving half circles (class 0 on top), plus Gaussian noise of std ``noise``."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    a, b = _counts(n, 2)
    t0 = np.linspace(0, np.pi, a)
    t1 = np.linspace(0, np.pi, b)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    upper += noise * rng.standard_normal(upper.shape)
    lower += noise * rng.standard_normal(lower.shape)
    return _finish([upper, lower], rng)


def circles(n: int = 300, noise: float = 0.1, seed: Seed = None, factor: float = 0.5) -> tuple[Array, NDArray[np.intp]]:
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1), plus noise."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}.")
    a, b = _counts(n, 2)
    parts = []
    for m, r in ((a, 1.0), (b, factor)):
        t = rng.uniform(0, 2 * np.pi, m)
        parts.append(r * np.stack([np.cos(t), np.sin(t)], axis=1) + noise * rng.standard_normal((m, 2)))
    return _finish(parts, rng)


def xor(n: int = 300, noise: float = 0.1, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """Points uniform in [-1, 1]^2, class 1 where x0 * x1 < 0 (the XOR pattern), then jittered."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    parts = []
    for c, m in enumerate(_counts(n, 2)):
        pts = rng.uniform(0.05, 1.0, (m, 2)) * rng.choice([-1.0, 1.0], size=(m, 1))
        if c == 1:
            pts[:, 1] *= -1
        parts.append(pts + noise * rng.standard_normal((m, 2)))
    return _finish(parts, rng)


def spiral(n: int = 300, k: int = 2, noise: float = 0.1, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """``k`` interleaved spiral arms of about 1.5 turns, radius growing from 0 to 1."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    parts = []
    for c, m in enumerate(_counts(n, k)):
        r = np.linspace(0.05, 1.0, m)
        t = 3 * np.pi * r + 2 * np.pi * c / k
        parts.append(r[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1) + noise * rng.standard_normal((m, 2)))
    return _finish(parts, rng)


def gaussian(n: int = 300, noise: float = 0.5, seed: Seed = None) -> tuple[Array, NDArray[np.intp]]:
    """Two Gaussian clusters centred at (1, 1) and (-1, -1), std ``noise``."""
    rng = as_generator(seed)
    check_positive("noise", noise, allow_zero=True)
    return _finish([c + noise * rng.standard_normal((m, 2)) for c, m in zip((1.0, -1.0), _counts(n, 2))], rng)


def plane(n: int = 300, noise: float = 0.05, seed: Seed = None) -> tuple[Array, Array]:
    """Regression: points uniform in [-1, 1]^2, target ``(x0 + x1) / 2`` plus Gaussian noise (float ``y``)."""
    rng = as_generator(seed)
    check_positive("n", n, integer=True)
    check_positive("noise", noise, allow_zero=True)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    return X, (X[:, 0] + X[:, 1]) / 2 + noise * rng.standard_normal(n)


def bumps(n: int = 300, noise: float = 0.05, seed: Seed = None) -> tuple[Array, Array]:
    """Regression: points uniform in [-1, 1]^2, target a sum of four Gaussian bumps of signs + - + -
    (centres (+-0.5, +-0.5), width 0.35) plus Gaussian noise; not linear, so depth matters."""
    rng = as_generator(seed)
    check_positive("n", n, integer=True)
    check_positive("noise", noise, allow_zero=True)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    y = np.zeros(n)
    for cx, cy, sign in ((0.5, 0.5, 1.0), (-0.5, 0.5, -1.0), (-0.5, -0.5, 1.0), (0.5, -0.5, -1.0)):
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / (2 * 0.35**2))
    return X, y + noise * rng.standard_normal(n)


DATASETS = {"blobs": blobs, "moons": moons, "circles": circles, "xor": xor, "spiral": spiral, "gaussian": gaussian}
REGRESSION = {"plane": plane, "bumps": bumps}  # float targets, for the identity head


def make(
    name: str, n: int = 300, noise: float | None = None, seed: Seed = None, **kw: Any
) -> tuple[Array, NDArray[np.intp]]:
    """Build a data set by name (``perceptrons.datasets.DATASETS``), with its default noise if None."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)} or load a CSV.")
    if noise is not None:
        kw["noise"] = noise
    return DATASETS[name](n=n, seed=seed, **kw)  # type: ignore[operator]


def train_test_split(
    X: Any, y: Any, test_size: float = 0.25, seed: Seed = None, stratify: bool = True
) -> tuple[Array, Array, NDArray[Any], NDArray[Any]]:
    """Split into (X_train, X_test, y_train, y_test); stratified by default (class shares kept).

    ``test_size`` is a fraction in (0, 1). Each class contributes ``round(test_size * count)`` test
    samples (at least one training sample is kept per class).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y have different lengths: {X.shape[0]} and {y.shape[0]}.")
    if not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}.")
    rng = as_generator(seed)
    n = y.shape[0]
    if stratify:
        test_idx = []
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            m = min(int(round(test_size * members.size)), members.size - 1)
            test_idx.append(members[:m])
        test = np.sort(np.concatenate(test_idx))
    else:
        test = np.sort(rng.permutation(n)[: int(round(test_size * n))])
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return X[~mask], X[mask], y[~mask], y[mask]


def one_hot(y: Any, n_classes: int | None = None) -> Array:
    """Integer labels (N,) -> one-hot rows (N, C) of float64."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"one_hot expects integer labels of shape (N,), got dtype {y.dtype}, shape {y.shape}.")
    c = int(y.max()) + 1 if n_classes is None else n_classes
    if y.size and (y.min() < 0 or y.max() >= c):
        raise ValueError(f"labels must lie in [0, {c}), got values from {y.min()} to {y.max()}.")
    out = np.zeros((y.size, c))
    out[np.arange(y.size), y] = 1.0
    return out


def load_csv(path: str | Path, label: str | int = -1) -> tuple[Array, NDArray[np.intp], NDArray[Any]]:
    """Read a CSV with a header row, numeric features and one label column of any values.

    Parameters
    ----------
    path : the file
    label : the label column, by header name or by index (default: the last column)

    Returns
    -------
    X : (N, D) float64; y : (N,) integer codes; classes : (C,) the label values, ``classes[y]``
    recovers them (sorted; numeric when every label is a number).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"CSV file {str(path)!r} does not exist or is not a file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; save the data as CSV (UTF-8) first.") from None
    return parse_csv(text, label, name=str(path))


def parse_csv(text: str, label: str | int = -1, name: str = "CSV") -> tuple[Array, NDArray[np.intp], NDArray[Any]]:
    """:func:`load_csv` for text already in memory (the playground's uploads); ``name`` is used in errors."""
    path = name
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc}).") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header row and at least one data row, found {len(rows)} non-empty rows.")
    header = [h.strip() for h in rows[0]]
    width = len(header)
    if width < 2:
        raise ValueError(f"{path}: expected at least two columns (features and a label), the header has {width}.")
    if isinstance(label, str):
        if label not in header:
            raise ValueError(f"{path}: no column named {label!r}; the header has {header}.")
        li = header.index(label)
    else:
        if not -width <= label < width:
            raise ValueError(f"{path}: label column index {label} is out of range for {width} columns.")
        li = label % width
    feats = [j for j in range(width) if j != li]
    X = np.empty((len(rows) - 1, len(feats)))
    labels = []
    for r, row in enumerate(rows[1:]):
        line = r + 2
        if len(row) != width:
            raise ValueError(
                f"{path}, line {line}: expected {width} cells like the header, found {len(row)} (a ragged row)."
            )
        for c, j in enumerate(feats):
            cell = row[j].strip()
            try:
                val = float(cell)
            except ValueError:
                val = math.nan
                cell = cell or "<empty>"
                raise ValueError(
                    f"{path}, line {line}, column {j + 1} ({header[j]!r}): expected a number, found {cell!r}."
                ) from None
            if not math.isfinite(val):
                raise ValueError(
                    f"{path}, line {line}, column {j + 1} ({header[j]!r}): expected a finite number, found {cell!r}."
                )
            X[r, c] = val
        lab = row[li].strip()
        if not lab:
            raise ValueError(f"{path}, line {line}, column {li + 1} ({header[li]!r}): the label is missing.")
        labels.append(lab)
    try:
        nums = np.array([float(v) for v in labels])
        values: NDArray[Any] = nums.astype(np.int64) if np.all(nums == np.round(nums)) else nums
    except ValueError:
        values = np.array(labels)
    classes, y = np.unique(values, return_inverse=True)
    return X, y.astype(np.intp), classes
