"""`study --refine` against the simulator's own indices, and against the plain direct route at equal cost.

    python benchmarks/bench_refine.py --study DIR [--budget 150] [--seeds 10] [--json FILE]

DIR holds a finished ``uqsurrogate study`` (its ``paper_sensitivity.nc``; run ``uqsurrogate
study --out DIR`` first, about 70 s).  Copies of it are refined in a scratch folder:

1. with ``--budget`` default runs (the issue's 150): the cells' table after every round and
   each cell's estimated further cost;
2. the estimate checked by spending it: the cheapest unfinished cell's estimated further
   cost (times the margin) spent on its concentration alone, as one round would (its next
   16 Sobol' points), and the cell fitted again (the embedded simulator's run length costs
   no wall time);
3. at the cost step 2 spent on each concentration, the plain direct route: the same number
   of default-length runs' worth (``sample --method pce`` on the oracle: scrambled Sobol'
   points, unweighted order-2 and order-4 PCE, bootstrap intervals, no noise correction).

4. over ``--seeds`` seeds (the Sobol' scrambling and the simulator's noise), at the budget
   and at four times it: per cell, how often it ends resolved, how far a resolved cell is
   from the reference (median and worst), and how often its 95 % interval holds it.

Every refined cell is set beside the low-noise reference of
``benchmarks/results/study_reference.json`` (``bench_study_reference.py``: order-4 PCE on
512 exact runs), and judged "within 5 points" on both indices.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
from _common import report

from uqsurrogate.active.oracles import SimulatorOracle
from uqsurrogate.observables import charge_density
from uqsurrogate.refine import RefineSettings, refine_study
from uqsurrogate.sensitivity import pce
from uqsurrogate.simulators import ElectrolyteSimulator
from uqsurrogate.study import _paper_problem

HERE = Path(__file__).parent


class NoisyRho:
    """ρ (C/m³) at fixed bins from default-length MD-like runs: X (m, 5) -> (m, len(bins)); row i has noise stream i."""

    def __init__(self, bins, seed):
        self.bins, self.seed, self.calls = list(bins), seed, 0
        self.simulator = ElectrolyteSimulator()

    def __call__(self, X):
        design = {n: X[:, i] for i, n in enumerate(("h", "c", "d_plus", "d_minus", "sigma"))}
        ds = self.simulator.run(design, seed=self.seed, start=self.calls)
        self.calls += len(X)
        return charge_density(ds["density"].values)[:, self.bins]


def cells_table(rec: xr.Dataset, ref: dict) -> list[dict]:
    rows = []
    for r in rec["round"].values:
        for i in range(rec.sizes["cell"]):
            cell = rec.sel(round=r).isel(cell=i)
            c, z = float(cell["c"]), float(cell["z"])
            truth = ref[(c, z)]
            s = cell["S1"].values
            rows.append({"round": int(r), "c": c, "z": z, "source": str(cell["source"].values),
                         "S_plus": float(s[0]), "S_minus": float(s[1]),
                         "S_plus_low": float(cell["S1_low"].values[0]), "S_plus_high": float(cell["S1_high"].values[0]),
                         "ratio": float(cell["resolution_ratio"]), "resolved": int(cell["resolved"]),
                         "needed_cost": float(cell["needed_cost"]), "runs": int(cell["runs"]),
                         "round_cost": float(rec["round_cost"].sel(round=r)),
                         "ref_plus": truth[0], "ref_minus": truth[1],
                         "off_points": 100 * max(abs(s[0] - truth[0]), abs(s[1] - truth[1]))})
    return rows


def spend_on(work: Path, settings: RefineSettings, c: float, z: float, cost: float):
    """Spend ``cost`` default runs on cell (c, z)'s concentration alone, as a round would, and fit it again.

    The refinement's own pieces: the concentration's runs so far, the next 16 of its Sobol'
    points at length cost / 16, the cell's window; returns the cell's direct-route result and
    the cost spent.
    """
    from uqsurrogate.refine import _assess, _bins, _problem, _Slice, _sobol

    sens = xr.load_dataset(work / "paper_sensitivity.nc")
    doc = json.loads((work / "refine" / "settings.json").read_text())
    cells = [tuple(map(float, key.split(","))) for key in doc["windows"]]
    concentrations = sorted({cc for cc, _ in cells})
    zs = [zz for cc, zz in cells if cc == c]
    problem = _problem(sens, c)
    oracle = SimulatorOracle(seed=settings.seed)
    sl = _Slice(concentrations.index(c), c, problem, zs, _bins(sens, oracle.simulator, 4.5),
                [doc["windows"][f"{c:g},{zz:g}"] for zz in zs])
    for part in sorted((work / "refine").glob(f"round-*-c{c:g}.nc")):
        ds = xr.load_dataset(part)
        sl.runs.append(ds)
        sl.lengths.append(np.full(ds.sizes["sample"],
                                  json.loads(ds.attrs["simulator"])["noise"]["configs_per_block"] / 15000))
        sl.used += ds.sizes["sample"]
    n = settings.runs_per_round
    X = problem.full(problem.ppf(_sobol(settings.seed, sl.index, sl.used, n)))
    _, length = oracle.with_length(cost / n)
    sl.runs.append(oracle(X, 10_000, problem.names, length=cost / n))  # a round id no refinement round uses
    sl.lengths.append(np.full(n, length))
    res, _ = _assess(sl, settings)
    return res.isel(output=zs.index(z)), length * n


def over_seeds(study: Path, budget: float, seeds: int, ref: dict, tmp: Path) -> dict:
    """The refinement at ``budget`` for seeds 0 .. seeds - 1: per cell, resolved share, distance, coverage."""
    cells: dict = {}
    spent = []
    for seed in range(seeds):
        work = tmp / f"seed-{budget:g}-{seed}"
        work.mkdir()
        shutil.copy(study / "paper_sensitivity.nc", work)
        out = refine_study(work, RefineSettings(budget=budget, seed=seed))
        spent.append(out["spent"])
        last = out["record"].isel(round=-1)
        for i in range(last.sizes["cell"]):
            cell = last.isel(cell=i)
            key = f"{float(cell['c']):g},{float(cell['z']):g}"
            truth = ref[(float(cell["c"]), float(cell["z"]))]
            entry = cells.setdefault(key, {"resolved": 0, "off_points": [], "covered": 0})
            if int(cell["resolved"]):
                entry["resolved"] += 1
                entry["off_points"].append(100 * max(abs(float(cell["S1"][k]) - truth[k]) for k in range(2)))
                entry["covered"] += all(float(cell["S1_low"][k]) <= truth[k] <= float(cell["S1_high"][k])
                                        for k in range(2))
        shutil.rmtree(work)
    summary = {}
    for key, e in cells.items():
        off = e["off_points"]
        summary[key] = {"resolved": f"{e['resolved']}/{seeds}",
                        "median_off_points": float(np.median(off)) if off else None,
                        "max_off_points": float(np.max(off)) if off else None,
                        "covered": f"{e['covered']}/{e['resolved']}"}
    return {"budget": budget, "seeds": seeds, "spent_mean": float(np.mean(spent)), "cells": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, required=True, help="a finished `uqsurrogate study --out` folder")
    ap.add_argument("--budget", type=float, default=150.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=10, help="seeds of the spread (default 10)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    ref_doc = json.loads((HERE / "results" / "study_reference.json").read_text())
    ref = {(r["c"], r["z"]): (r["ref_plus"], r["ref_minus"]) for r in ref_doc["cells"]}
    res: dict = {"budget": args.budget, "seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "study"
        work.mkdir()
        shutil.copy(args.study / "paper_sensitivity.nc", work)
        t = time.perf_counter()
        first = refine_study(work, RefineSettings(budget=args.budget, seed=args.seed))
        res["at_budget"] = {"spent": first["spent"], "seconds": round(time.perf_counter() - t, 1),
                            "cells": cells_table(first["record"], ref)}
        last = first["record"].isel(round=-1)
        need = last["needed_cost"].values
        open_ = np.isfinite(need) & (need > 0)
        if open_.any():
            k = int(np.argmin(np.where(open_, need, np.inf)))
            c, z = float(last["c"][k]), float(last["z"][k])
            margin = RefineSettings(budget=1).margin
            t = time.perf_counter()
            check, spent_on = spend_on(work, RefineSettings(budget=args.budget, seed=args.seed), c, z,
                                       margin * float(need[k]))
            truth = ref[(c, z)]
            s = check["S1"].values
            res["estimate_check"] = {
                "cell": {"c": c, "z": z}, "estimated_further_cost": float(need[k]), "spent": spent_on,
                "seconds": round(time.perf_counter() - t, 1), "ratio": float(check["resolution_ratio"]),
                "resolved": int(check["resolved"]), "S_plus": float(s[0]), "S_minus": float(s[1]),
                "S_plus_low": float(check["S1_low"].values[0]), "S_plus_high": float(check["S1_high"].values[0]),
                "half_width_points": 100 * float((check["S1_high"] - check["S1_low"]).max() / 2),
                "ref_plus": truth[0], "ref_minus": truth[1],
                "off_points": 100 * max(abs(s[0] - truth[0]), abs(s[1] - truth[1]))}
            per_c = {}  # the cost each concentration has had, with the check's runs
            for part in (work / "refine").glob("round-*-c*.nc"):
                ds = xr.load_dataset(part)
                length = json.loads(ds.attrs["simulator"])["noise"]["configs_per_block"] / 15000
                key = float(ds["c"].values[0])
                per_c[key] = per_c.get(key, 0.0) + length * ds.sizes["sample"]
            per_c[c] = per_c.get(c, 0.0) + spent_on
            # the plain direct route at the same cost per concentration
            sens = xr.load_dataset(args.study / "paper_sensitivity.nc")
            grid_z = sens["z_bin"].values
            from uqsurrogate.surrogate.zgrid import uniform_slit_centres

            grid = uniform_slit_centres(4.5, ElectrolyteSimulator().n_bins)
            bins = [int(np.argmin(abs(grid - z))) for z in grid_z]
            plain = []
            for c, cost in per_c.items():
                n = round(cost)
                for order in (2, 4):
                    if n < 2 * (order + 1) * (order + 2) // 2:
                        continue  # too few runs for the expansion
                    t = time.perf_counter()
                    r = pce(NoisyRho(bins, seed=1000 + args.seed), _paper_problem(c), n, order=order,
                            seed=args.seed, ci="bootstrap", resamples=200, progress=False)
                    for j, z in enumerate(sens["z"].values):
                        truth = ref[(c, float(z))]
                        s = r["S1"].values[:, j]
                        plain.append({"c": c, "z": float(z), "order": order, "runs": n, "S_plus": float(s[0]),
                                      "S_minus": float(s[1]), "S_plus_low": float(r["S1_low"].values[0, j]),
                                      "S_plus_high": float(r["S1_high"].values[0, j]),
                                      "off_points": 100 * max(abs(s[0] - truth[0]), abs(s[1] - truth[1])),
                                      "seconds": round(time.perf_counter() - t, 1)})
            res["plain_direct_equal_cost"] = plain
        res["over_seeds"] = [over_seeds(args.study, budget, args.seeds, ref, Path(tmp))
                             for budget in (args.budget, 4 * args.budget)]
    report(res, args.json)


if __name__ == "__main__":
    main()
