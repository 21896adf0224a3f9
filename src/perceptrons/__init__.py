"""perceptrons: perceptrons and multi-layer perceptrons from scratch, in NumPy, checked to the last digit."""

from __future__ import annotations

from . import datasets
from .core import (
    MLP,
    SGD,
    Adam,
    GradCheckResult,
    History,
    TrainingDiverged,
    gradcheck,
    loss_and_grads,
    train,
    train_many,
)
from .estimator import PerceptronClassifier, PerceptronRegressor
from .io import load
from .sweep import SweepResult, sweep

__version__ = "0.1.0"
__all__ = [
    "MLP",
    "PerceptronClassifier",
    "PerceptronRegressor",
    "SGD",
    "SweepResult",
    "Adam",
    "GradCheckResult",
    "History",
    "TrainingDiverged",
    "datasets",
    "gradcheck",
    "load",
    "loss_and_grads",
    "sweep",
    "train",
    "train_many",
]
