"""Input checks shared by every entry point.

Each check raises ``ValueError``/``TypeError`` with a message that says what was expected, what
arrived and how to fix it. Never ``assert``: it vanishes under ``python -O``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``seed`` (an int, a Generator or None for fresh entropy) into a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be an int, a numpy.random.Generator or None, got {type(seed).__name__} "
            f"{seed!r}; pass e.g. seed=0."
        )
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}; pass e.g. seed=0.")
    return np.random.default_rng(int(seed))


def check_X(X: Any, n_features: int | None = None, dtype: Any = np.float64, name: str = "X") -> Any:
    """Return ``X`` as a C-contiguous 2-D float array of shape (N, D) (or a CSR matrix for sparse input),
    or raise a helpful error."""
    if sp.issparse(X):
        return _check_sparse_X(X, n_features, dtype, name)
    if isinstance(X, str) or X is None:
        raise TypeError(f"{name} must be a 2-D array of numbers with shape (n_samples, n_features), got {X!r}.")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(
            f"{name} could not be read as an array ({exc}); pass a 2-D array of shape (n_samples, n_features)."
        ) from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must hold numbers only, got dtype {arr.dtype} with non-numeric entries "
                f"(e.g. strings); convert or encode those columns to numbers first."
            ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}; convert it to float first.")
    if arr.ndim != 2:
        hint = (
            " Use X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample."
            if arr.ndim == 1
            else ""
        )
        raise ValueError(f"{name} must be 2-D with shape (n_samples, n_features), got shape {arr.shape}.{hint}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one sample is required.")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {arr.shape}); at least one column is required.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but the network expects {n_features} "
            f"(its input size); pass data with {n_features} columns."
        )
    arr = np.ascontiguousarray(arr, dtype=dtype)
    # a finite sum proves every entry finite (NaN and inf propagate) and reads the data once, without
    # the boolean array of isfinite; only a non-finite sum (or an overflow) needs the exact check
    if not math.isfinite(float(np.add.reduce(arr, axis=None))) and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {bad[0]}, column {bad[1]}: "
            f"{arr[bad[0], bad[1]]}); remove or impute those values first."
        )
    return arr


def _check_sparse_X(X: Any, n_features: int | None, dtype: Any, name: str) -> Any:
    """A scipy.sparse matrix as CSR of ``dtype`` (its stored values checked finite), never densified."""
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (n_samples, n_features), got shape {X.shape}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); at least one sample and one feature are required.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but the network expects {n_features} "
            f"(its input size); pass data with {n_features} columns."
        )
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got sparse dtype {X.dtype}; convert it to float first.")
    csr = sp.csr_matrix(X, dtype=dtype)
    if not np.isfinite(csr.data).all():
        raise ValueError(f"{name} contains NaN or infinity among its stored values; remove or impute them first.")
    return csr


def check_targets(y: Any, n_samples: int, output: str, n_outputs: int, name: str = "y") -> NDArray[Any]:
    """Targets in the encoding of the output head (see :mod:`perceptrons.core.heads`):

    - ``"softmax"``: integer labels (N,) in [0, n_outputs) (one-hot rows (N, n_outputs) are converted);
    - ``"logistic"``: a 0/1 indicator matrix (N, n_outputs), float (a vector (N,) when n_outputs == 1);
    - ``"identity"``: real targets (N, n_outputs), float (a vector (N,) when n_outputs == 1);
    - ``"exp"``: non-negative targets (counts, rates) (N, n_outputs), float (a vector (N,) when n_outputs == 1).
    """
    if output == "softmax":
        return check_labels(y, n_samples, n_outputs, name)
    if isinstance(y, str) or y is None:
        raise TypeError(f"{name} must be an array of targets with shape (n_samples, {n_outputs}), got {y!r}.")
    try:
        arr = np.asarray(y)
    except Exception as exc:
        raise ValueError(f"{name} could not be read as an array ({exc}).") from None
    if arr.ndim == 1 and n_outputs == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != n_outputs:
        one = " (or (n_samples,) for the one output)" if n_outputs == 1 else ""
        raise ValueError(
            f"{name} must have shape (n_samples, {n_outputs}){one}: one column per output of the network, "
            f"got shape {arr.shape}."
        )
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} have different lengths: X has {n_samples} samples, {name} has {arr.shape[0]}; "
            f"pass one target row per row of X."
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}; encode the targets as numbers first.")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity; remove or impute those targets first.")
    if output == "logistic" and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(
            f"{name} must hold 0/1 indicators for logistic outputs (one column per label), got values such as "
            f"{np.unique(arr[(arr != 0) & (arr != 1)])[:3].tolist()}."
        )
    if output == "exp" and (arr < 0).any():
        raise ValueError(
            f"{name} must be non-negative for the exp (Poisson) output, got values such as "
            f"{np.unique(arr[arr < 0])[:3].tolist()}; use output='identity' for targets of either sign."
        )
    return arr


def check_sample_weight(sample_weight: Any, n_samples: int, name: str = "sample_weight") -> NDArray[np.float64] | None:
    """``None`` (every sample counts once) or non-negative finite weights (N,) with a positive sum."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, str):
        raise TypeError(f"{name} must be an array of {n_samples} non-negative numbers, got {sample_weight!r}.")
    w = np.asarray(sample_weight)
    if w.ndim == 0:
        w = np.full(n_samples, w)
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(f"{name} must have shape ({n_samples},): one weight per sample, got shape {w.shape}.")
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {w.dtype}.")
    w = w.astype(np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(
            f"{name} must hold finite non-negative numbers, got e.g. {w[~(np.isfinite(w) & (w >= 0))][:3]}."
        )
    if not w.sum() > 0:
        raise ValueError(f"{name} sums to 0: at least one sample must have a positive weight.")
    return w


def check_labels(y: Any, n_samples: int, n_classes: int, name: str = "y") -> NDArray[np.intp]:
    """Return integer labels (N,) in [0, n_classes); one-hot rows (N, C) are converted once."""
    if isinstance(y, str) or y is None:
        raise TypeError(f"{name} must be integer labels of shape (n_samples,) or one-hot rows, got {y!r}.")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == n_classes and n_classes > 1:
        ok = arr.dtype.kind in "biuf" and np.all((arr == 0) | (arr == 1)) and np.all(arr.sum(axis=1) == 1)
        if not ok:
            raise ValueError(
                f"{name} has shape {arr.shape}, which reads as one-hot rows, but not every row holds "
                f"a single 1 and zeros elsewhere; pass integer labels of shape ({n_samples},) instead."
            )
        arr = arr.argmax(axis=1)
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be integer labels of shape (n_samples,) or one-hot rows of shape "
            f"(n_samples, {n_classes}), got shape {arr.shape}."
        )
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} have different lengths: X has {n_samples} samples, {name} has {arr.shape[0]}; "
            f"pass one label per row of X."
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(
                f"{name} must hold integer class labels 0..{n_classes - 1}, got non-integer values "
                f"(e.g. {arr[~np.isclose(arr, np.round(arr)) | ~np.isfinite(arr)][:3]})."
            )
    elif arr.dtype.kind not in "biu":
        raise TypeError(
            f"{name} must hold integer class labels 0..{n_classes - 1}, got dtype {arr.dtype}; "
            f"encode string labels first (PerceptronClassifier does this for you)."
        )
    labels = arr.astype(np.intp)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{name} must hold class labels in 0..{n_classes - 1} (the network has {n_classes} outputs), "
            f"got values from {labels.min()} to {labels.max()}."
        )
    return labels


def check_positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> Any:
    """Check a hyper-parameter is a (strictly) positive real or integer number."""
    kind = "int" if integer else "number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral if integer else numbers.Real):
        raise TypeError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} {kind}, got {value!r}.")
    bad = value < 0 if allow_zero else value <= 0
    if bad or not math.isfinite(float(value)):
        raise ValueError(
            f"{name} must be {'' if math.isfinite(float(value)) else 'a finite number '}"
            f"{'>= 0' if allow_zero else '> 0'}, got {value!r}; "
            f"pass a {'non-negative' if allow_zero else 'positive'} {kind}."
        )
    return value


def check_choice(name: str, value: Any, choices: Any) -> Any:
    """Check ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}.")
    return value
