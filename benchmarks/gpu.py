"""The GPU benchmark: one training step of ours against eager PyTorch doing the same step (not installed).

    python benchmarks/gpu.py [--out results.json]            # on a CUDA machine
    python benchmarks/gpu.py --device cpu --small            # a small run anywhere (a smoke test)

A step is forward + backward + plain SGD update of a ReLU MLP with a softmax cross-entropy head,
float32, on one fixed batch that lives on the device:

- ``big``:   784-4096-4096-10 at batch 4096
- ``small``: 784-512-512-10 at batch 512

Ours is :class:`perceptrons.core.portable.PortableBackprop` plus :class:`perceptrons.core.optim.SGD`
on the parameters of ``MLP(...).to(torch, device)`` (the trainer's own step, its count of rows
predicted right included), and on CuPy arrays when CuPy imports. PyTorch is ``nn.Sequential`` of
``Linear`` + ``ReLU``, ``CrossEntropyLoss``, ``torch.optim.SGD`` and ``loss.backward()``. TF32 is
allowed on both sides (``torch.backends.cuda.matmul.allow_tf32``, ``torch.backends.cudnn.allow_tf32``;
``CUPY_TF32=1`` for CuPy). Each contender is warmed up, then ``--repeats`` loops of ``--steps`` steps
are timed between ``torch.cuda.synchronize()`` calls; the table gives the median steps/s and our
ratio to PyTorch. ``--check`` first compares our gradient on the device with the NumPy reference
(float64, a small network). Without a GPU it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("CUPY_TF32", "1")  # read by CuPy when it makes its cuBLAS handles

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from perceptrons import MLP  # noqa: E402
from perceptrons.core.network import loss_and_grads  # noqa: E402
from perceptrons.core.optim import SGD  # noqa: E402
from perceptrons.core.portable import PortableBackprop  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the script says so below
    torch = None  # type: ignore[assignment]
try:
    import cupy
except Exception:  # ImportError, or a CuPy without a usable CUDA
    cupy = None

WORKLOADS = {"big": ([784, 4096, 4096, 10], 4096), "small": ([784, 512, 512, 10], 512)}
SMALL = {"big": ([784, 256, 256, 10], 256), "small": ([784, 64, 64, 10], 64)}
LR = 0.01


def timed(step: Callable[[], Any], sync: Callable[[], None], steps: int, repeats: int, warmup: int) -> float:
    """Median steps per second over ``repeats`` loops of ``steps`` steps, after ``warmup`` steps."""
    for _ in range(warmup):
        step()
    sync()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        rates.append(steps / (time.perf_counter() - t0))
    return statistics.median(rates)


def ours(xp: Any, sizes: list[int], X: Any, y: Any, device: Any) -> Callable[[], Any]:
    net = MLP(sizes, seed=0, dtype=np.float32).to(xp, device)
    theta = net.flat_params
    grads = net.xp.zeros_like(theta)
    engine = PortableBackprop(sizes, "relu", "softmax", theta, grads)
    opt = SGD(lr=LR)
    params, gparams = {"theta": theta}, {"theta": grads}

    def step() -> Any:
        out = engine(X, y)
        opt.step(params, gparams)
        return out

    return step


def eager_torch(sizes: list[int], X: Any, y: Any, device: str) -> Callable[[], Any]:
    nn = torch.nn
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).to(device)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step() -> Any:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        return loss

    return step


def check_against_numpy(device: str) -> float:
    """Largest difference between our gradient computed on ``device`` and the NumPy reference (float64)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 784)), rng.integers(0, 10, 64)
    net = MLP([784, 32, 32, 10], seed=0)
    dev = net.to(torch, device)
    grads = torch.zeros_like(dev.flat_params)
    engine = PortableBackprop(dev.sizes, "relu", "softmax", dev.flat_params, grads, alpha=1e-3)
    loss, _ = engine(torch.asarray(X, device=device), torch.asarray(y, device=device))
    loss_ref, grads_ref = loss_and_grads(net.params, X, y, alpha=1e-3)
    flat_ref = np.concatenate([grads_ref[k].ravel() for k in net.params])
    return max(abs(float(loss) - loss_ref), float(np.abs(grads.cpu().numpy() - flat_ref).max()))


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = args.device
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    if device.startswith("cuda"):
        sync: Callable[[], None] = torch.cuda.synchronize
        name = torch.cuda.get_device_name()
    else:
        sync, name = (lambda: None), platform.processor() or "cpu"
    result: dict[str, Any] = {
        "device": name,
        "torch": torch.__version__,
        "cupy": None if cupy is None else cupy.__version__,
        "numpy": np.__version__,
        "steps": args.steps,
        "repeats": args.repeats,
        "workloads": {},
    }
    if args.check:
        result["check_max_abs_diff_float64"] = check_against_numpy(device)
        print(
            f"our gradient on {device} vs the NumPy reference (float64): max |diff| = {result['check_max_abs_diff_float64']:.2e}"
        )
    table = SMALL if args.small else WORKLOADS
    use_cupy = cupy is not None and device.startswith("cuda") and not args.no_cupy
    for key, (sizes, batch) in table.items():
        gen = torch.Generator(device=device).manual_seed(0)
        X = torch.randn(batch, sizes[0], device=device, generator=gen)
        y = torch.randint(0, sizes[-1], (batch,), device=device, generator=gen)
        row: dict[str, Any] = {"sizes": sizes, "batch": batch}
        kw = dict(steps=args.steps, repeats=args.repeats, warmup=args.warmup)
        row["torch_eager"] = timed(eager_torch(sizes, X, y, device), sync, **kw)
        row["ours_torch"] = timed(ours(torch, sizes, X, y, device), sync, **kw)
        if use_cupy:
            try:  # a CuPy that fails here costs its column, not the table
                Xc, yc = cupy.asarray(X), cupy.asarray(y)
                row["ours_cupy"] = timed(ours(cupy, sizes, Xc, yc, None), cupy.cuda.Device().synchronize, **kw)
            except Exception as exc:
                row["ours_cupy_error"] = f"{type(exc).__name__}: {exc}"
                print(f"CuPy column skipped for {key}: {row['ours_cupy_error']}")
        row["ratio_torch"] = row["ours_torch"] / row["torch_eager"]
        if "ours_cupy" in row:
            row["ratio_cupy"] = row["ours_cupy"] / row["torch_eager"]
        result["workloads"][key] = row
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['device']}  torch {result['torch']}  cupy {result['cupy']}  float32, TF32 allowed")
    print(f"{'workload':<28}{'PyTorch eager':>15}{'ours (torch)':>15}{'ratio':>8}{'ours (cupy)':>14}{'ratio':>8}")
    for row in result["workloads"].values():
        name = "-".join(map(str, row["sizes"])) + f" @{row['batch']}"
        cupy_cols = (
            f"{row['ours_cupy']:>14.1f}{row['ratio_cupy']:>8.2f}" if "ours_cupy" in row else f"{'-':>14}{'-':>8}"
        )
        print(f"{name:<28}{row['torch_eager']:>15.1f}{row['ours_torch']:>15.1f}{row['ratio_torch']:>8.2f}{cupy_cols}")
    print("(steps per second, median of the repeats; ratio = ours / PyTorch eager)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--small", action="store_true", help="small networks (a smoke test, e.g. on the CPU)")
    parser.add_argument("--steps", type=int, default=50, help="steps per timed loop (default 50)")
    parser.add_argument("--repeats", type=int, default=5, help="timed loops; the median is reported (default 5)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    parser.add_argument("--check", action="store_true", help="first compare our gradient with NumPy's (float64)")
    parser.add_argument("--no-cupy", action="store_true", help="leave CuPy out even if it imports")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if torch is None:
        print("GPU workloads skipped: PyTorch is not installed (pip install torch).")
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "GPU workloads skipped: no CUDA device is visible to PyTorch here; run with --device cpu --small to try the script."
        )
        return 0
    result = run(args)
    print_table(result)
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
