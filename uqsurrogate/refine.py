"""Goal-oriented refinement: a study's unresolved cells turned into the few runs, placed and sized, that resolve them.

``uqsurrogate study --refine BUDGET`` (:func:`refine_study`) reads the study's unresolved
cells (``resolved_z == 0``) and answers each one by the *direct route*
(:mod:`uqsurrogate.active.direct`): runs of the oracle drawn from that concentration's own
distribution (the study's ``Problem``; scrambled Sobol' points continued round by round), a
weighted order-2 chaos expansion of ρ at the cell's bin, and the same resolution check as
the study's, with the label noise taken out of ρ's variance.  A cell is *done* when it is resolved (ρ's spread over the distribution at least
``threshold`` times the fit's error) and *precise* (each index's 95 % interval within
± ``tolerance``).  Cells the study resolved are left alone.

Where and how long: every run is drawn from the study's distribution, and only the total
sampling length counts for the fit (:mod:`uqsurrogate.active.cost`), so each round runs a
fixed number of points per concentration with the length the cost estimate asks for.

1. Round 1 is a pilot: ``runs_per_round`` default-length runs for each concentration with
   an unresolved cell (shortened if the budget cannot pay for it).
2. After every round the fit gives each cell's further costs: to resolve it
   (:func:`~uqsurrogate.active.cost.cost_to_resolve`) and to finish it, the larger of that
   and :func:`~uqsurrogate.active.cost.cost_for_precision`; both for the next round's own
   inputs, known before it runs.
3. The next round pays, times ``margin`` and cheapest first, for what resolves each cell,
   then for what finishes each, while the budget lasts; a concentration runs once for all
   its chosen cells.  When nothing more can be finished, the rest of the budget goes to the
   cheapest open cell (its interval narrows).  Every cell reports what it still needs
   (``cost_to_resolve``, ``needed_cost``).
4. It stops when every cell is done, no cell is affordable, or after ``max_rounds``.

Resumable: ``out/refine/`` holds the settings, each round's plan (written before its runs)
and each concentration's runs (written when they finish), all atomically; a rerun reuses
them and carries on to the same result.  A larger budget continues a finished refinement.

Why the direct route is the default here: the paper study varies two inputs, and an
order-2 expansion of ρ at a cell fits the simulator within 0.3 points of the indices; it
runs in seconds, its intervals held the simulator's own indices in 28 of 30 resolved cells
over ten seeds at a budget of 150 default runs (39 of 40 at 600), and its costs can be
estimated before they are paid.  The surrogate
route (the runs appended to the ensemble's data, warm starts, recalibration; measured in
``benchmarks/bench_refine_routes.py``) takes 10-12 minutes of warm starts per round on two
cores, and its resolution flags move with the warm start itself: runs in the whole box
raised the ratios about as much as runs in the study's distribution.  For studies of many
inputs the active-learning loop aims new runs at a study's distribution
(``ActiveSettings(problem=...)``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ._atomic import atomic_path, locks_output
from ._validation import check_float, check_int
from ._version import __version__
from .errors import InputError
from .results import flag_attrs

__all__ = ["RefineSettings", "refine_study", "refined_sensitivity", "unresolved_cells"]

logger = logging.getLogger(__name__)

REFINE_DIR = "refine"
#: Shortest run a plan asks for, in default runs.
MIN_LENGTH = 0.25
SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class RefineSettings:
    """How a refinement spends its budget (recorded in ``refine/settings.json``).

    Parameters
    ----------
    budget : float
        Total sampling length to spend, in default runs of the oracle (10 blocks x 15,000
        configurations for the embedded simulator).
    order : int, default 2
        Total degree of the direct route's expansion.
    threshold : float, default 3
        The resolution check's factor (as the study's).
    tolerance : float, default 0.05
        A cell is precise when each index's 95 % half-width is at most this (5 points).
    runs_per_round : int, default 16
        Runs per concentration and round (more than the expansion's terms).
    max_rounds : int, default 6
    margin : float, default 1.25
        Each cell's estimated further cost is multiplied by this (the estimate is noisy).
    seed : int, default 0
        Seeds the Sobol' points, the oracle's noise and the intervals.
    max_window : int, default 8
        Widest window (bins on each side) of the local cubic in z that stands for a cell's
        bin (:mod:`uqsurrogate.active.smoothing`): each cell takes the widest one whose
        indices, on the study's surrogate, show no structure the cubic would smooth away; 0
        uses the bin alone.
    """

    budget: float
    order: int = 2
    threshold: float = 3.0
    tolerance: float = 0.05
    runs_per_round: int = 16
    max_rounds: int = 6
    margin: float = 1.25
    seed: int = 0
    max_window: int = 8

    def __post_init__(self) -> None:
        from .sensitivity.pce import n_terms

        check_float(self.budget, "budget", 0, None, closed="neither")
        check_int(self.order, "order", min_value=1)
        check_float(self.threshold, "threshold", 0, None, closed="neither")
        check_float(self.tolerance, "tolerance", 0, 1, closed="neither")
        check_int(self.max_rounds, "max_rounds", min_value=1)
        check_float(self.margin, "margin", 1, None)
        check_int(self.seed, "seed", min_value=0)
        from .active.smoothing import WINDOWS

        check_int(self.max_window, "max_window", min_value=0, max_value=max(WINDOWS))
        terms = n_terms(2, self.order)
        check_int(self.runs_per_round, "runs_per_round", min_value=terms + 2)


def unresolved_cells(sens: xr.Dataset) -> list[tuple[float, float]]:
    """The (c, z) cells a study flags unresolved (``resolved_z == 0``), in the result's order.

    Parameters
    ----------
    sens : xarray.Dataset
        A :func:`uqsurrogate.study.paper_sensitivity` result with the resolution check.
    """
    if "resolved_z" not in sens:
        raise InputError("the study result has no resolution check (resolved_z): it needs a calibrated ensemble")
    flags = sens["resolved_z"].transpose("c", "z").values
    return [(float(c), float(z)) for i, c in enumerate(sens["c"].values) for j, z in enumerate(sens["z"].values)
            if not flags[i, j]]


def _problem(sens: xr.Dataset, c: float):
    from .problem import Problem

    problems = json.loads(sens.attrs["problem"])
    key = next((k for k in problems if np.isclose(float(k), c)), None)
    if key is None:
        raise InputError(f"the study result has no problem for c = {c:g}")
    return Problem.from_json(json.dumps(problems[key]))


def _bins(sens: xr.Dataset, simulator, h: float) -> dict[float, int]:
    """The simulator's bin of each z of the study (the bin the surrogate used, ``z_bin``)."""
    from .surrogate.zgrid import uniform_slit_centres

    grid = uniform_slit_centres(h, simulator.n_bins)
    out = {}
    for z, zb in zip(sens["z"].values, np.atleast_1d(sens["z_bin"].values)):
        k = int(np.argmin(np.abs(grid - float(zb))))
        if abs(grid[k] - float(zb)) > 1e-6:
            raise InputError(f"the study's bin at z = {float(zb):g} nm is not on the simulator's grid of "
                             f"{simulator.n_bins} bins")
        out[float(z)] = k
    return out


def _write_json(path: Path, doc: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))


