"""The backward pass for arrays of any Array API library: PyTorch, CuPy, ``array_api_strict``, ...

:class:`PortableBackprop` is the twin of :class:`perceptrons.core.fused.FusedBackprop` (NumPy's fast
engine) for every other namespace, and the trainer's engine on a GPU. Same interface, same formulas
as the reference ``network.loss_and_grads`` (``tests/test_array_api.py`` proves them equal to NumPy's
to 1e-10 in float64), and three differences that matter on an accelerator:

- **No host synchronisation.** The loss and the number of rows predicted right come back as 0-d
  arrays on the device; the trainer reads them in batches (once per epoch, or every N steps).
- **One matrix product per layer and direction, written where it belongs.** The gradient of ``W_i``
  and ``b_i`` is written straight into the flat gradient vector through views, so the optimiser
  updates every layer in one pass over one vector.
- **In place where the library allows it.** The standard has no ``out=``; PyTorch and CuPy have. On
  PyTorch tensors (:class:`_TorchOps`) the products and the bias go into buffers made once per batch
  size (``addmm``: bias and product in one call), ReLU runs in place and its derivative is applied as
  a mask in one pass (``threshold_backward``, what autograd itself calls), and the softmax gradient
  is made in one pass from the log-softmax. On CuPy arrays (:class:`_OutOps`, NumPy's ``out=``
  signatures, which CuPy shares) the products, ReLU and its mask write into the same kind of
  buffers. Every other namespace takes :class:`_Ops`, the plain standard (new arrays).

Rows are samples here (``z = h W + b``, (N, fan_out)), unlike the NumPy engine's transposed layout:
the accelerators' matrix kernels take either orientation at the same cost, and this one needs no
column of ones whose odd leading dimension would slow tensor-core kernels down.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import array_api_compat as aac

from .activations import ACTIVATIONS, Activation
from .devices import namespace_of
from .heads import HEADS, loss_and_dz_lazy
from .network import penalty_grad, penalty_terms

Array = Any


class _Ops:
    """The engine's array operations in the plain Array API standard (new arrays, no ``out=``)."""

    def __init__(self, xp: Any, act: Activation) -> None:
        self.xp, self.act = xp, act

    def buffers(self, sizes: Sequence[int], n: int, dtype: Any, device: Any) -> dict[str, list[Array]]:
        return {}

    def linear(self, h: Array, W: Array, b: Array, out: Array | None) -> Array:
        return h @ W + b

    def activate(self, z: Array) -> Array:
        return self.act.f(z)

    def backward_act(self, d: Array, h: Array, mask: Array | None) -> Array:
        """``d * f'(z)`` read from ``h = f(z)`` (``mask``: a boolean buffer of ``d``'s shape, or None)."""
        if self.act.name == "relu":
            return self.xp.where(h > 0, d, self.xp.zeros_like(d))
        return d * self.act.df(h)

    def grads_into(self, h: Array, dz: Array, GW: Array, Gb: Array) -> None:
        """``GW = h^T dz``, ``Gb = sum_n dz`` written into the views of the gradient vector."""
        GW[...] = h.T @ dz
        Gb[...] = self.xp.sum(dz, axis=0)

    def back(self, dz: Array, W: Array, out: Array | None) -> Array:
        return dz @ W.T

    def softmax_ce(self, z: Array, y: Array) -> tuple[Array, Array]:
        """Mean softmax cross-entropy (0-d) and its gradient ``(p - onehot) / N``."""
        return loss_and_dz_lazy(HEADS["softmax"], z, y)

    def count_right(self, correct: Any, z: Array, y: Array) -> Array:
        """How many rows the head's rule ``correct`` gets right, as a 0-d integer array."""
        return self.xp.sum(self.xp.astype(correct(z, y), self.xp.int64))


