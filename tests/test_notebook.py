"""examples/paper_study.ipynb: reads the main job's output folder, shows its table and figures, draws its own plot.

Executed with nbclient (the ``test`` extra) against a ``uqsurrogate study --quick`` output, with the slow checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "paper_study.ipynb"


def _read():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    return nb


def test_the_notebook_is_clean_and_takes_the_folder_at_the_top():
    nb = _read()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.startswith('study = "study"') and "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.outputs and c.execution_count is None for c in code), "stored outputs: clear them"


@pytest.mark.slow
def test_the_notebook_runs_on_a_study_output(quick_study, tmp_path):
    """Run as a user would, from the folder above the study's, with ``study`` set to that folder."""
    nbclient = pytest.importorskip("nbclient")
    nb = _read()
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[0].source = f"study = {quick_study.name!r}"
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(quick_study.parent)}}).execute()
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert (quick_study / "paper_sensitivity_table.md").read_text() in shown  # the table, inline
    figures = sorted(quick_study.glob("*.png"))
    assert figures
    shown_png = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(shown_png) == len(figures) + 1  # every figure of the folder, and the notebook's own plot
    assert any(f"**{p.name}**" in shown for p in figures)
    assert "image/png" in code[-1].outputs[-1]["data"]  # the last cell draws its plot
