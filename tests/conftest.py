import os

# scikit-learn runs its array-API estimator check (NumPy namespace) only when this is set; it must be
# set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
