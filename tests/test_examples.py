"""The example notebook runs from top to bottom (its cells assert what they claim)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient


def test_course_notebook_executes(tmp_path):
    path = Path(__file__).parents[1] / "examples" / "course.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum(o.output_type == "display_data" for o in outputs) >= 4  # the figures
