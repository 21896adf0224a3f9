"""How many BLAS threads a call uses, chosen per call from the sizes of its matrix products.

Small networks are bound by per-call overhead and memory, not by arithmetic: splitting a product
of a (10000, 16) block by a (16, 16) matrix over two threads saves little when both cores are free
and, on a machine whose other core is busy, stalls each product waiting for the second thread
(measured here: a 0.1 ms product taking 1-60 ms). Products that are large *and* compute-bound
(both dimensions of the weight matrix >= 64) gain close to the number of cores. So a call runs on
one BLAS thread unless its largest product has at least ``MIN_WORK[dtype]`` multiply-adds and a
weight matrix of at least ``MIN_WIDTH`` on both sides; then the library default (all cores) is kept.

Measured here: a product of a few hundred rows by 64 x 64 weights ran 1.7x faster on two threads
when nothing else ran, but a median 7 ms instead of 15 us (float32) when another process's BLAS
threads were spinning on the other core, and in the benchmark a full-batch L-BFGS fit on digits
(1437 x 64 x 64 products) took 520 ms on two threads beside a scikit-learn process against 63 ms on one. So the
threshold is high, for both dtypes. The rule depends only on the sizes, never on a timing taken at
run time, because OpenBLAS's float32 products round differently on one thread and on two: a rule
that changed with the machine's load would break bit-for-bit reproducibility.

Only the calls of this package are affected (threadpoolctl restores the previous setting on exit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

#: multiply-adds of the largest product from which all cores are used
MIN_WORK = {"float64": 1 << 24, "float32": 1 << 24}
MIN_WIDTH = 64


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once (~1 ms); each limit is ~15 us


def wants_all_threads(n_rows: int, sizes: Sequence[int], dtype: Any = np.float64) -> bool:
    """Whether products of ``n_rows`` rows through layers ``sizes`` are big enough to share between cores."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    fan_in, fan_out = max(layers, key=lambda ab: ab[0] * ab[1])
    min_work = MIN_WORK.get(np.dtype(dtype).name, MIN_WORK["float32"])
    return n_rows * fan_in * fan_out >= min_work and min(fan_in, fan_out) >= MIN_WIDTH


@contextlib.contextmanager
def blas_threads_for(n_rows: int, sizes: Sequence[int], dtype: Any = np.float64) -> Iterator[None]:
    """Run the block on one BLAS thread, unless :func:`wants_all_threads` says the products are big."""
    if wants_all_threads(n_rows, sizes, dtype):
        yield
        return
    with _controller().limit(limits=1, user_api="blas"):
        yield
