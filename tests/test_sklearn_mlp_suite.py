"""scikit-learn's own tests of ``MLPClassifier`` and ``MLPRegressor``, run against ours.

Nothing is copied: at collection time this module reads ``sklearn/neural_network/tests/test_mlp.py`` from
the installed scikit-learn, replaces its one import of the two estimators by ours, compiles the text under
its own file name (tracebacks point into scikit-learn's file) and hands its tests to pytest unchanged,
with the one fixture of scikit-learn's ``conftest.py`` they use (``global_random_seed``).
"""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest
import sklearn

SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
THEIRS = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OURS = "from perceptrons import PerceptronClassifier as MLPClassifier, PerceptronRegressor as MLPRegressor"


def _their_tests_on_ours() -> types.ModuleType:
    text = SOURCE.read_text(encoding="utf-8")
    if text.count(THEIRS) != 1:
        raise RuntimeError(f"{SOURCE} no longer imports the estimators as {THEIRS!r}; update this module.")
    module = types.ModuleType("sklearn_test_mlp_on_perceptrons")
    module.__file__ = str(SOURCE)
    exec(compile(text.replace(THEIRS, OURS), str(SOURCE), "exec"), module.__dict__)
    if module.MLPClassifier.__module__ != "perceptrons.estimator":
        raise RuntimeError("the rewritten test module does not test our estimators.")
    return module


_suite = _their_tests_on_ours()
globals().update({name: f for name, f in vars(_suite).items() if name.startswith("test_") and callable(f)})


def _seeds() -> list[int]:
    """scikit-learn's convention: ``SKLEARN_TESTS_GLOBAL_RANDOM_SEED`` is a seed, ``a-b`` a range or ``all``."""
    spec = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42")
    if spec == "all":
        return list(range(100))
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


@pytest.fixture(params=_seeds())
def global_random_seed(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def test_the_suite_is_theirs_and_whole():
    """The collected tests are those of scikit-learn's file (37 and more), each a function of that file."""
    tests = [name for name in vars(_suite) if name.startswith("test_")]
    assert len(tests) >= 37
    assert all(vars(_suite)[name].__code__.co_filename == str(SOURCE) for name in tests)
