"""The main job: the paper's analysis, reproduced out of the box (``uqsurrogate study``).

1. Accuracy: the shipped soft-label surrogate against fresh simulator runs at random inputs
   of the paper's box (exact and MD-like densities): the paper's metrics.
2. Sensitivity: the paper's Sec. III-D study, the nested estimator of ρ(z) to the ion sizes,
   D+ ~ N(0.4, 0.01²) nm, D- ~ N(0.6, 0.015²) nm, at h = 4.5 nm, σ = -0.015 C/m², for
   c = 0.3 and 1.9 M: at the paper's five z values (700 x 700 draws, on every member of the
   shipped ensemble, with two-way jackknife intervals) and at every bin of the left half (300 x 300).
3. A table of S+ and S- beside the paper's statements, figures, and netCDF files.

:func:`paper_sensitivity` is shared with ``examples/paper_sensitivity.py``, so the study's
table and the example's agree for the same seed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._atomic import locks_output
from ._version import __version__
from .errors import InputError, MissingDependencyError

__all__ = ["PAPER_CASES", "PAPER_Z", "default_model_path", "paper_sensitivity", "paper_table", "run_study",
           "study_from_scratch"]

logger = logging.getLogger(__name__)

#: The paper's z values (nm): I contact of cations, II contact of anions, III between, IV beyond.
PAPER_Z = (-2.05, -1.95, -1.85, -1.55, -1.0)
PAPER_CASES = (0.3, 1.9)
#: What the paper says of S+ and S- (percent), Sec. III-D; None where it gives no number.
PAPER_STATEMENTS = {
    (0.3, -2.05): "S+ > 99, S- ~ 0",
    (1.9, -2.05): "S+ > 99, S- ~ 0",
    (0.3, -1.95): "S+ = 22.5, S- = 77",
    (1.9, -1.95): "S- only marginally larger than S+",
    (0.3, -1.85): "S+ = 83, S- = 16.9",
    (1.9, -1.85): "switch from the low-c case (S- dominant)",
    (0.3, -1.55): "S+ ~ S-",
    (1.9, -1.55): "(no number given)",
    (0.3, -1.0): "(not discussed)",
    (1.9, -1.0): "(not discussed)",
}
#: The same statements per index: (what the table shows, the range of S (percent) the statement allows).
PAPER_VALUES = {
    (0.3, -2.05): (("> 99", (99, 100)), ("~ 0", (0, 1))),
    (1.9, -2.05): (("> 99", (99, 100)), ("~ 0", (0, 1))),
    (0.3, -1.95): (("22.5", (22.5, 22.5)), ("77", (77, 77))),
    (1.9, -1.95): (("a little < S-", (40, 50)), ("a little > S+", (50, 60))),
    (0.3, -1.85): (("83", (83, 83)), ("16.9", (16.9, 16.9))),
    (1.9, -1.85): (("< S-", (0, 50)), ("dominant", (50, 100))),
    (0.3, -1.55): (("~ S-", (40, 60)), ("~ S+", (40, 60))),
}
#: Where the table's "vs paper" says why ours differs.
PAPER_COMPARISON = "docs/paper_comparison.md"


def default_model_path() -> Path:
    """The pretrained soft-label surrogate shipped in the package (``scripts/build_default_model.py``).

    On the command line it is called ``default`` (:data:`uqsurrogate.datasets.MODELS`).
    """
    from .datasets import model_path

    return model_path("default")


def _paper_problem(c: float):
    from .problem import Normal, Problem

    return Problem({"h": 4.5, "c": c, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.6, 0.015),
                    "sigma": -0.015})


def paper_sensitivity(f, n_z: int = 1000, n_bins: int = 400, seed: int = 0, progress: bool | None = None,
                      resamples: int = 200, threshold: float = 3.0, map: Any = None,
                      report: Callable[[str], None] | None = None) -> xr.Dataset:
    """The paper's Sec. III-D study with the nested estimator, with intervals and trust checks.

    Parameters
    ----------
    f : ModelFunction
        A surrogate of the confined electrolyte (inputs h, c, d_plus, d_minus, sigma); an
        ensemble gives the member spread, and with a stored calibration the resolution check.
    n_z : int, default 1000
        Draws of each size for ρ at the paper's five z values (n_z² evaluations per case).
    n_bins : int, default 400
        Draws of each size for ρ at every bin of the left half (n_bins² evaluations of those
        outputs per case; no sampling intervals there).
    seed : int, default 0
    resamples : int, default 200
        Two-way bootstrap replicates of the five-z pass (0: no sampling intervals).
    threshold : float, default 3
        The resolution check's factor (:func:`uqsurrogate.uncertainty.trust.resolution`).
    map : object with an order-keeping ``map(func, iterable)``, optional
        Where the model's chunks run (the evaluation path's seam, passed to every
        :func:`~uqsurrogate.sensitivity.nested` call); the result does not depend on it.
    report : callable, optional
        Receives one line per case (concentration) when it is done, with its time.

    Returns
    -------
    xarray.Dataset
        Dims ``c`` (0.3, 1.9 mol/L), ``input`` (d_plus, d_minus), ``z`` (the five values),
        ``bin`` and, for an ensemble, ``member``: ``S1_z`` (paper form), ``S1_z_corrected``
        (two-way ANOVA; the member mean for an ensemble) with ``S1_z_corrected_low``/``_high``
        (sampling interval), ``S1_z_corrected_member_min``/``_max`` and ``_total_low``/``_high``
        (sampling and members together), ``S_interaction_z``, ``response_surface``,
        ``resolved_z``, ``resolution_ratio_z``, ``rho_sd_z``, ``surrogate_error_z`` (with a
        calibration), and ``S1_bin``, ``S1_bin_corrected`` (with member bounds for an
        ensemble), ``variance_bin``, ``mean_bin``.
    """
    import warnings

    from .sensitivity import nested
    from .uncertainty.trust import member_summary, resolution
    from .warnings import ExtrapolationWarning

    # The paper's D- ~ N(0.6, 0.015^2) reaches past a training range that ends at 0.63 nm (2 sd):
    # evaluate there as the paper did, and say so once, with the share of draws involved.
    f = f.with_options(extrapolation="warn", ensemble="mean")
    outside = {}
    for name, dist in _paper_problem(PAPER_CASES[0]).dists.items():
        if name in ("d_plus", "d_minus"):
            k = f.input_names.index(name)
            law = dist.scipy()
            outside[name] = float(law.cdf(f.train_min[k]) + law.sf(f.train_max[k]))
    share = 1 - np.prod([1 - v for v in outside.values()])
    if share > 0.001:
        warnings.warn(
            f"the paper's size distributions put {100 * share:.1f} % of the draws outside the surrogate's training "
            f"range ({', '.join(f'{k}: {100 * v:.1f} %' for k, v in outside.items())}); they are extrapolated",
            ExtrapolationWarning, stacklevel=2)
    members = f.n_members > 1
    calibrated = members and bool(f.calibration) and "charge_density" in f.calibration
    every = f.with_options(ensemble="members") if members else f
    left = np.flatnonzero(f.z_grid(4.5) <= 0)  # rho is mirror-symmetric about the midplane only for equal walls
    pieces = []
    for c in PAPER_CASES:
        started = time.perf_counter()
        problem = _paper_problem(c)
        at_z = every.restrict(output="charge_density", z=list(PAPER_Z), h=4.5)
        at_bins = every.restrict(output="charge_density", bins=left)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            rz = nested(at_z, problem, n_z, n_z, surfaces=list(range(len(PAPER_Z))), seed=seed, resamples=resamples,
                        progress=progress, map=map)
            rb = nested(at_bins, problem, n_bins, n_bins, seed=seed, resamples=0, progress=progress, map=map)
            if members:
                rz, rb = member_summary(rz), member_summary(rb)
            if calibrated:
                rz = resolution(f.restrict(output="charge_density", z=list(PAPER_Z), h=4.5), problem, rz,
                                seed=seed, threshold=threshold)
        if "response_surface" in rz and "member" in rz["response_surface"].dims:
            rz["response_surface"] = rz["response_surface"].mean("member")
        z_vars = {"S1_z": "S1", "S1_z_corrected": "S1_corrected", "S_interaction_z": "S_interaction",
                  "S_interaction_z_corrected": "S_interaction_corrected", "variance_z": "variance"}
        for suffix in ("low", "high", "conf", "member_min", "member_max", "member_sd", "total_low", "total_high"):
            for stem in ("S1", "S1_corrected"):
                z_vars[f"{stem.replace('S1', 'S1_z')}_{suffix}"] = f"{stem}_{suffix}"
        for name in ("resolved", "resolution_ratio", "surrogate_error", "output_sd"):
            z_vars[f"{name}_z"] = name
        if members:
            z_vars["S1_z_corrected_members"] = "S1_corrected_members"
        variables = {new: (rz[old].dims, rz[old].values, dict(rz[old].attrs)) for new, old in z_vars.items() if old in rz}
        variables = {k: (tuple("z" if d == "bin" else d for d in dims), v, a) for k, (dims, v, a) in variables.items()}
        variables["response_surface"] = (("z", "d_plus_sample", "d_minus_sample"), rz["response_surface"].values,
                                         dict(rz["response_surface"].attrs))
        bin_vars = {"S1_bin": "S1", "S1_bin_corrected": "S1_corrected", "variance_bin": "variance", "mean_bin": "mean",
                    "S1_bin_corrected_member_min": "S1_corrected_member_min",
                    "S1_bin_corrected_member_max": "S1_corrected_member_max"}
        for new, old in bin_vars.items():
            if old in rb:
                variables[new] = (rb[old].dims, rb[old].values, dict(rb[old].attrs))
        coords = {
            "input": ("input", ["d_plus", "d_minus"], {"long_name": "varied input"}),
            "z": ("z", np.asarray(PAPER_Z), {"units": "nm", "long_name": "requested z"}),
            "z_bin": ("z", rz["z"].values, {"units": "nm", "long_name": "centre of the bin used"}),
            "bin": ("bin", rb["bin"].values, {"units": "1", "long_name": "bin index along z (the left half-slit)"}),
            "z_of_bin": ("bin", rb["z"].values, {"units": "nm", "long_name": "bin centre"}),
            "d_plus_sample": ("d_plus_sample", rz["d_plus"].values,
                              {"units": "nm", "long_name": "cation diameter draws of the response surface"}),
            "d_minus_sample": ("d_minus_sample", rz["d_minus"].values,
                               {"units": "nm", "long_name": "anion diameter draws of the response surface"}),
        }
        if members:
            coords["member"] = ("member", np.arange(f.n_members), {"units": "1", "long_name": "ensemble member"})
        pieces.append(xr.Dataset(variables, coords=coords).expand_dims(c=[c]))
        if report is not None:
            report(f"sensitivity at c = {c:g} mol/L ({n_z} x {n_z} draws at the paper's z, {n_bins} x {n_bins} at "
                   f"every bin{', every member' if members else ''}) done in {time.perf_counter() - started:.1f} s")
    out = xr.concat(pieces, dim="c")
    out["c"].attrs = {"units": "mol/L", "long_name": "salt concentration"}
    out.attrs = {
        "Conventions": "CF-1.10", "title": "paper Sec. III-D: sensitivity of rho(z) to the ion sizes",
        "method": "nested", "n_z": n_z, "n_bins": n_bins, "seed": str(seed), "uqsurrogate_version": __version__,
        "problem": json.dumps({str(c): json.loads(_paper_problem(c).to_json()) for c in PAPER_CASES}),
        "output": "charge_density (C/m3)",
        "extrapolated_share": share,
        "members": int(f.n_members),
        "resamples": int(resamples),
        "conf_level": 0.95,
        "ci": rz.attrs.get("ci_method", "none"),
        "resolution_threshold": float(threshold) if calibrated else "none (no calibrated ensemble)",
    }
    return out


def paper_table(sens: xr.Dataset) -> str:
    """A markdown table of S+ and S- (percent) with their uncertainty, the paper's value beside each, and a legend.

    S± are the two-way-ANOVA indices (the member mean for an ensemble); "sampling" is the
    95 % interval of the estimator at these draws, "members" the range over the ensemble
    members, and "resolved" says whether ρ varies by at least the threshold times the
    surrogate's calibrated error there (where it does not, trust no index of that cell);
    "refined" marks a cell answered by ``study --refine`` (:mod:`uqsurrogate.refine`).
    "paper" is the paper's number or statement (:data:`PAPER_VALUES`), and "vs paper" says
    whether it lies within our sampling interval or member range (give or take a point);
    where it does not, :data:`PAPER_COMPARISON` says why.  The legend under the table
    explains the columns (:func:`uqsurrogate.uncertainty.trust.legend`).
    """
    from .uncertainty.trust import legend

    def pct(v):
        return f"{100 * float(v):.1f}"

    def span(s, low, high, k):
        if low not in s or not np.isfinite(s[low].values[k]):
            return "–"
        return f"{pct(s[low].values[k])}–{pct(s[high].values[k])}"

    has_res = "resolved_z" in sens
    lines = ["| c (M) | z (nm) | case | S+ (%) | S+ paper | S+ sampling | S+ members | S- (%) | S- paper | S- sampling | "
             "S- members | interaction (%) | resolved | vs paper |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cases = dict(zip(PAPER_Z, ("I", "II", "III", "IV", "-")))
    differs = False
    for c in sens["c"].values:
        for z in sens["z"].values:
            s = sens.sel(c=c, z=z)
            paper = PAPER_VALUES.get((float(c), float(z)))
            cells = []
            for k in range(2):
                cells += [pct(s["S1_z_corrected"].values[k]), paper[k][0] if paper else "–",
                          span(s, "S1_z_corrected_low", "S1_z_corrected_high", k),
                          span(s, "S1_z_corrected_member_min", "S1_z_corrected_member_max", k)]
            inter = pct(s["S_interaction_z_corrected"].values) if "S_interaction_z_corrected" in s else "–"
            if has_res:
                ratio = float(s["resolution_ratio_z"].values)
                resolved = f"yes ({ratio:.1f}x)" if int(s["resolved_z"].values) else f"**no** ({ratio:.1f}x)"
                if "refined_z" in s and int(s["refined_z"].values):
                    resolved += ", refined"
            else:
                resolved = "n/a"
            agrees = _agrees_with_paper(s, paper)
            differs |= agrees is False
            verdict = {None: "–", True: "agrees", False: "**differs**†"}[agrees]
            lines.append(f"| {c:g} | {z:g} | {cases[float(z)]} | {' | '.join(cells)} | {inter} | {resolved} | "
                         f"{verdict} |")
    ensemble = ", the mean over the ensemble" if "S1_z_corrected_member_min" in sens else ""
    notes = [(f"S+, S-: the first-order (two-way ANOVA) index of rho at z to d+ and to d-, in percent{ensemble}; "
              "interaction: the rest of the variance")]
    notes += legend(sens, True, "S1_z_corrected_member_min" in sens, has_res)
    if "refined_z" in sens and int(sens["refined_z"].values.sum()):
        notes.append("refined: the cell was answered by study --refine; its sampling interval is the direct route's "
                     "parametric bootstrap of its coefficients (docs/refine.md)")
    notes.append("paper: the paper's number or statement (Sec. III-D; – where it gives none); vs paper: agrees where "
                 "it lies within our sampling interval or member range, give or take a point")
    if differs:
        notes.append(f"† differs from the paper: {PAPER_COMPARISON} says why (our reference data are cDFT "
                     "with a soft wall, not the paper's MD) and how far the simulator itself agrees")
    return "\n".join(lines + [""] + [f"* {note}" for note in notes])


def _agrees_with_paper(s: xr.Dataset, paper) -> bool | None:
    """Whether the paper's range of S+ and of S- meets ours (sampling interval and member range, ±1 point)."""
    if paper is None:
        return None
    for k, (_, (lo, hi)) in enumerate(paper):
        bounds = [100 * s[v].values[k] for v in ("S1_z_corrected", "S1_z_corrected_low", "S1_z_corrected_high",
                                                  "S1_z_corrected_member_min", "S1_z_corrected_member_max")
                  if v in s and np.isfinite(s[v].values[k])]
        if max(bounds) < lo - 1 or min(bounds) > hi + 1:
            return False
    return True


