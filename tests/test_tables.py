"""Three-column profile tables and the nanoconfinement-md folder naming, on the real files."""

from __future__ import annotations

import numpy as np
import pytest

from uqsurrogate.data import (
    parse_run_name,
    read_run_folder,
    read_table_run,
    runs_to_dataset,
)
from uqsurrogate.data.tables import read_table, regular_grid_mask


def test_parse_run_name_all_folders(run_dirs):
    for folder in run_dirs:
        got = parse_run_name(folder.name)
        # independent reading of the documented naming scheme
        tokens = dict(t.split("Z", 1) and (t[0], t[1:]) for t in folder.name.split("_")[1:])
        assert got["h"] == float(tokens["Z"])
        assert got["c"] == float(tokens["c"])
        assert got["d_plus"] == float(tokens["d"])
        assert got["d_minus"] == float(tokens["a"])
        assert got["sigma"] == float(tokens["i"])
        assert got["valency_cation"] == 1 and got["valency_anion"] == -1
        assert got["md_steps"] in (1e4, 1e5)


def test_parse_run_name_example():
    got = parse_run_name("lammps_T0.001_Z3_p1_nminus1_c0.5_d0.474_a0.627_i-0.01_S100000")
    assert got == {
        "md_timestep": 0.001, "h": 3.0, "valency_cation": 1.0, "valency_anion": -1.0, "c": 0.5,
        "d_plus": 0.474, "d_minus": 0.627, "sigma": -0.01, "md_steps": 100000.0,
    }


@pytest.mark.parametrize(
    "name, match",
    [
        ("lammps_Z3_c0.5_d0.4_a0.6", r"does not give \['sigma'\]"),
        ("lammps_Z3_c0.5_d0.4_a0.6_i-0.01_Q7", "cannot read token 'Q7'"),
        ("lammps_Zthree_c0.5_d0.4_a0.6_i-0.01", "cannot read token 'Zthree'"),
    ],
)
def test_parse_run_name_errors(name, match):
    with pytest.raises(ValueError, match=match):
        parse_run_name(name)


def test_imported_values_equal_the_file(run_dirs):
    for folder in run_dirs:
        run = read_run_folder(folder)
        h, d_plus = parse_run_name(folder.name)["h"], parse_run_name(folder.name)["d_plus"]
        for k, fname in enumerate(("p_density_profile.dat", "n_density_profile.dat")):
            raw = np.loadtxt(folder / fname)
            # the project's front end inserted the cation contact points z = ±(h/2 - d+/2)
            inserted = np.isclose(np.abs(raw[:, 0]), h / 2 - d_plus / 2, atol=5e-4)
            assert inserted.sum() == 2
            np.testing.assert_array_equal(run.density[k], raw[~inserted, 1])
            np.testing.assert_array_equal(run.error[k], raw[~inserted, 2])
        centres = 0.5 * (run.edges[1:] + run.edges[:-1])
        assert run.edges[0] == pytest.approx(-h / 2, abs=1e-4) and run.edges[-1] == pytest.approx(h / 2, abs=1e-4)
        np.testing.assert_allclose(np.diff(run.edges), h / (run.edges.size - 1), atol=2e-5)
        assert centres.size in (126, 84)


def test_same_grid_import_needs_no_rebinning(run_dirs):
    run = read_run_folder(run_dirs[2])
    ds = runs_to_dataset([run])
    assert ds.sizes["bin"] == 126
    np.testing.assert_allclose(ds["density"].values[0], run.density, rtol=1e-9, atol=1e-12)


def test_explicit_inputs_override_the_name(run_dirs):
    inputs = {"h": 3.0, "c": 0.55, "d_plus": 0.474, "d_minus": 0.627, "sigma": 0.0}
    run = read_table_run(run_dirs[0] / "p_density_profile.dat", run_dirs[0] / "n_density_profile.dat", inputs)
    assert run.inputs == inputs


def test_wrong_h_is_refused(run_dirs):
    inputs = {"h": 4.0, "c": 0.5, "d_plus": 0.474, "d_minus": 0.627, "sigma": 0.0}
    with pytest.raises(ValueError, match=r"spans \[-1.5, 1.5\] nm, but h = 4 nm"):
        read_run_folder(run_dirs[0], inputs)


def _copy_run(src, dst, cation=None, anion=None):
    dst.mkdir()
    for name, text in (("p_density_profile.dat", cation), ("n_density_profile.dat", anion)):
        (dst / name).write_text(text if text is not None else (src / name).read_text())
    return dst


def test_truncated_file(tmp_path, run_dirs):
    text = (run_dirs[2] / "p_density_profile.dat").read_text()
    cut = text[: len(text) // 2].rsplit(" ", 1)[0]  # stops in the middle of a line
    folder = _copy_run(run_dirs[2], tmp_path / run_dirs[2].name, cation=cut)
    with pytest.raises(ValueError, match=r"p_density_profile.dat, line 6\d: 2 columns, expected 3 \(z n err\)"):
        read_run_folder(folder)


def test_missing_column(tmp_path, run_dirs):
    text = (run_dirs[2] / "n_density_profile.dat").read_text()
    two = "\n".join(" ".join(line.split()[:2]) for line in text.splitlines())
    folder = _copy_run(run_dirs[2], tmp_path / run_dirs[2].name, anion=two)
    with pytest.raises(ValueError, match=r"n_density_profile.dat, line 1: 2 columns, expected 3"):
        read_run_folder(folder)


def test_empty_file(tmp_path, run_dirs):
    folder = _copy_run(run_dirs[2], tmp_path / run_dirs[2].name, cation="")
    with pytest.raises(ValueError, match="no data lines"):
        read_run_folder(folder)


def test_non_numeric(tmp_path, run_dirs):
    folder = _copy_run(run_dirs[2], tmp_path / run_dirs[2].name, cation="-1.4 0.1 abc\n")
    with pytest.raises(ValueError, match="line 1: not numbers"):
        read_run_folder(folder)


def test_mismatched_cation_anion_grids(tmp_path, run_dirs):
    # cation file of a 126-bin run with the anion file of an 84-bin run
    anion = (run_dirs[3] / "n_density_profile.dat").read_text()
    folder = _copy_run(run_dirs[2], tmp_path / run_dirs[2].name, anion=anion)
    with pytest.raises(ValueError, match="cation and anion grids differ"):
        read_run_folder(folder)


def test_negative_error_in_file(tmp_path, run_dirs):
    lines = (run_dirs[2] / "p_density_profile.dat").read_text().splitlines()
    z, n, _ = lines[60].split()
    lines[60] = f"{z} {n} -0.01"
    folder = _copy_run(run_dirs[2], tmp_path / run_dirs[2].name, cation="\n".join(lines))
    with pytest.raises(ValueError, match=f"negative error -0.01 at z = {float(z):g} nm"):
        read_run_folder(folder)


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        read_run_folder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "nope.dat")


def test_regular_grid_mask():
    z = np.concatenate([np.arange(10) * 0.1, [0.33]])
    z.sort()
    mask = regular_grid_mask(z)
    assert mask.sum() == 10 and not mask[np.argmin(np.abs(z - 0.33))]
    assert regular_grid_mask(np.arange(5.0)).all()


def test_not_monovalent_is_refused(tmp_path, run_dirs):
    name = run_dirs[2].name.replace("p1", "p2")
    folder = _copy_run(run_dirs[2], tmp_path / name)
    with pytest.raises(ValueError, match="valency_cation = 2; the training-data contract covers monovalent ions only"):
        read_run_folder(folder)


