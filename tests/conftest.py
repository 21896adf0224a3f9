import importlib.util
import os

# scikit-learn runs its array-API estimator check (NumPy namespace) only when this is set; it must be
# set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import matplotlib  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")


def _available(namespace: str, device: object) -> bool:
    """Whether an Array API library and device of scikit-learn's list of combinations exist here."""
    if namespace == "numpy":
        return True
    if importlib.util.find_spec(namespace.split(".")[0]) is None:
        return False
    device = str(device) if device is not None else None
    if namespace == "torch":
        import torch

        if device in (None, "cpu"):
            return True
        if device == "cuda":
            return torch.cuda.is_available()
        if device == "mps":
            return torch.backends.mps.is_available() and os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK") == "1"
        if device == "xpu":
            return hasattr(torch, "xpu") and torch.xpu.is_available()
        return False
    return True


def _namespaces_and_devices(item: pytest.Item) -> list[tuple[str, object]]:
    """The (namespace, device) pairs an estimator-check item runs on: from scikit-learn's
    ``parametrize_with_checks`` (the check's keywords) or our own parametrisations."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    found = []
    check = params.get("check")
    keywords = getattr(check, "keywords", None) or {}
    if "array_namespace" in keywords:
        found.append((keywords["array_namespace"], keywords.get("device_name")))
    for key in ("X_ns_and_device", "other_ns_and_device"):
        if key in keywords:
            found.append((keywords[key].xp, keywords[key].device))
    if "namespace" in params:
        found.append((params["namespace"], params.get("device")))
    for key in ("x_place", "other_place"):
        if key in params:
            found.append((params[key].xp, params[key].device))
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """scikit-learn's Array API checks come for every library and device it knows (CuPy, dpnp, CUDA, MPS,
    XPU); those absent here are deselected (pytest reports the count) rather than run as skips. On a
    machine that has them, they run."""
    keep, drop = [], []
    for item in items:
        pairs = _namespaces_and_devices(item)
        (drop if any(not _available(ns, dev) for ns, dev in pairs) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