def accuracy_check(f, n: int = 8, seed: int = 0) -> tuple[xr.Dataset, xr.Dataset]:
    """The surrogate against fresh simulator runs at random inputs of its training box.

    Returns
    -------
    data : xarray.Dataset
        The simulator's runs (a training dataset: density, density_sem, density_true) with
        the surrogate's prediction as ``density_surrogate``.
    metrics : xarray.Dataset
        The paper's metrics (Eqs. 7-10) against the MD-like labels and the truth.
    """
    from .simulators import ElectrolyteSimulator, random_design
    from .surrogate.metrics import surrogate_metrics

    bounds = {k: (float(lo), float(hi)) for k, lo, hi in zip(f.input_names, f.train_min, f.train_max)}
    design = random_design(n, seed=seed, bounds=bounds)
    data = ElectrolyteSimulator(n_bins=f.n_bins).run(design, seed=seed)
    X = np.stack([design[k] for k in f.input_names], axis=1)
    pred = f.restrict(output="density")(X).astype(np.float64)
    metrics = surrogate_metrics(pred, data)
    data["density_surrogate"] = (("sample", "species", "bin"), pred,
                                 {"units": "mol/L", "long_name": "surrogate prediction"})
    return data, metrics


#: The files every study writes into its directory (besides figures).
STUDY_FILES = ("accuracy_check.nc", "accuracy_metrics.nc", "paper_sensitivity.nc", "paper_sensitivity_table.md")


