"""perceptrons: perceptrons and multi-layer perceptrons from scratch, in NumPy, checked to the last digit."""

from __future__ import annotations

from . import datasets
from .estimator import PerceptronClassifier
from .gradcheck import GradCheckResult, gradcheck
from .io import load
from .network import MLP, loss_and_grads
from .optim import SGD, Adam
from .training import History, train

__version__ = "0.1.0"
__all__ = [
    "MLP",
    "PerceptronClassifier",
    "SGD",
    "Adam",
    "GradCheckResult",
    "History",
    "datasets",
    "gradcheck",
    "load",
    "loss_and_grads",
    "train",
]