class _OutOps(_Ops):
    """The operations through NumPy's ``out=`` signatures, which CuPy shares (``lib`` is the library
    module): products, ReLU and its mask into buffers made once per batch size."""

    def __init__(self, xp: Any, act: Activation, lib: Any) -> None:
        super().__init__(xp, act)
        self.lib = lib

    def buffers(self, sizes: Sequence[int], n: int, dtype: Any, device: Any) -> dict[str, list[Array]]:
        empty = self.lib.empty
        return {
            "z": [empty((n, k), dtype=dtype) for k in sizes[1:]],
            "d": [empty((n, k), dtype=dtype) for k in sizes[1:-1]],
            "mask": [empty((n, k), dtype=bool) for k in sizes[1:-1]],
        }

    def linear(self, h: Array, W: Array, b: Array, out: Array | None) -> Array:
        z = self.lib.matmul(h, W, out=out)
        z += b
        return z

    def activate(self, z: Array) -> Array:
        if self.act.name == "relu":
            return self.lib.maximum(z, 0, out=z)
        if self.act.name == "tanh":
            return self.lib.tanh(z, out=z)
        return self.act.f(z)

    def backward_act(self, d: Array, h: Array, mask: Array | None) -> Array:
        if self.act.name == "relu" and mask is not None:
            return self.lib.multiply(d, self.lib.greater(h, 0, out=mask), out=d)
        return super().backward_act(d, h, mask)

    def grads_into(self, h: Array, dz: Array, GW: Array, Gb: Array) -> None:
        self.lib.matmul(h.T, dz, out=GW)
        self.lib.sum(dz, axis=0, out=Gb)

    def back(self, dz: Array, W: Array, out: Array | None) -> Array:
        return self.lib.matmul(dz, W.T, out=out)


class _TorchOps(_Ops):
    """The same operations on PyTorch tensors, into buffers and in place (no autograd: plain tensors)."""

    def __init__(self, xp: Any, act: Activation) -> None:
        super().__init__(xp, act)
        self.torch = sys.modules["torch"]  # loaded: the parameters are its tensors
        self._minus_ones: dict[Any, Array] = {}

    def buffers(self, sizes: Sequence[int], n: int, dtype: Any, device: Any) -> dict[str, list[Array]]:
        empty = self.torch.empty
        return {
            "z": [empty((n, k), dtype=dtype, device=device) for k in sizes[1:]],
            "d": [empty((n, k), dtype=dtype, device=device) for k in sizes[1:-1]],
        }

    def linear(self, h: Array, W: Array, b: Array, out: Array | None) -> Array:
        return self.torch.addmm(b, h, W, out=out)

    def activate(self, z: Array) -> Array:
        if self.act.name == "relu":
            return self.torch.relu_(z)
        if self.act.name == "tanh":
            return self.torch.tanh_(z)
        return self.act.f(z)

    def backward_act(self, d: Array, h: Array, mask: Array | None) -> Array:
        if self.act.name == "relu":  # d <- d * 1[h > 0] in one pass, as autograd's ReLU does
            return self.torch.ops.aten.threshold_backward.grad_input(d, h, 0, grad_input=d)
        if self.act.name == "tanh":
            return d.mul_(1.0 - h * h)
        return d.mul_(self.act.df(h))

    def grads_into(self, h: Array, dz: Array, GW: Array, Gb: Array) -> None:
        self.torch.mm(h.T, dz, out=GW)
        self.torch.sum(dz, dim=0, out=Gb)

    def back(self, dz: Array, W: Array, out: Array | None) -> Array:
        return self.torch.mm(dz, W.T, out=out)

    def softmax_ce(self, z: Array, y: Array) -> tuple[Array, Array]:
        torch = self.torch
        logp = torch.log_softmax(z, dim=1)
        loss = torch.nn.functional.nll_loss(logp, y)  # the mean of -log p_y
        dz = logp.exp_()  # softmax, in the buffer of the log-softmax
        dz.scatter_add_(1, y[:, None], self._minus_one(z))  # - onehot
        return loss, dz.div_(z.shape[0])

    def _minus_one(self, z: Array) -> Array:
        key = (z.shape[0], z.dtype, z.device)
        cached = self._minus_ones.get(key)
        if cached is None:
            cached = self._minus_ones[key] = self.torch.full((z.shape[0], 1), -1.0, dtype=z.dtype, device=z.device)
        return cached

    def count_right(self, correct: Any, z: Array, y: Array) -> Array:
        if z.ndim == 2 and y.ndim == 1:  # softmax labels: argmax against the label, no wrapper in between
            return (z.argmax(dim=1) == y).sum()
        return super().count_right(correct, z, y)


def _ops_for(theta: Array, xp: Any, act: Activation) -> _Ops:
    """The operations for ``theta``'s library: PyTorch's, CuPy's ``out=`` forms, or the plain standard."""
    if aac.is_torch_array(theta):
        return _TorchOps(xp, act)
    if aac.is_cupy_array(theta):
        return _OutOps(xp, act, sys.modules["cupy"])
    return _Ops(xp, act)