@locks_output("out", "study", parents=True)
def run_study(out: str | os.PathLike, *, model: str | os.PathLike | None = None, quick: bool = False,
              seed: int = 0, progress: bool | None = None, figures: bool = True, map: Any = None,
              report: Callable[[str], None] | None = None) -> dict:
    """Run the main job and write its files into ``out``.

    Parameters
    ----------
    out : path-like
        Output directory (created).
    model : path-like, optional
        A model directory; by default the shipped pretrained ModNN.
    quick : bool, default False
        Smaller samples (300 x 300 instead of 700 x 700 draws, 150 x 150 instead of 300 x 300 at
        every bin) and 4 accuracy inputs instead of 8: about 40 % of the time (``docs/benchmarks.md``).
    seed : int, default 0
    progress : bool, optional
    figures : bool, default True
        Draw PNG figures (needs matplotlib, the ``plot`` extra; skipped with a note if absent).
    map : object with an order-keeping ``map(func, iterable)``, optional
        Passed to :func:`paper_sensitivity`.
    report : callable, optional
        Receives one line per stage (the model loaded, the accuracy check, each concentration
        of the sensitivity study, the figures) with its time and the time since the start:
        feedback where progress bars are not shown (the command line passes a writer to
        stderr when stderr is not a terminal).

    Returns
    -------
    dict
        Paths written, the summary table, timings.
    """
    from .conventions import INPUTS
    from .data.io import save_results
    from .model_function import ModelFunction

    out = Path(out)
    t0 = time.perf_counter()

    def stage(text: str, since: float) -> None:
        if report is not None:
            now = time.perf_counter()
            report(f"{text} in {now - since:.1f} s ({now - t0:.0f} s so far)")

    path = Path(model) if model is not None else default_model_path()
    f = ModelFunction.from_artifact(path)
    stage(f"model loaded ({f.n_members} network(s))", t0)
    if f.input_names != list(INPUTS) or f.species != ["cation", "anion"]:
        raise InputError(f"{path}: the study needs a model of the inputs {list(INPUTS)} giving cation and anion "
                         f"densities; this one takes {f.input_names} and gives {f.species}")
    out.mkdir(parents=True, exist_ok=True)  # after the model is known to fit
    timings = {}
    t = time.perf_counter()
    n_check = 4 if quick else 8
    data, metrics = accuracy_check(f, n=n_check, seed=seed)
    save_results(data, out / "accuracy_check.nc")
    save_results(metrics, out / "accuracy_metrics.nc")
    timings["accuracy_s"] = time.perf_counter() - t
    stage(f"accuracy check ({n_check} fresh simulator runs) done", t)
    t = time.perf_counter()
    sens = paper_sensitivity(f, n_z=300 if quick else 700, n_bins=150 if quick else 300, seed=seed,
                             progress=progress, map=map,
                             report=None if report is None else lambda line: report(
                                 f"{line} ({time.perf_counter() - t0:.0f} s so far)"))
    sens.attrs["model"] = str(path)  # what study --refine evaluates for its windows
    save_results(sens, out / "paper_sensitivity.nc")
    timings["sensitivity_s"] = time.perf_counter() - t
    table = paper_table(sens)
    (out / "paper_sensitivity_table.md").write_text(table + "\n")
    written = list(STUDY_FILES)
    if figures:
        from .plotting import plot_file

        t = time.perf_counter()
        try:
            for nc in ("accuracy_check.nc", "accuracy_metrics.nc", "paper_sensitivity.nc"):
                written += [p.name for p in plot_file(out / nc, out)]
        except MissingDependencyError:
            logger.warning("matplotlib is not installed: no figures (pip install 'uqsurrogate[plot]')")
        stage("figures drawn", t)
    timings["total_s"] = time.perf_counter() - t0
    m, lab = metrics.sel(reference="truth"), metrics.sel(reference="labels")
    return {"out": out, "files": written, "table": table, "timings": timings, "model": str(path),
            "accuracy": {"rmse_plus": float(m["rmse_mean"][0]), "rmse_minus": float(m["rmse_mean"][1]),
                         "success_rate_vs_truth": float(m["success_rate_mean"]),
                         "success_rate_vs_labels": float(lab["success_rate_mean"]),
                         "success_rate_measured_vs_labels": float(lab["success_rate_measured_mean"])}}


