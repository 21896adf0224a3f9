"""Saving and loading models: NumPy ``.npz`` with a JSON metadata entry, never pickle.

The file holds the arrays (``W0, b0, ...``) and ``__meta__``, a JSON string with the format name,
format version, and what is needed to rebuild the object (sizes, activation, classes...). Each model
says how it is written (``to_file``) and read (``from_file``); :func:`load` dispatches on the
metadata's ``kind`` through :data:`READERS`. This module imports nothing from the package. Writing
is atomic: a temporary file in the same directory, then ``os.replace``, so an interrupted save
leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "perceptrons-model"
VERSION = 1


def save_arrays(path: str | Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """Atomically write ``arrays`` and JSON ``meta`` to ``path`` (an ``.npz`` file)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"cannot save to {str(path)!r}: it is a directory; give a file name like model.npz.")
    if not path.parent.exists():
        raise ValueError(f"cannot save to {str(path)!r}: the directory {str(path.parent)!r} does not exist.")
    header = json.dumps({"format": FORMAT, "version": VERSION, **meta})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __meta__=np.array(header), **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_arrays(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`; clear errors for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {str(path)!r} does not exist or is not a file.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable perceptrons model file (truncated or corrupted?): {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not a perceptrons model file ({exc}).") from None
    if "__meta__" not in arrays:
        raise ValueError(f"{path}: not a perceptrons model file (no __meta__ entry); was it saved by perceptrons?")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except json.JSONDecodeError:
        raise ValueError(f"{path}: the metadata of this model file is corrupted.") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: not a perceptrons model file (its metadata is a JSON {type(meta).__name__}).")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a perceptrons model file (format {meta.get('format')!r}).")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise ValueError(
            f"{path}: written by a newer perceptrons (file format version {meta.get('version')}, this one reads "
            f"up to {VERSION}); upgrade perceptrons to load it."
        )
    return arrays, meta


#: model kind (the metadata's ``"kind"``) -> ``from_file(arrays, meta)``; each model class adds itself
#: when its module is imported (this module imports nothing from the package).
READERS: dict[str, Callable[[dict[str, np.ndarray], dict[str, Any]], Any]] = {}


def load(path: str | Path) -> Any:
    """Load what was saved: an :class:`~perceptrons.MLP` or a fitted estimator."""
    arrays, meta = load_arrays(path)
    reader = READERS.get(meta.get("kind"))  # type: ignore[arg-type]
    if reader is None:
        raise ValueError(f"{path}: unknown model kind {meta.get('kind')!r} in this file (known: {sorted(READERS)}).")
    try:
        return reader(arrays, meta)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: the model file is inconsistent: {exc}") from None
