"""Time ``perceptrons.datasets.load_csv`` on a generated CSV (default about 40 MB: 20 float features and a
string label per row), best of a few runs, and its peak memory in a fresh process.

    PYTHONPATH=src python scripts/bench_csv.py [--mb 40] [--runs 3] [--short]

Prints wall seconds, MB/s, CPU seconds (steadier on a shared machine) and the peak resident memory (the
interpreter's own ~80 MB included).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from perceptrons.datasets import load_csv


def write_csv(path: str, mb: float, short: bool, seed: int = 0) -> int:
    """A CSV of about ``mb`` megabytes: header, then rows of 20 floats and a label; the floats at full
    precision (19 characters a cell) or ``short`` (two decimals: 4 to 5 characters, so 4x the cells)."""
    rng = np.random.default_rng(seed)
    labels = np.array(["setosa", "versicolor", "virginica"])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join([f"x{j}" for j in range(20)] + ["species"]) + "\n")
        while fh.tell() < mb * 1e6:
            X = rng.standard_normal((5000, 20))
            y = labels[rng.integers(0, 3, 5000)]
            cells = np.char.mod("%.2f", X) if short else X.astype(str)
            fh.write("".join(",".join(row) + "," + lab + "\n" for row, lab in zip(cells.tolist(), y)))
        return fh.tell()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=40.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--short", action="store_true", help="two-decimal cells (4x as many per MB)")
    ap.add_argument("--peak-of", help=argparse.SUPPRESS)  # internal: load once, print the peak RSS
    args = ap.parse_args()
    if args.peak_of:
        load_csv(args.peak_of)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.csv")
        size = write_csv(path, args.mb, args.short)
        times, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            X, y, classes = load_csv(path)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        best = min(times)
        out = subprocess.run(
            [sys.executable, __file__, "--peak-of", path], capture_output=True, text=True, check=True, env=os.environ
        )
        peak = int(out.stdout.strip())
        print(
            f"{size / 1e6:.1f} MB, {X.shape[0]:,} rows x {X.shape[1]} features, {len(classes)} classes: "
            f"best {best:.2f} s of {args.runs} ({size / 1e6 / best:.1f} MB/s), runs {[round(t, 2) for t in times]}, "
            f"CPU best {min(cpu):.2f} s, peak RSS {peak / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
