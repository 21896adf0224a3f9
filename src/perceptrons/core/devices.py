"""Array libraries and devices: which namespace an array belongs to, moving arrays, checking them in place.

The core is written against the Python Array API standard; ``array_api_compat`` finds each array's
namespace (NumPy, PyTorch, CuPy, ``array_api_strict``, ...) from the array itself, so no library but
NumPy is ever imported here. NumPy arrays keep NumPy's own fast paths (:mod:`perceptrons.core.fused`);
arrays of any other namespace take the portable ones (:mod:`perceptrons.core.portable`).

Inputs of another namespace than the network's are moved once, where they enter (``train``,
``predict``), never inside a loop. Data already on the network's device is checked there: the checks
reduce to one boolean per array on the device, and only an array that fails is copied to the host,
where the NumPy validators of :mod:`perceptrons.core.validation` say exactly what is wrong.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat as aac
import array_api_compat.numpy as np_xp
import numpy as np
import scipy.sparse as sp

from .validation import check_labels, check_sample_weight, check_targets, check_X

#: NumPy's namespace in the standard's spelling: NumPy itself from 2.1 on (whose main namespace is the
#: standard's, without a wrapper's call overhead on the per-sample paths), array-api-compat's before
NUMPY: Any = np if tuple(int(v) for v in np.__version__.split(".")[:2]) >= (2, 1) else np_xp


def is_numpy(x: Any) -> bool:
    """Whether ``x`` is host data the NumPy paths take: a NumPy array, scalar, list, or scipy.sparse matrix."""
    return not aac.is_array_api_obj(x) or isinstance(x, (np.ndarray, np.generic)) or sp.issparse(x)


def namespace_of(*arrays: Any) -> Any:
    """The Array API namespace of ``arrays`` (NumPy's for NumPy arrays; ``None`` entries are skipped)."""
    for a in arrays:
        if a is not None and type(a) is not np.ndarray:
            return aac.array_namespace(*(a for a in arrays if a is not None))
    return NUMPY  # the common case, without array_namespace's inspection


def namespace(xp: Any) -> Any:
    """The compatible namespace of the library module ``xp`` (``numpy``, ``torch``, ``cupy``, ``array_api_strict``)."""
    if xp is np or xp is np_xp:
        return NUMPY
    if not hasattr(xp, "asarray") or not hasattr(xp, "empty"):
        raise TypeError(
            f"xp must be an array library module such as numpy, torch, cupy or array_api_strict (the module, "
            f"not its name), got {xp!r}."
        )
    return NUMPY if aac.is_numpy_namespace(xp) else aac.array_namespace(xp.empty(0))


def device_of(x: Any) -> Any:
    """The device of array ``x`` (``"cpu"`` for NumPy)."""
    return "cpu" if type(x) is np.ndarray else aac.device(x)


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy (or the array itself, if it is one) of ``x``, from any device: a host transfer."""
    if isinstance(x, np.ndarray):
        return x
    if aac.is_torch_array(x):
        return x.detach().cpu().numpy()  # type: ignore[no-any-return]
    if aac.is_cupy_array(x):
        return x.get()  # type: ignore[no-any-return]
    if aac.is_array_api_obj(x):
        return np.from_dlpack(x)  # the standard's exchange protocol, for host-resident arrays
    return np.asarray(x)


def to_namespace(x: Any, xp: Any, device: Any = None, copy: bool = False) -> Any:
    """``x`` as an array of namespace ``xp`` on ``device`` (its current one, or the library's default, if None).

    Arrays already there are returned as they are unless ``copy``; others go through the host once.
    """
    ns = namespace(xp)
    if ns is NUMPY:
        arr = to_numpy(x)  # may share memory with a CPU tensor: a copy when one is asked for
        return arr.copy() if copy else arr
    if aac.is_array_api_obj(x) and not is_numpy(x) and aac.array_namespace(x) is ns:
        moved = x if device is None or device_of(x) == device else aac.to_device(x, device)
        return ns.asarray(moved, copy=True) if copy and moved is x else moved
    return ns.asarray(to_numpy(x), device=device, copy=True)


def dtype_in(xp: Any, dtype: np.dtype) -> Any:
    """The float dtype of namespace ``xp`` named like the NumPy ``dtype`` (float64 or float32)."""
    return getattr(xp, np.dtype(dtype).name)


def check_X_in(X: Any, n_features: int, dtype: np.dtype, xp: Any, device: Any, name: str = "X") -> Any:
    """``X`` (N, n_features) in namespace ``xp`` on ``device``, of ``dtype``: host data is checked on the host
    and moved once; an array of ``xp`` is checked where it lives (one reduction) and cast there."""
    if is_numpy(X) or aac.array_namespace(X) is not xp:
        if sp.issparse(X):
            raise TypeError(
                f"{name} is a scipy.sparse matrix, but this network lives in {xp.__name__}; "
                f"sparse inputs train on NumPy networks only (use net.to(numpy)), or pass a dense {name}."
            )
        return to_namespace(check_X(to_numpy(X) if not is_numpy(X) else X, n_features, dtype, name), xp, device)
    shape_ok = X.ndim == 2 and X.shape[0] > 0 and X.shape[1] == n_features
    if not (shape_ok and xp.isdtype(X.dtype, ("real floating", "integral"))):
        check_X(to_numpy(X), n_features, dtype, name)  # raises with the details
    out = xp.astype(X, dtype_in(xp, dtype), copy=False)
    if device is not None and device_of(out) != device:
        out = aac.to_device(out, device)
    if not math.isfinite(float(xp.sum(out))) and not bool(xp.all(xp.isfinite(out))):
        check_X(to_numpy(X), n_features, dtype, name)
    return out


def check_targets_in(
    y: Any, n_samples: int, output: str, n_outputs: int, dtype: np.dtype, xp: Any, device: Any, name: str = "y"
) -> Any:
    """Targets in the head's encoding (see :func:`perceptrons.core.validation.check_targets`), in ``xp``."""
    if is_numpy(y) or aac.array_namespace(y) is not xp:
        t = check_targets(to_numpy(y) if not is_numpy(y) else y, n_samples, output, n_outputs, name)
        return to_namespace(t if output == "softmax" else t.astype(dtype), xp, device)
    if output == "softmax":
        ok = y.ndim == 1 and y.shape[0] == n_samples and xp.isdtype(y.dtype, "integral")
        if ok and n_samples:
            ok = bool(xp.all((y >= 0) & (y < n_outputs)))
        if not ok:  # one-hot rows, float labels or a bad value: the host checker converts or explains
            return to_namespace(check_labels(to_numpy(y), n_samples, n_outputs, name), xp, device)
        out = xp.astype(y, xp.int64)
    else:
        if y.ndim == 1 and n_outputs == 1:
            y = xp.reshape(y, (-1, 1))
        ok = y.ndim == 2 and y.shape == (n_samples, n_outputs) and xp.isdtype(y.dtype, ("real floating", "integral"))
        if ok:
            out = xp.astype(y, dtype_in(xp, dtype))
            good = xp.isfinite(out)
            if output == "logistic":
                good = good & ((out == 0) | (out == 1))
            elif output == "exp":
                good = good & (out >= 0)
            ok = bool(xp.all(good))
        if not ok:
            check_targets(to_numpy(y), n_samples, output, n_outputs, name)  # raises with the details
    if device is not None and device_of(out) != device:
        out = aac.to_device(out, device)
    return out


def check_sample_weight_in(sample_weight: Any, n_samples: int, dtype: np.dtype, xp: Any, device: Any) -> Any:
    """``None`` or non-negative finite weights (N,) with a positive sum, in ``xp`` of ``dtype``."""
    if sample_weight is None:
        return None
    w = sample_weight
    if is_numpy(w) or aac.array_namespace(w) is not xp:
        host = check_sample_weight(to_numpy(w) if not is_numpy(w) else w, n_samples)
        return None if host is None else to_namespace(host.astype(dtype), xp, device)
    ok = w.ndim == 1 and w.shape[0] == n_samples and xp.isdtype(w.dtype, ("real floating", "integral"))
    if ok:
        out = xp.astype(w, dtype_in(xp, dtype))
        ok = bool(xp.all(xp.isfinite(out) & (out >= 0)) & (xp.sum(out) > 0))
    if not ok:
        check_sample_weight(to_numpy(w), n_samples)  # raises with the details
    if device is not None and device_of(out) != device:
        out = aac.to_device(out, device)
    return out
