"""Benchmark the reference simulator: seconds per input, the paper grid, agreement with real MD.

    python benchmarks/bench_simulator.py [--inputs 300] [--workers 2] [--skip-grid] [--json OUT] [--plot PNG]

1. Seconds per input on one core (solve + bin averaging + noise) over random inputs in the
   paper's box: median, 90th percentile, maximum, and iterations.
2. Wall time of the full 4,050-point paper grid through ``simulate`` with ``--workers``
   processes (written to a temporary file).
3. Agreement with the real LAMMPS profiles in tests/data (the S100000 runs, h = 3 nm,
   c = 0.5 M, l_B = 0.714 nm as in those runs): RMSE of cDFT minus MD in units of the MD
   error bar, per species, over bins where the MD error is > 0; optionally a plot.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import report

from uqsurrogate.data import read_run_folder
from uqsurrogate.simulators import ElectrolyteSimulator, SlitModel, paper_grid, random_design, simulate, solve_slit
from uqsurrogate.simulators.design import PAPER_BOUNDS

ROOT = Path(__file__).resolve().parents[1]
MD = ROOT / "tests" / "data" / "nanoconfinement-md" / "md-profiles"


def per_input(n: int) -> dict:
    design = random_design(n, seed=12345)
    sim = ElectrolyteSimulator()
    times, iters = [], []
    rng = np.random.default_rng(0)
    for i in range(n):
        args = [float(design[k][i]) for k in PAPER_BOUNDS]
        t = time.perf_counter()
        sol = solve_slit(*args, sim.model, n_bins=sim.n_bins)
        _, dens = sol.bin_average(sim.n_bins)
        sim.noise.sample(dens * 1.66054, args[0] / sim.n_bins, rng)
        times.append(time.perf_counter() - t)
        iters.append(sol.iterations)
    t = np.array(times)
    return {
        "inputs": n,
        "median_s": float(np.median(t)),
        "p90_s": float(np.percentile(t, 90)),
        "max_s": float(t.max()),
        "median_iterations": float(np.median(iters)),
        "max_iterations": int(max(iters)),
    }


def grid(workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        simulate(paper_grid(), Path(tmp) / "grid.nc", seed=0, workers=workers, progress=False)
        wall = time.perf_counter() - t
        size = (Path(tmp) / "grid.nc").stat().st_size
    return {"grid_points": 4050, "workers": workers, "grid_wall_s": wall, "grid_file_MiB": size / 2**20}


def md_agreement(plot: Path | None) -> dict:
    sim = ElectrolyteSimulator(model=SlitModel(permittivity=78.5))  # l_B = 0.714 nm, as in those runs
    out, panels = {}, []
    for folder in sorted(MD.iterdir()):
        if not folder.name.endswith("S100000"):
            continue
        run = read_run_folder(folder)
        n_bins = run.density.shape[1]
        z, model = ElectrolyteSimulator(model=sim.model, n_bins=n_bins).exact(*(run.inputs[k] for k in PAPER_BOUNDS))
        ok = run.error > 0
        rmse = [float(np.sqrt(np.mean(((model[k] - run.density[k])[ok[k]] / run.error[k][ok[k]]) ** 2)))
                for k in range(2)]
        key = folder.name.split("_c0.5_")[1].replace("_S100000", "")
        out[key] = {"rmse_cation_in_md_errors": rmse[0], "rmse_anion_in_md_errors": rmse[1],
                    "bins_compared": [int(ok[0].sum()), int(ok[1].sum())]}
        panels.append((key, z, model, run))
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), sharey=True)
        for ax, (key, z, model, run) in zip(np.atleast_1d(axes), panels):
            zc = 0.5 * (run.edges[1:] + run.edges[:-1])
            for k, (name, colour) in enumerate((("cation", "tab:red"), ("anion", "tab:blue"))):
                ax.errorbar(zc, run.density[k], run.error[k], fmt="o", ms=2.5, color=colour, alpha=0.6,
                            label=f"MD {name}")
                ax.plot(z, model[k], "-", color=colour, lw=1.2, label=f"cDFT {name}")
            r = out[key]
            ax.set_title(f"{key}\nRMSE/ε: + {r['rmse_cation_in_md_errors']:.1f}, − {r['rmse_anion_in_md_errors']:.1f}",
                         fontsize=9)
            ax.set_xlabel("z (nm)")
        np.atleast_1d(axes)[0].set_ylabel("number density (mol/L)")
        np.atleast_1d(axes)[0].legend(fontsize=7)
        fig.suptitle("cDFT reference simulator vs real LAMMPS MD (h = 3 nm, c = 0.5 M, l_B = 0.714 nm)", fontsize=10)
        fig.tight_layout()
        fig.savefig(plot, dpi=130)
    return out


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    res = {"machine": platform.platform(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    res["per_input"] = per_input(args.inputs)
    res["md_agreement"] = md_agreement(args.plot)
    if not args.skip_grid:
        res["paper_grid"] = grid(args.workers)
    res["peak_rss_MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(res, args.json)
    return res


if __name__ == "__main__":
    main()
