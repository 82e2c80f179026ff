"""LAMMPS fix ave/chunk import, checked against an independent numpy reading of the blocks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LAMMPS, LAMMPS_INPUTS

from uqsurrogate.data import read_ave_chunk, read_lammps_run, runs_to_dataset
from uqsurrogate.data.lammps import ave_chunk_profile

CATION, ANION = LAMMPS / "cation_density.lmp.dat", LAMMPS / "anion_density.lmp.dat"
#: 1 / Å^3 in mol/L: 1e27 per litre over Avogadro's number (the README's 1660.54).
PER_A3_IN_MOLAR = 1e27 / 6.02214076e23


def independent_blocks(path):
    """Chunk rows (4 fields) reshaped into blocks; block headers have 3 fields."""
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    headers = [r for r in rows if len(r) == 3]
    chunks = np.array([r for r in rows if len(r) == 4], dtype=float)
    return chunks.reshape(len(headers), -1, 4)


def test_parse_blocks():
    parsed = read_ave_chunk(CATION)
    blocks = independent_blocks(CATION)
    assert parsed.values.shape == (9, 100)
    np.testing.assert_array_equal(parsed.timesteps, np.arange(2, 11) * 10000)
    np.testing.assert_array_equal(parsed.values, blocks[:, :, 3])
    np.testing.assert_array_equal(parsed.coord, blocks[0, :, 1])
    assert parsed.columns == ("Chunk", "Coord1", "Ncount", "density/number")


@pytest.mark.parametrize("path", [CATION, ANION])
def test_mean_and_error_equal_numpy(path):
    run = read_lammps_run(CATION, ANION, LAMMPS_INPUTS)
    k = 0 if path == CATION else 1
    blocks = independent_blocks(path)[:, :, 3]
    np.testing.assert_allclose(run.density[k], blocks.mean(axis=0) * PER_A3_IN_MOLAR, rtol=1e-12)
    # paper Eq. 4: sqrt(1/S sum_s (n_s - mean)^2), i.e. the ddof=0 standard deviation of the blocks
    np.testing.assert_allclose(run.error[k], blocks.std(axis=0, ddof=0) * PER_A3_IN_MOLAR, rtol=1e-12)
    sem = read_lammps_run(CATION, ANION, LAMMPS_INPUTS, error="sem")
    np.testing.assert_allclose(
        sem.error[k], blocks.std(axis=0, ddof=1) / np.sqrt(blocks.shape[0]) * PER_A3_IN_MOLAR, rtol=1e-12
    )


def test_units_and_grid():
    run = read_lammps_run(CATION, ANION, LAMMPS_INPUTS)
    # 100 chunks of 0.45 Å = 0.045 nm between walls at ±2.25 nm
    np.testing.assert_allclose(run.edges, np.linspace(-2.25, 2.25, 101), atol=1e-12)
    # bulk concentration near the midplane is of the order of the nominal 0.5 M
    mid = run.density[:, 40:60].mean(axis=1)
    assert np.all((mid > 0.2) & (mid < 1.0))
    # ions in the 8 x 8 nm^2 box agree with the block headers' Total-count column, and the
    # 12 extra cations neutralise the walls
    per_area = (run.density * np.diff(run.edges)).sum(axis=1) * 6.02214076e23 / 1e24  # ions per nm^2
    totals = [
        np.mean([float(ln.split()[2]) for ln in p.read_text().splitlines() if len(ln.split()) == 3 and ln[0] != "#"])
        for p in (CATION, ANION)
    ]
    np.testing.assert_allclose(per_area * 64, totals, rtol=1e-6)
    assert totals[0] - totals[1] == pytest.approx(12)


def test_lj_units_scale():
    real = read_lammps_run(CATION, ANION, LAMMPS_INPUTS)
    lj = read_lammps_run(CATION, ANION, LAMMPS_INPUTS, units="lj", length_scale=0.1)
    np.testing.assert_allclose(lj.density, real.density, rtol=1e-12)
    np.testing.assert_allclose(lj.edges, real.edges, rtol=1e-12)


def test_skip_blocks():
    run = read_lammps_run(CATION, ANION, LAMMPS_INPUTS, skip_blocks=3)
    blocks = independent_blocks(CATION)[3:, :, 3]
    np.testing.assert_allclose(run.density[0], blocks.mean(axis=0) * PER_A3_IN_MOLAR, rtol=1e-12)
    with pytest.raises(ValueError, match="skip_blocks = 8 leaves 1 of 9 blocks"):
        ave_chunk_profile(independent_blocks(CATION)[:, :, 3], skip_blocks=8)


def test_no_rebinning_when_bins_match():
    run = read_lammps_run(CATION, ANION, LAMMPS_INPUTS)
    ds = runs_to_dataset([run], n_bins=100)
    np.testing.assert_allclose(ds["density"].values[0], run.density, rtol=1e-12)
    np.testing.assert_allclose(ds["z"].values[0], independent_blocks(CATION)[0, :, 1] / 10, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"units": "lj"}, "units = 'lj' needs length_scale > 0"),
        ({"units": "furlong"}, "units = 'furlong'; allowed: lj, real"),
        ({"length_scale": 0.3}, "length_scale = 0.3 is only for units = 'lj'"),
        ({"error": "bootstrap"}, "error = 'bootstrap'; allowed: paper-eq4, sem"),
        ({"column": "density/mass"}, "column 'density/mass' not found; the file has columns Chunk, Coord1"),
        ({"skip_blocks": -1}, "skip_blocks = -1"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        read_lammps_run(CATION, ANION, LAMMPS_INPUTS, **kwargs)


def test_wrong_h_is_refused():
    with pytest.raises(ValueError, match=r"spans \[-2.25, 2.25\] nm, but h = 3 nm"):
        read_lammps_run(CATION, ANION, {**LAMMPS_INPUTS, "h": 3.0})


def test_truncated_file(tmp_path):
    text = CATION.read_text()
    cut = tmp_path / "cut.dat"
    cut.write_text(text[: int(len(text) * 0.95)].rsplit("\n", 1)[0] + "\n")
    with pytest.raises(ValueError, match=r"block 9 \(timestep 100000\) is truncated: expected 100 chunk rows"):
        read_ave_chunk(cut)
    cut.write_text(text[: int(len(text) * 0.95)])  # last line cut mid-row
    with pytest.raises(ValueError, match="truncated"):
        read_ave_chunk(cut)


def test_missing_column_in_rows(tmp_path):
    lines = CATION.read_text().splitlines()
    lines[10] = " ".join(lines[10].split()[:3])
    bad = tmp_path / "bad.dat"
    bad.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"bad.dat, line 11: 3 fields, expected 4"):
        read_ave_chunk(bad)


def test_not_an_ave_chunk_file(tmp_path):
    other = tmp_path / "other.dat"
    other.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(ValueError, match="not a fix ave/chunk file"):
        read_ave_chunk(other)


def test_mismatched_grids(tmp_path):
    lines = ANION.read_text().splitlines()
    header, body = lines[:3], lines[3:]
    # keep the first 50 chunks of every block
    out, i = [], 0
    while i < len(body):
        step, n, total = body[i].split()
        out.append(f"{step} 50 {total}")
        out.extend(body[i + 1 : i + 51])
        i += 1 + int(n)
    half = tmp_path / "half.dat"
    half.write_text("\n".join(header + out) + "\n")
    assert read_ave_chunk(half).values.shape == (9, 50)
    with pytest.raises(ValueError, match="cation and anion grids differ"):
        read_lammps_run(CATION, half, LAMMPS_INPUTS)