def _sobol(seed: int, k: int, start: int, n: int) -> np.ndarray:
    """Points start .. start + n - 1 of concentration k's scrambled Sobol' sequence in (0, 1)²."""
    import warnings

    from scipy.stats import qmc

    sampler = qmc.Sobol(2, scramble=True, seed=np.random.default_rng([seed, k]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # balance properties want powers of 2: not needed here
        return np.clip(sampler.random(start + n)[start:], 1e-12, 1 - 1e-12)


class _Slice:
    """One concentration's cells and runs."""

    def __init__(self, index: int, c: float, problem, cells: list[float], bins: dict[float, int],
                 windows: list[int]):
        self.index, self.c, self.problem, self.cells = index, c, problem, cells
        self.bins = [bins[z] for z in cells]
        self.windows = windows
        self.runs: list[xr.Dataset] = []
        self.lengths: list[np.ndarray] = []
        self.used = 0  # Sobol' points drawn

    def arrays(self):
        from .active.cost import rho_standard_error
        from .observables import charge_density

        if not self.runs:
            return None
        ds = xr.concat(self.runs, dim="sample")
        from .active.smoothing import smooth_bin

        xv = np.stack([ds[n].values for n in self.problem.varied], axis=1)
        rho = charge_density(ds["density"].values)
        se = rho_standard_error(ds, np.arange(rho.shape[1]))
        pairs = [smooth_bin(rho, se, b, k) for b, k in zip(self.bins, self.windows)]
        y = np.stack([v for v, _ in pairs], axis=1)
        return xv, y, np.stack([e for _, e in pairs], axis=1), np.concatenate(self.lengths)


def _assess(sl: _Slice, settings: RefineSettings):
    """The direct route on a slice's runs so far: (result, further costs) or (None, None).

    The costs, shape (2, cells): to resolve each cell, and to finish it (resolved and precise);
    0 where that is reached already.
    """
    from .active.cost import cost_for_precision, cost_to_resolve, unit_variance
    from .active.direct import direct_indices
    from .sensitivity.pce import expansion_basis

    arrays = sl.arrays()
    if arrays is None:
        return None, None
    xv, y, se, lengths = arrays
    res, precision = direct_indices(xv, y, se, sl.problem, order=settings.order, threshold=settings.threshold,
                                    seed=np.random.default_rng([settings.seed, sl.index, len(y)]))
    u = unit_variance(se, lengths)
    coef = res["coefficients"].values
    # the next round's inputs are known now: the cost is that of this very design
    design = expansion_basis(sl.problem, settings.order,
                             sl.problem.ppf(_sobol(settings.seed, sl.index, sl.used, settings.runs_per_round)))
    resolve = cost_to_resolve(res["output_sd"].values, u, res.attrs["terms"], threshold=settings.threshold,
                              precision=precision, design=design)
    finish = np.maximum(resolve, cost_for_precision(coef, res["multi_index"].values, precision, u,
                                                    tolerance=settings.tolerance, design=design))
    resolved = res["resolved"].values == 1
    half = 0.5 * (res["S1_high"] - res["S1_low"]).max("input").values
    done = resolved & (half <= settings.tolerance)
    return res, np.stack([np.where(resolved, 0.0, resolve), np.where(done, 0.0, finish)])


def _plan(slices: list[_Slice], assessed: dict, settings: RefineSettings, spent: float) -> dict:
    """The next round: which concentrations run, how many runs and how long.

    Two passes over the cells, cheapest first: first what resolves each cell, then what
    finishes it (resolved and precise), each times the margin, while the budget lasts.  When
    neither pass can pay for anything, what is left goes to the cheapest open cell.  No run
    is shorter than ``MIN_LENGTH`` default runs.
    """
    left = settings.budget - spent
    n = settings.runs_per_round
    plan = {}
    pilots = [sl for sl in slices if not sl.runs]
    if pilots:
        length = min(1.0, left / (n * len(pilots)))
        for sl in pilots:
            plan[sl.index] = {"c": sl.c, "start": sl.used, "n": n, "length": length, "cells": sl.cells}
        return plan
    per_slice: dict[int, float] = {}
    chosen: dict[int, list[float]] = {}
    for stage in range(2):  # 0: resolve, 1: finish
        wanted = sorted((settings.margin * float(need[stage][j]), sl.index, z)
                        for sl in slices for need in [assessed[sl.index][1]] for j, z in enumerate(sl.cells)
                        if need[stage][j] > 0)
        for cost, k, z in wanted:
            extra = max(0.0, cost - per_slice.get(k, 0.0))
            if np.isfinite(cost) and sum(per_slice.values()) + extra <= left:
                per_slice[k] = max(per_slice.get(k, 0.0), cost)
                if z not in chosen.setdefault(k, []):
                    chosen[k].append(z)
    if not per_slice:  # nothing can be finished: the rest goes to the cheapest open cell, which it narrows
        open_cells = sorted((float(need[1][j]), sl.index, z) for sl in slices for need in [assessed[sl.index][1]]
                            for j, z in enumerate(sl.cells) if 0 < need[1][j] < np.inf)
        if open_cells and left >= n * MIN_LENGTH:
            _, k, z = open_cells[0]
            per_slice[k], chosen[k] = left, [z]
    for k, cost in per_slice.items():
        length = max(cost / n, MIN_LENGTH)  # no round of crumbs: each run at least MIN_LENGTH default runs
        if length * n > left + 1e-9:
            continue
        left -= length * n
        plan[k] = {"c": slices[k].c, "start": slices[k].used, "n": n, "length": length, "cells": chosen[k]}
    return plan


def _record(round_: int, slices: list[_Slice], assessed: dict, cost: float, sens: xr.Dataset) -> dict:
    """One round's row of the record: per cell the direct route's values and further cost."""
    row = {"round": round_, "cost": cost, "cells": {}}
    for sl in slices:
        res, need = assessed.get(sl.index, (None, None))
        for j, z in enumerate(sl.cells):
            if res is None:
                s = sens.sel(c=sl.c, z=z)
                entry = {"source": "surrogate", "S1": s["S1_z_corrected"].values.tolist(),
                         "S1_low": s["S1_z_corrected_total_low"].values.tolist(),
                         "S1_high": s["S1_z_corrected_total_high"].values.tolist(),
                         "ratio": float(s["resolution_ratio_z"].values), "resolved": int(s["resolved_z"].values),
                         "needed_cost": float("nan"), "runs": 0}
            else:
                r = res.isel(output=j)
                entry = {"source": "direct", "S1": r["S1"].values.tolist(), "S1_low": r["S1_low"].values.tolist(),
                         "S1_high": r["S1_high"].values.tolist(), "ratio": float(r["resolution_ratio"].values),
                         "resolved": int(r["resolved"].values), "needed_cost": float(need[1][j]),
                         "cost_to_resolve": float(need[0][j]),
                         "runs": int(res.attrs["runs"]), "chi2_dof": float(r["chi2_dof"].values)}
            entry["window"] = int(sl.windows[j])
            row["cells"][f"{sl.c:g},{z:g}"] = entry
    return row


@locks_output("out", "study", parents=True)
def refine_study(out: str | os.PathLike, settings: RefineSettings, *, oracle=None,
                 model: str | os.PathLike | None = None) -> dict:
    """Refine the unresolved cells of the study in ``out`` (``out/paper_sensitivity.nc``).

    Parameters
    ----------
    out : path-like
        A study's directory (:func:`uqsurrogate.study.run_study`); the refinement's files go
        into ``out/refine/``, and ``out/refinement.nc``, ``out/paper_sensitivity_refined.nc``
        and ``out/paper_sensitivity_refined_table.md`` are written at the end.
    settings : RefineSettings
    oracle : SimulatorOracle, optional
        Default: the embedded simulator with its MD-like noise, seeded by ``settings.seed``.
        Round r, concentration k simulates as the oracle's round ``(r - 1) K + k + 1`` (K
        concentrations), so no two share a noise stream.
    model : path-like, optional
        The study's surrogate, for the choice of each cell's window; default the one the
        study recorded (``model`` attribute), else the shipped one.

    Returns
    -------
    dict
        ``record`` (the rounds), ``refined`` (the study result with the refined cells), the
        ``table`` and the paths written.
    """
    from .active.cost import default_run_configurations
    from .active.oracles import SimulatorOracle
    from .active.smoothing import WINDOWS, choose_window
    from .data.io import load_dataset
    from .results import save_results

    out = Path(out)
    sens_path = out / "paper_sensitivity.nc"
    if not sens_path.is_file():
        raise InputError(f"{out} holds no study (paper_sensitivity.nc); run `uqsurrogate study --out {out}` first")
    sens = xr.load_dataset(sens_path)
    oracle = oracle if oracle is not None else SimulatorOracle(seed=settings.seed)
    unit = default_run_configurations(oracle.simulator)
    folder = out / REFINE_DIR
    folder.mkdir(exist_ok=True)
    import hashlib

    study_digest = hashlib.sha256(sens_path.read_bytes()).hexdigest()
    doc = {"settings": dataclasses.asdict(settings), "study_sha256": study_digest, "oracle": oracle.describe(),
           "uqsurrogate_version": __version__}
    settings_path = folder / SETTINGS_FILE
    if settings_path.is_file():
        old = json.loads(settings_path.read_text())
        same = {k: v for k, v in old["settings"].items() if k != "budget"} == \
            {k: v for k, v in doc["settings"].items() if k != "budget"}
        if not same or old["study_sha256"] != study_digest or old["oracle"] != doc["oracle"]:
            raise InputError(f"{folder} holds a refinement with other settings, study or oracle; pass --force to "
                             "start over, or the same settings to resume (only the budget may grow)")
    cells = unresolved_cells(sens)
    concentrations = sorted({c for c, _ in cells})
    problems = {c: _problem(sens, c) for c in concentrations}
    slices = []
    f = None
    if settings.max_window > 0 and cells:
        from .model_function import ModelFunction
        from .study import default_model_path

        f = ModelFunction.from_artifact(model or sens.attrs.get("model") or default_model_path())
    for k, c in enumerate(concentrations):
        problem = problems[c]
        h = problem.full(problem.sample(1, 0))[0, problem.names.index("h")]
        zs = [z for cc, z in cells if cc == c]
        bins = _bins(sens, oracle.simulator, h)
        windows = [0] * len(zs) if f is None else [
            choose_window(f, problem, bins[z], seed=settings.seed,
                          windows=[w for w in WINDOWS if w <= settings.max_window]) for z in zs]
        slices.append(_Slice(k, c, problem, zs, bins, windows))
    chosen = {f"{sl.c:g},{z:g}": w for sl in slices for z, w in zip(sl.cells, sl.windows)}
    if settings_path.is_file() and "windows" in old and old["windows"] != chosen:
        raise InputError(f"{folder} holds a refinement whose cells took other windows ({old['windows']}; now "
                         f"{chosen}): another model? pass --force to start over")
    _write_json(settings_path, {**doc, "windows": chosen})
    assessed: dict = {}
    spent = 0.0
    record = [_record(0, slices, assessed, 0.0, sens)]
    for r in range(1, settings.max_rounds + 1):
        plan_path = folder / f"round-{r:03d}.json"
        if plan_path.is_file():
            plan = {int(k): v for k, v in json.loads(plan_path.read_text())["plan"].items()}
        else:
            plan = _plan(slices, assessed, settings, spent)
            if not plan or all(p["length"] * p["n"] <= 0 for p in plan.values()):
                break
            _write_json(plan_path, {"round": r, "plan": plan})
        cost = 0.0
        for k, p in sorted(plan.items()):
            sl = slices[k]
            if sl.used != p["start"]:
                raise InputError(f"{plan_path}: the plan starts c = {sl.c:g} at point {p['start']}, but the rounds "
                                 f"before it used {sl.used}; the folder does not belong to this refinement")
            u = _sobol(settings.seed, k, p["start"], p["n"])
            X = sl.problem.full(sl.problem.ppf(u))
            inputs = sl.problem.names
            part = folder / f"round-{r:03d}-c{sl.c:g}.nc"
            _, length = oracle.with_length(p["length"])
            if part.is_file():
                ds = load_dataset(part)
            else:
                ds = oracle(X, (r - 1) * len(slices) + k + 1, inputs, length=p["length"])
                save_results(ds, part)
            got = np.stack([ds[n].values for n in inputs], axis=1)
            if not np.allclose(got, X, rtol=1e-12, atol=0):
                raise InputError(f"{part} holds other inputs than round {r}'s plan; remove it to rerun that round")
            sl.runs.append(ds)
            sl.lengths.append(np.full(len(X), length))
            sl.used += p["n"]
            cost += length * p["n"]
        spent += cost
        for sl in slices:
            assessed[sl.index] = _assess(sl, settings)
        record.append(_record(r, slices, assessed, cost, sens))
        logger.info("refine round %d: %.1f default runs (%.1f of %.1f spent)", r, cost, spent, settings.budget)
        if all(np.all(assessed[sl.index][1][1] == 0) for sl in slices):
            break
    refined = refined_sensitivity(sens, slices, assessed)
    rec = _record_dataset(record, settings, unit)
    save_results(rec, out / "refinement.nc")
    save_results(refined, out / "paper_sensitivity_refined.nc")
    from .study import paper_table

    table = paper_table(refined)
    with atomic_path(out / "paper_sensitivity_refined_table.md") as tmp:
        tmp.write_text(table + "\n")
    return {"record": rec, "refined": refined, "table": table, "spent": spent,
            "files": ["refinement.nc", "paper_sensitivity_refined.nc", "paper_sensitivity_refined_table.md"]}


def refined_sensitivity(sens: xr.Dataset, slices, assessed: dict) -> xr.Dataset:
    """The study's result with each refined cell's direct-route values where they resolve it better.

    A cell takes the direct route's S1, interval (into both the sampling and the total
    bounds), resolution ratio and flag when its ratio is the larger; ``refined_z`` (c, z) is
    1 there.
    """
    out = sens.copy(deep=True)
    flag = xr.zeros_like(out["resolved_z"], dtype=np.int8)
    for sl in slices:
        res, _ = assessed.get(sl.index, (None, None))
        if res is None:
            continue
        for j, z in enumerate(sl.cells):
            r = res.isel(output=j)
            where = {"c": sl.c, "z": z}
            if float(r["resolution_ratio"]) <= float(out["resolution_ratio_z"].sel(where)):
                continue
            for name in ("S1_z_corrected", ):
                out[name].loc[where] = r["S1"].values
            for suffix, src in (("low", "S1_low"), ("high", "S1_high")):
                for stem in ("S1_z_corrected", "S1_z_corrected_total"):
                    var = f"{stem}_{suffix}"
                    if var in out:
                        out[var].loc[where] = r[src].values
            for stem in ("S1_z_corrected_member_min", "S1_z_corrected_member_max"):
                if stem in out:
                    out[stem].loc[where] = np.nan  # no members on the direct route
            out["resolution_ratio_z"].loc[where] = float(r["resolution_ratio"])
            out["resolved_z"].loc[where] = int(r["resolved"])
            flag.loc[where] = 1
    out["refined_z"] = flag
    out["refined_z"].attrs = flag_attrs("1 where the cell's values come from the direct route's runs "
                                        "(uqsurrogate study --refine)", ("surrogate", "direct"))
    out.attrs["refined"] = "cells with refined_z = 1: weighted order-2 PCE on oracle runs in the study's distribution"
    return out


def _record_dataset(record: list[dict], settings: RefineSettings, unit: int) -> xr.Dataset:
    """The rounds as a Dataset: dims round, cell, input."""
    keys = list(record[0]["cells"])
    rounds = [row["round"] for row in record]

    def take(name, default=np.nan):
        return np.array([[row["cells"].get(k, {}).get(name, default) for k in keys] for row in record], dtype=float)

    def take_input(name):
        return np.array([[row["cells"][k][name] for k in keys] for row in record], dtype=float)

    c = [float(k.split(",")[0]) for k in keys]
    z = [float(k.split(",")[1]) for k in keys]
    cost = np.array([row["cost"] for row in record])
    source = np.array([[row["cells"][k]["source"] for k in keys] for row in record], dtype=object)
    ds = xr.Dataset(
        {
            "S1": (("round", "cell", "input"), take_input("S1"), {"units": "1", "long_name": "first-order index"}),
            "S1_low": (("round", "cell", "input"), take_input("S1_low"), {"units": "1", "long_name": "lower bound"}),
            "S1_high": (("round", "cell", "input"), take_input("S1_high"), {"units": "1", "long_name": "upper bound"}),
            "resolution_ratio": (("round", "cell"), take("ratio"),
                                 {"units": "1", "long_name": "output sd / surrogate's or runs' error"}),
            "resolved": (("round", "cell"), take("resolved").astype(np.int8),
                         flag_attrs("1 where resolved", ("unresolved", "resolved"))),
            "cost_to_resolve": (("round", "cell"), take("cost_to_resolve"),
                                {"units": "default runs", "long_name": "further sampling length to resolve the cell "
                                                                       "(estimate, without the margin)"}),
            "needed_cost": (("round", "cell"), take("needed_cost"),
                            {"units": "default runs", "long_name": "further sampling length to finish the cell: "
                                                                   "resolved and precise (estimate, "
                                                                   "with the margin not applied)"}),
            "runs": (("round", "cell"), take("runs", 0).astype(np.int64),
                     {"units": "1", "long_name": "runs behind the values"}),
            "source": (("round", "cell"), source.astype(str), {"long_name": "surrogate (round 0) or direct"}),
            "round_cost": ("round", cost, {"units": "default runs", "long_name": "sampling length spent in the round"}),
            "round_configurations": ("round", cost * unit, {"units": "1", "long_name": "configurations sampled"}),
        },
        coords={"round": ("round", rounds, {"units": "1", "long_name": "refinement round (0: the study)"}),
                "cell": ("cell", np.arange(len(keys)), {"units": "1", "long_name": "unresolved cell of the study"}),
                "c": ("cell", c, {"units": "mol/L", "long_name": "salt concentration"}),
                "window": ("cell", [record[0]["cells"][k]["window"] for k in keys],
                           {"units": "bins", "long_name": "half-width of the local cubic in z that stands for the "
                                                          "cell's bin (0: the bin alone)"}),
                "z": ("cell", z, {"units": "nm", "long_name": "requested z"}),
                "input": ("input", ["d_plus", "d_minus"], {"long_name": "varied input"})},
        attrs={"Conventions": "CF-1.10", "title": "uqsurrogate study --refine: the unresolved cells, round by round",
               "settings": json.dumps(dataclasses.asdict(settings)), "default_run_configurations": unit,
               "uqsurrogate_version": __version__},
    )
    return ds