@locks_output("out", "study", parents=True)
def study_from_scratch(out: str | os.PathLike, *, epochs: int = 400, seed: int = 0, workers: int | None = None,
                       progress: bool | None = None, report=logger.info) -> Path:
    """Simulate the shipped surrogate's design and train a new surrogate on it, for :func:`run_study`.

    The design is :func:`uqsurrogate.simulators.shipped_design` (the paper grid plus 4,096
    Sobol' points), simulated into ``out/training_data.nc`` (resumable; kept and reused),
    then a soft-label network with the ``tuned`` preset is trained into ``out/model``.
    Before each step, its time is estimated from a pilot measured on this machine: 8
    inputs of the design for the simulation, 3 epochs for the training.

    Parameters
    ----------
    out : path-like
        Directory (created).
    epochs : int, default 400
    seed : int, default 0
        Seeds the simulator's noise and the training.
    workers : int, optional
        Simulator processes (default: one per core).
    progress : bool, optional
    report : callable, default ``logger.info``
        Receives one line of text per step (the command line passes ``print``).

    Returns
    -------
    pathlib.Path
        The model directory.
    """
    import dataclasses

    from threadpoolctl import threadpool_limits

    from . import simulators
    from ._validation import check_int
    from .data.io import load_dataset
    from .surrogate import PRESETS, SurrogateTrainer, TrainingConfig

    epochs = check_int(epochs, "epochs", min_value=1)  # every option is checked before any work starts
    check_int(seed, "seed", min_value=0)
    workers = check_int(workers if workers is not None else max(1, os.cpu_count() or 1), "workers", min_value=1)
    cfg = TrainingConfig(loss="soft-label", epochs=epochs, seed=seed, **PRESETS["tuned"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "training_data.nc"
    design = simulators.shipped_design()
    n = len(next(iter(design.values())))
    if not data.exists():
        pilot = {k: v[:8] for k, v in design.items()}
        t = time.perf_counter()
        with threadpool_limits(limits=1):
            simulators.ElectrolyteSimulator().run(pilot, seed=seed)
        per_input = (time.perf_counter() - t) / len(pilot["h"])
        report(f"simulating the shipped surrogate's design, the paper grid plus Sobol' points ({n:,} inputs; about "
               f"{per_input * n / workers:.0f} s on {workers} core(s), from a pilot of 8 inputs) ...")
        t = time.perf_counter()
        simulators.simulate(design, data, seed=seed, workers=workers, progress=progress)
        report(f"  done in {time.perf_counter() - t:.0f} s")
    ds = load_dataset(data)
    pilot = SurrogateTrainer(dataclasses.replace(cfg, epochs=3), progress=False).fit(ds)
    per_epoch = float(np.median(pilot.epoch_seconds_[1:]))  # the first epoch also compiles
    report(f"training the soft-label surrogate, {epochs} epochs (about {per_epoch * epochs / 60:.1f} min at "
           f"{per_epoch:.2f} s per epoch, from a pilot of 3 epochs) ...")
    trainer = SurrogateTrainer(cfg, checkpoint_dir=out / "model.checkpoint", progress=progress).fit(ds)
    trainer.save(out / "model", overwrite=True)
    SurrogateTrainer.clear_checkpoint(out / "model.checkpoint")
    return out / "model"