class PortableBackprop:
    """Loss and gradient of one network on batches of rows of any Array API namespace, into ``grads``.

    ``theta`` is the network's flat parameter vector (``MLP.flat_params``), read at every call through
    views, so an optimiser may update it in place between calls; ``grads`` a vector of its shape that
    receives the gradient. The loss and the count of rows predicted right come back as 0-d arrays.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str,
        output: str,
        theta: Array,
        grads: Array,
        alpha: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        self.sizes = list(sizes)
        self.xp = xp = namespace_of(theta)
        self.act = ACTIVATIONS[activation]
        self.head = HEADS[output]
        self.fast_softmax = output == "softmax"
        self.alpha, self.l1 = float(alpha), float(l1)
        self.ops = _ops_for(theta, xp, self.act)
        self.dtype, self.device = theta.dtype, aac.device(theta)
        self.W: list[Array] = []
        self.b: list[Array] = []
        self.GW: list[Array] = []
        self.Gb: list[Array] = []
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            w_end = offset + fan_in * fan_out
            self.W.append(xp.reshape(theta[offset:w_end], (fan_in, fan_out)))
            self.GW.append(xp.reshape(grads[offset:w_end], (fan_in, fan_out)))
            self.b.append(theta[w_end : w_end + fan_out])
            self.Gb.append(grads[w_end : w_end + fan_out])
            offset = w_end + fan_out
        if offset != math.prod(theta.shape) or tuple(grads.shape) != tuple(theta.shape):
            raise ValueError(f"the flat buffers hold {theta.shape} and {grads.shape} numbers, the sizes need {offset}.")
        self._buffers_by_n: dict[int, dict[str, list[Array]]] = {}

    def prepare(self, X: Array) -> Array:
        """The rows as they are (the interface of the NumPy engine, whose ``prepare`` adds a column of ones)."""
        return X

    def _buffers(self, n: int) -> dict[str, list[Array]]:
        buf = self._buffers_by_n.get(n)
        if buf is None:
            buf = self._buffers_by_n[n] = self.ops.buffers(self.sizes, n, self.dtype, self.device)
        return buf

    def _forward(self, X: Array, buf: dict[str, list[Array]]) -> list[Array]:
        """``[h_0 = X, h_1, ..., h_L, z]``: every layer's output, the logits last."""
        hs = [X]
        last = len(self.W) - 1
        for i in range(last + 1):
            z = self.ops.linear(hs[-1], self.W[i], self.b[i], buf["z"][i] if "z" in buf else None)
            hs.append(self.ops.activate(z) if i < last else z)
        return hs

    def logits(self, X: Array) -> Array:
        """Logits (N, K) of the rows ``X`` (a buffer reused by the next call: copy to keep)."""
        return self._forward(X, self._buffers(X.shape[0]))[-1]

    def __call__(self, X: Array, y: Array, sample_weight: Array | None = None) -> tuple[Array, Array | int]:
        """Loss (0-d array) and number of rows predicted right (0-d array; 0 for regression) of the batch
        ``(X, y)``; the gradient is written into ``grads``."""
        xp, buf = self.xp, self._buffers(X.shape[0])
        hs = self._forward(X, buf)
        z = hs.pop()
        if self.fast_softmax and sample_weight is None:
            loss, dz = self.ops.softmax_ce(z, y)
        else:
            loss, dz = loss_and_dz_lazy(self.head, z, y, sample_weight)
        n_correct: Array | int = 0
        if self.head.correct is not None:
            n_correct = self.ops.count_right(self.head.correct, z, y)
        for i in range(len(self.W) - 1, -1, -1):
            self.ops.grads_into(hs[i], dz, self.GW[i], self.Gb[i])
            if i:
                d = self.ops.back(dz, self.W[i], buf["d"][i - 1] if "d" in buf else None)
                dz = self.ops.backward_act(d, hs[i], buf["mask"][i - 1] if "mask" in buf else None)
        if self.alpha or self.l1:
            for W, GW in zip(self.W, self.GW):
                loss = loss + xp.sum(penalty_terms(W, self.alpha, self.l1))
                GW += penalty_grad(W, self.alpha, self.l1)
        return loss, n_correct
