"""The library picks its BLAS thread count per call from the sizes of its products (core/threads.py)."""

import numpy as np
from threadpoolctl import threadpool_info

from perceptrons import MLP, train
from perceptrons.core.threads import MIN_WIDTH, MIN_WORK, wants_all_threads


def _blas_threads() -> list[int]:
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


def test_small_training_runs_on_one_blas_thread_and_restores_the_setting():
    before = _blas_threads()
    seen = []
    X = np.random.default_rng(0).standard_normal((64, 2))
    y = np.arange(64) % 2
    train(
        MLP([2, 16, 2], seed=0), X, y, batch_size=8, steps=3, seed=0, on_step=lambda info: seen.append(_blas_threads())
    )
    assert seen and all(all(n == 1 for n in threads) for threads in seen)
    assert _blas_threads() == before  # the user's own setting is back after the call


def test_a_large_compute_bound_batch_keeps_the_library_default():
    before = _blas_threads()
    seen = []
    n = MIN_WORK["float32"] // (MIN_WIDTH * MIN_WIDTH) + 1  # rows that make a 64 x 64 product big enough
    X = np.random.default_rng(0).standard_normal((n, MIN_WIDTH), dtype=np.float32)
    y = np.arange(n) % 2
    net = MLP([MIN_WIDTH, MIN_WIDTH, 2], seed=0, dtype=np.float32)
    train(net, X, y, batch_size=n, steps=1, seed=0, on_step=lambda info: seen.append(_blas_threads()))
    assert seen == [before]


def test_the_rule_reads_the_largest_layer():
    assert not wants_all_threads(10_000, [2, 16, 16, 2])  # narrow layers: memory-bound, one thread
    assert not wants_all_threads(32, [784, 512, 10], np.float32)  # wide but a small batch: too little work
    assert wants_all_threads(512, [784, 512, 512, 10], np.float32)
    assert not wants_all_threads(256, [2, 64, 64, 2], np.float64)  # W5's 1M multiply-adds: one thread
    assert not wants_all_threads(1437, [64, 64, 10], np.float64)  # a full-batch L-BFGS step on digits
