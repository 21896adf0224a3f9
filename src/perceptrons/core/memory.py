"""The memory a request needs, added up and checked before NumPy allocates any of it.

A network of a million hidden units, ten thousand features times a wide layer, or ``steps=10**15`` would make
NumPy try to allocate gigabytes: a ``MemoryError`` from deep inside, or worse an allocation that succeeds and
swaps the machine to a halt. Each entry point that allocates in proportion to its arguments (``MLP``,
``train``, the estimators' ``fit``, the command line, and through them the playground) first estimates the
bytes and calls :func:`check`, which refuses with what was asked, the bytes it needs, the limit and how to
change it.

The limit is a setting: the environment variable ``PERCEPTRONS_MEMORY_LIMIT``, in bytes or with a unit
(``500MB``, ``8GB``, ``2GiB``), read at each check (so ``os.environ["PERCEPTRONS_MEMORY_LIMIT"] = "16GB"`` works
at any time). Unset, it is half of this machine's physical memory, or the memory available now if that is
less: a request that could not be served without swapping is refused before it starts.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Sequence
from typing import Any

ENV = "PERCEPTRONS_MEMORY_LIMIT"
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20}
_UNITS.update({"GIB": 2**30, "TIB": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12})


class MemoryLimitError(ValueError, MemoryError):
    """A request needs more memory than the limit. A ``ValueError`` (a request to change, reported as one line
    by the command line and the playground) and a ``MemoryError`` (what NumPy would have raised)."""


def parse_size(text: str) -> int:
    """``"8GB"`` -> 8_000_000_000, ``"2GiB"`` -> 2 * 2**30, ``"1e9"`` -> 10**9 (bytes)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).upper() if m else None
    if m is None or unit not in _UNITS or not math.isfinite(float(m.group(1))) or float(m.group(1)) <= 0:
        raise ValueError(
            f"{ENV} must be a positive size in bytes or with a unit (e.g. 500MB, 8GB, 2GiB), got {text[:40]!r}."
        )
    return int(float(m.group(1)) * _UNITS[str(unit)])


def _machine_bytes() -> tuple[int, str]:
    """Half the physical memory, or what is available now if less (Linux), and how that was found."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 16 * 2**30
    limit, how = total // 2, f"half of this machine's {fmt_bytes(total)}"
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    if available < limit:
                        limit, how = available, "the memory available now"
    except (OSError, ValueError, IndexError):
        pass
    return limit, how


_MACHINE: list[Any] = [-math.inf, None]  # (when read, (bytes, how)): read at most once a second


def limit() -> tuple[int, str]:
    """The limit in bytes and where it comes from (for messages)."""
    text = os.environ.get(ENV)
    if text is not None and text.strip():
        return parse_size(text), f"{ENV}={text.strip()}"
    now = time.monotonic()
    if now - _MACHINE[0] > 1.0:  # many small networks and slices are checked: /proc is read once a second
        _MACHINE[:] = [now, _machine_bytes()]
    return _MACHINE[1]  # type: ignore[no-any-return]


def fmt_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{int(n)} bytes"


def check(what: str, nbytes: int) -> None:
    """Raise :class:`MemoryLimitError` if ``what`` (the request, in the user's words) needs more than the limit."""
    cap, source = limit()
    if nbytes > cap:
        raise MemoryLimitError(
            f"{what} needs about {fmt_bytes(nbytes)} of memory, more than the limit of {fmt_bytes(cap)} ({source}). "
            f"Choose smaller sizes, or set the environment variable {ENV} (e.g. {ENV}=32GB) to allow more."
        )


def n_params(sizes: Sequence[int]) -> int:
    """Weights and biases of a network of ``sizes`` (exact, in Python ints: no overflow)."""
    return sum((int(a) + 1) * int(b) for a, b in zip(sizes[:-1], sizes[1:]))


def training_bytes(sizes: Sequence[int], batch: int, n_rows: int, itemsize: int, param_copies: int = 6) -> int:
    """What training a network of ``sizes`` on ``n_rows`` rows in batches of ``batch`` holds at once: the
    parameters ``param_copies`` times (the network, its gradient, the optimiser's state, a backup), each
    layer's activations and their gradients for one batch, and the rows prepared once with a column of ones."""
    params = n_params(sizes) * param_copies
    activations = 2 * int(batch) * sum(int(s) for s in sizes)
    rows = int(n_rows) * (int(sizes[0]) + 1)
    return (params + activations + rows) * int(itemsize)
