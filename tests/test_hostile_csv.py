"""CSV parsing at speed (a chunk at a time, no Python per row) keeps what the careful path gave: blank rows
skipped wherever they fall, the exact line of a bad cell far into the file after quoted line breaks, labels
that differ only by surrounding spaces merged as before, and progress that ends at the whole file."""

import numpy as np
import pytest

from perceptrons.datasets import _CHUNK_CELLS, load_csv, parse_csv

ROWS = 3 * _CHUNK_CELLS  # several chunks at width 3


def _rows(n, bad_at=None, bad="oops"):
    """Data rows 'i,2i,label' where label spans two lines ("a\\nb", quoted) on every 7th row."""
    out = []
    for i in range(n):
        lab = '"a\nb"' if i % 7 == 0 else ("x" if i % 2 else "y")
        out.append(f"{bad if i == bad_at else i},{2 * i},{lab}\n")
    return out


@pytest.mark.parametrize("bad_at", [5, ROWS - 3])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_line_of_a_bad_cell_counts_quoted_line_breaks_and_blank_lines(bad_at, newline):
    rows = _rows(ROWS, bad_at)
    text = "\n\nf,g,label\n" + "".join(r if k % 100 else r + "\n" for k, r in enumerate(rows))  # blank lines too
    text = text.replace("\n", newline)
    # the oracle: the line where the bad row starts, counted in the text itself
    line = text[: text.index(newline + "oops,") + len(newline)].count(newline) + 1
    with pytest.raises(ValueError, match=rf"line {line}, column 1 \('f'\): expected a number, found 'oops'"):
        parse_csv(text)


def test_blank_and_delimiter_only_rows_are_skipped_in_any_chunk():
    rows = _rows(ROWS)
    text = "f,g,label\n" + "".join(
        r + (",,\n" if k % 999 == 0 else "") + ("  \n" if k % 1001 == 0 else "") for k, r in enumerate(rows)
    )
    X, y, classes = parse_csv(text)
    np.testing.assert_array_equal(X, np.column_stack([np.arange(ROWS), 2 * np.arange(ROWS)]))
    assert sorted(classes.tolist()) == ["a\nb", "x", "y"]
    assert classes[y][0] == "a\nb" and classes[y][1] == "x" and classes[y][2] == "y"


def test_labels_are_stripped_then_merged_across_chunks():
    n = ROWS
    text = "f,label\n" + "".join(f"{i},{' x' if i % 3 == 0 else ('x ' if i % 3 == 1 else 'x')}\n" for i in range(n))
    X, y, classes = parse_csv(text)
    assert classes.tolist() == ["x"] and (y == 0).all() and len(y) == n


@pytest.mark.parametrize(
    "cell, words", [("inf", "finite number, found 'inf'"), ("", "expected a number, found '<empty>'")]
)
def test_non_finite_and_empty_cells_far_into_the_file(cell, words):
    rows = _rows(ROWS, ROWS - 1, bad=cell)
    with pytest.raises(ValueError, match=words):
        parse_csv("f,g,label\n" + "".join(rows))


def test_missing_label_and_ragged_row_far_into_the_file():
    rows = _rows(ROWS)
    with pytest.raises(ValueError, match=r"the label is missing"):
        parse_csv("f,g,label\n" + "".join(rows) + "1,2,  \n")
    with pytest.raises(ValueError, match=r"found 4 \(a ragged row\)"):
        parse_csv("f,g,label\n" + "".join(rows) + "1,2,x,9\n")


def test_progress_rises_to_the_whole_file(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("f,g,label\n" + "".join(_rows(ROWS)))
    seen = []
    X, y, classes = load_csv(p, progress=lambda msg, frac: seen.append(frac))
    assert len(X) == ROWS
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0 and 0 < seen[0] < 1
