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


SOLUTION = (Path(__file__).parent / "solutions" / "loops_relu.py").read_text()


def solved_cell(name, mistake=None):
    """The body of ``name`` from a learner's correct solution, with an optional (old, new) mistake."""
    start = SOLUTION.index(f"\ndef {name}(")
    end = SOLUTION.find("\ndef ", start + 1)
    text = SOLUTION[start : len(SOLUTION) if end < 0 else end].strip() + "\n"
    return text.replace(*mistake) if mistake else text


def run_exercises(tmp_path, mistakes):
    path = Path(__file__).parents[1] / "examples" / "exercises.ipynb"
    nb = nbformat.read(path, as_version=4)
    stubs = [c for c in nb.cells if c.metadata.get("exercise")]
    assert len(stubs) == 13 and all("NotImplementedError" in c.source for c in stubs)
    for c in stubs:
        c.source = "import numpy as np\nimport numpy.random as rand\n" + solved_cell(
            c.metadata["exercise"], mistakes.get(c.metadata["exercise"])
        )
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)


def test_exercise_notebook_with_the_answers_filled_in_passes_every_check(tmp_path):
    text = run_exercises(tmp_path, {})
    assert "FAILED: 0" not in text and text.count("PASSED") >= 7 and "13 of 13 checked functions pass" in text


def test_exercise_notebook_with_a_planted_mistake_names_it(tmp_path):
    text = run_exercises(tmp_path, {"d_tanh_hidden": ("1 - hidden**2", "1 - np.tanh(hidden) ** 2")})
    assert "d_tanh_hidden  FAILED" in text and "applied to the output twice" in text
    assert "12 of 13 checked functions pass" in text
