"""The core: the maths of a multi-layer perceptron, no I/O, no plots, no web.

Modules, each importing only those above it in this list:

- ``validation``  input checks shared by every entry point (what was expected, what arrived, how to fix it)
- ``devices``     which Array API library an array belongs to (array-api-compat), moving arrays, checks in place
- ``threads``     how many BLAS threads a call uses, chosen from the sizes of its products
- ``memory``      the bytes a request needs, checked against a limit before anything is allocated
- ``activations`` one record per activation: f, f' from the output, in-place forms
- ``heads``       one record per output head (softmax, logistic, identity): loss, dL/dz, prediction rule
- ``network``     ``MLP``, ``forward`` and the plain reference backward pass ``loss_and_grads``
- ``fused``       ``FusedBackprop``: the same backward pass arranged for speed, tested equal to the reference
- ``portable``    ``PortableBackprop``: the same pass for any other Array API library (PyTorch, CuPy): the GPU path
- ``gradcheck``   central differences of the reference loss, batched, kinks flagged
- ``optim``       SGD (momentum, Nesterov) and Adam, written as their formulas
- ``training``    ``train`` in named steps, ``History``, ``TrainingDiverged``
- ``many``        ``train_many``: K networks of the same sizes as one stack (``NetworkStack``), equal to K ``train`` calls
"""

from .activations import ACTIVATIONS, Activation
from .gradcheck import GradCheckResult, gradcheck
from .heads import HEADS, Head
from .many import NetworkStack, train_many
from .network import MLP, forward, loss_and_grads
from .optim import SGD, Adam
from .training import History, StepInfo, TrainingDiverged, train

__all__ = [
    "ACTIVATIONS",
    "HEADS",
    "MLP",
    "SGD",
    "Activation",
    "Adam",
    "GradCheckResult",
    "Head",
    "History",
    "NetworkStack",
    "StepInfo",
    "TrainingDiverged",
    "forward",
    "gradcheck",
    "loss_and_grads",
    "train",
    "train_many",
]
