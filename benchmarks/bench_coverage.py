"""Do the intervals hold their level?  Every method on the coverage panel, against closed-form indices.

    python benchmarks/bench_coverage.py [--methods sobol nested pce] [--repetitions 1000]
        [--pce-repetitions 300] [--json benchmarks/results/coverage.json] [--table]

The panel is :func:`uqsurrogate.testing.panel` (smooth near-Gaussian, a squared input, an
interaction-dominated output, a log-normal output, an input inert at first order, Sobol' G in
two inputs; Ishigami and Sobol' G in five inputs for ``sobol`` and ``pce``).  For each method,
case and size, :func:`uqsurrogate.testing.coverage` runs independent repetitions and reports,
per index: the share of intervals holding the exact value with its binomial standard error,
the width ratio (mean half-width over z x the estimate's spread over the repetitions; 1 is the
right size), and the estimate's bias over its spread.

Cells (the sizes the issue names):

* ``sobol``, 95 %: N = 1024 and 4096 base samples, the default interval (``rqmc``: the rows
  split into independent scrambles, jackknifed); the old default (``bootstrap`` of base rows)
  on Ishigami for comparison.
* ``nested``, 90 %, ``S1_corrected``: 16 x 16, 32 x 32 and 100 x 100 draws, the default
  (two-way grouped jackknife) and the two-way bootstrap.
* ``pce``, 95 %: Ishigami at two (n, order) sizes, and one size for the other smooth or
  kinked cases, each where the expansion has converged (its truncation error is not what an
  interval measures: ``loo_error`` reports it); the polynomial cases are exact at order 2
  and left out.

The JSON file is rewritten after every cell; a rerun with the same file keeps the cells it
has (delete it to start over).  BLAS is pinned to one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from uqsurrogate.sensitivity import nested, pce, sobol
from uqsurrogate.testing import coverage, panel

TWO_INPUT = ("bilinear", "square", "interaction", "lognormal", "inert", "g2")
ALL = (*TWO_INPUT, "ishigami", "sobol_g")
#: (n, order) per case for pce: sizes at which the expansion has converged to well below the interval.
PCE_SIZES = {"ishigami": ((512, 8), (1024, 10)), "inert": ((512, 8),), "lognormal": ((256, 6),), "g2": ((512, 8),),
             "sobol_g": ((512, 3),)}


def cells(methods: list[str], reps: int, pce_reps: int) -> list[dict]:
    """Every (method, case, size, options) to measure."""
    out = []
    if "sobol" in methods:
        for case in ALL:
            for n in (1024, 4096):
                out.append({"method": "sobol", "case": case, "size": n, "options": {"n": n}, "reps": reps,
                            "level": 0.95, "indices": [["S1", "s1"], ["ST", "st"]]})
        for n in (1024, 4096):
            out.append({"method": "sobol", "case": "ishigami", "size": n, "options": {"n": n, "ci": "bootstrap"},
                        "reps": reps, "level": 0.95, "indices": [["S1", "s1"], ["ST", "st"]]})
    if "nested" in methods:
        for ci in ("jackknife", "bootstrap"):
            for case in TWO_INPUT:
                for n in (16, 32, 100):
                    out.append({"method": "nested", "case": case, "size": n,
                                "options": {"n_outer": n, "n_inner": n, "ci": ci}, "reps": reps, "level": 0.9,
                                "indices": [["S1_corrected", "s1"]]})
    if "pce" in methods:
        for case, sizes in PCE_SIZES.items():
            for n, order in sizes:
                out.append({"method": "pce", "case": case, "size": f"{n}/{order}",
                            "options": {"n": n, "order": order}, "reps": pce_reps, "level": 0.95,
                            "indices": [["S1", "s1"], ["ST", "st"]]})
    return out


def key(cell: dict) -> str:
    return json.dumps([cell["method"], cell["case"], cell["size"], cell["options"]], sort_keys=True)


def table(done: list[dict]) -> str:
    """A Markdown table of the cells: coverage ± binomial se and width ratio, per index."""
    lines = ["| method | interval | case | size | runs | level | index | coverage (± se) | width ratio | bias / sd |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in done:
        for name, r in c["results"].items():
            cover = ", ".join(f"{p:.3f}±{e:.3f}" for p, e in zip(r["coverage"], r["coverage_se"]))
            ratio = ", ".join(f"{v:.2f}" for v in r["width_ratio"])
            bias = ", ".join(f"{b / s:+.2f}" if s > 0 else "0" for b, s in zip(r["bias"], r["sd"]))
            lines.append(f"| {c['method']} | {c['options'].get('ci', 'default')} | {c['case']} | {c['size']} | {c['reps']} | "
                         f"{c['level']:.2f} | {name} | {cover} | {ratio} | {bias} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", default=["sobol", "nested", "pce"], choices=["sobol", "nested", "pce"])
    p.add_argument("--repetitions", type=int, default=1000, help="per sobol and nested cell (default 1000)")
    p.add_argument("--pce-repetitions", type=int, default=300, help="per pce cell (default 300; ~0.5 s each)")
    p.add_argument("--json", type=Path, default=None, help="results, rewritten after every cell (and resumed)")
    p.add_argument("--table", action="store_true", help="print the Markdown table of --json's cells and stop")
    args = p.parse_args()
    if args.table:
        print(table(json.loads(args.json.read_text())["cells"]))
        return
    methods = {"sobol": sobol, "nested": nested, "pce": pce}
    done = json.loads(args.json.read_text())["cells"] if args.json is not None and args.json.exists() else []
    have = {key(c) for c in done}
    cases = panel()
    for cell in cells(args.methods, args.repetitions, args.pce_repetitions):
        if key(cell) in have:
            continue
        t0 = time.perf_counter()
        res = coverage(methods[cell["method"]], cases[cell["case"]], repetitions=cell["reps"], progress=False,
                       indices=[tuple(i) for i in cell["indices"]], conf_level=cell["level"], **cell["options"])
        cell = {**cell, "seconds": round(time.perf_counter() - t0, 1),
                "results": {name: {k: [float(f"{x:.4g}") for x in np.ravel(v)] for k, v in r.items()}
                            for name, r in res.items()}}
        done.append(cell)
        line = " ".join(f"{name}: cover {r['coverage']} ratio {r['width_ratio']}" for name, r in cell["results"].items())
        print(f"{cell['method']} {cell['case']} {cell['size']} {cell['options'].get('ci', 'default')} {line}",
              flush=True)
        if args.json is not None:
            tmp = args.json.with_suffix(".tmp")
            tmp.write_text(json.dumps({"machine": platform.platform(), "date": time.strftime("%Y-%m-%d"),
                                       "cells": done}, indent=1))
            tmp.replace(args.json)


if __name__ == "__main__":
    main()
