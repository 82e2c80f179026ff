"""Run every benchmark and write one table of figures (markdown and JSON).

    python benchmarks/run_all.py [--out benchmarks/results] [--with-training --data grid.nc]
        [--reuse data_io simulator ...]

Each figure comes with the machine, the date, and its ratio against the anchor measured
in the same run.  Training (about an hour on 2 cores) runs only with ``--with-training``;
otherwise its last results (``results/training.json``, and ``results/design.json`` from
``bench_design.py``) are summarised if present.  ``--reuse NAME ...`` takes those
benchmarks' last JSON instead of running them again; the table says which, and when each
was measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, out: Path, *extra: str, reuse: tuple[str, ...] = ()) -> dict:
    name = script.replace("bench_", "").replace(".py", "")
    target = out / f"{name}.json"
    if name in reuse:
        if not target.exists():
            raise SystemExit(f"--reuse {name}: {target} does not exist; run the benchmark first")
        old = json.loads(target.read_text())
        old.setdefault("date", time.strftime("%Y-%m-%d", time.localtime(target.stat().st_mtime)))
        return {**old, "reused": True}
    subprocess.run([sys.executable, str(HERE / script), "--json", str(target), *extra], check=True)
    return json.loads(target.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--with-training", action="store_true")
    p.add_argument("--data", type=Path, help="paper-grid data for the training benchmark")
    p.add_argument("--reuse", nargs="+", default=[], choices=["data_io", "simulator", "model_function", "sensitivity"],
                   help="take these benchmarks' last results instead of running them")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    res = {"machine": platform.platform(), "date": time.strftime("%Y-%m-%d")}
    reuse = tuple(a.reuse)
    res["data_io"] = run("bench_data_io.py", a.out, reuse=reuse)
    res["simulator"] = run("bench_simulator.py", a.out, "--plot",
                           str(HERE.parent / "docs" / "figures" / "simulator_vs_md.png"), reuse=reuse)
    res["model_function"] = run("bench_model_function.py", a.out, reuse=reuse)
    res["sensitivity"] = run("bench_sensitivity.py", a.out, reuse=reuse)
    if a.with_training:
        res["training"] = run("bench_training.py", a.out, "--data", str(a.data))
    else:  # the last results of every training benchmark run (training.json, training_1200.json, ...)
        files = sorted(a.out.glob("training*.json"), key=lambda f: f.stat().st_mtime)
        if files:
            loaded = [json.loads(f.read_text()) for f in files]
            # one run per (preset, loss, seed, epochs): a later file's rerun replaces an earlier one
            runs = {(r["preset"], r["loss"], r["seed"], r["epochs"]): r for d in loaded for r in d["runs"]}
            res["training"] = {"date": max(d["date"] for d in loaded), "files": [f.name for f in files],
                               "runs": list(runs.values())}
    rows = [("figure", "value", "anchor", "ratio")]
    sim, mf = res["simulator"], res["model_function"]
    sens = res["sensitivity"]
    rows += [
        ("simulator: median s per input (1 core)", f"{sim['per_input']['median_s']:.4f}", "goal 0.05",
         f"{0.05 / sim['per_input']['median_s']:.1f}x under"),
        ("simulator: paper grid wall time, 2 workers (s)", f"{sim['paper_grid']['grid_wall_s']:.0f}", "goal 180",
         f"{180 / sim['paper_grid']['grid_wall_s']:.1f}x under"),
        ("model function: samples/s (1,004 outputs)", f"{mf['model_function_samples_per_s']:.0f}",
         f"Keras predict default batch {mf['keras_predict_default_batch_samples_per_s']:.0f}",
         f"{mf['speedup_vs_keras_predict_default_batch']:.1f}x"),
        ("model function vs raw matmul", f"{mf['model_function_samples_per_s']:.0f}",
         f"raw {mf['raw_matmul_only_samples_per_s']:.0f}", f"{mf['fraction_of_raw_matmul']:.2f}"),
        *([("model function, reused output (out=): samples/s", f"{mf['model_function_reused_output_samples_per_s']:.0f}",
            f"Keras predict default batch {mf['keras_predict_default_batch_samples_per_s']:.0f}",
            f"{mf['speedup_vs_keras_predict_default_batch_reused_output']:.1f}x"),
           ("model function vs raw matmul, both reusing their output",
            f"{mf['model_function_reused_output_samples_per_s']:.0f}",
            f"raw {mf['raw_matmul_reused_output_samples_per_s']:.0f}", f"{mf['fraction_of_raw_matmul_reused_output']:.2f}")]
          if "fraction_of_raw_matmul_reused_output" in mf else []),
        ("model function: peak RSS, streamed 1e6 (MiB)", f"{mf['stream_peak_rss_MiB']:.0f}", "goal 1024",
         f"{mf['stream_peak_rss_MiB'] / 1024:.2f}"),
        ("sobol d=5 N=2^14 2nd order 1004 outputs (s)",
         f"{sens['sobol_d5_N2e14_second_order_1004_outputs']['sobol_seconds']:.1f}",
         f"SALib loop {sens['sobol_d5_N2e14_second_order_1004_outputs']['salib_loop_seconds_extrapolated']:.0f} s",
         f"{sens['sobol_d5_N2e14_second_order_1004_outputs']['speedup_vs_salib']:.0f}x"),
        ("nested 1000x1000 all bins (s)", f"{sens['nested_1000x1000_all_bins']['nested_seconds']:.1f}",
         f"bare evaluation {sens['nested_1000x1000_all_bins']['bare_seconds']:.1f} s",
         f"{sens['nested_1000x1000_all_bins']['nested_over_bare']:.2f}"),
    ]
    if "sobol_d10_N2e18_1004_outputs_with_ci" in sens:
        m = sens["sobol_d10_N2e18_1004_outputs_with_ci"]
        rows.append(("sobol d=10 N=2^18 1004 outputs + CIs: peak RSS (MiB)", f"{m['peak_rss_MiB']:.0f}", "goal 2048",
                     f"{m['peak_rss_MiB'] / 2048:.2f}"))
    if "training" in res:
        import numpy as np

        runs = res["training"]["runs"]
        groups = sorted({(r["preset"], r["loss"], r["epochs"]) for r in runs})
        for preset, loss, epochs in groups:
            rs = [r for r in runs if (r["preset"], r["loss"], r["epochs"]) == (preset, loss, epochs)]
            rmse = np.mean([(r["rmse_plus_truth"] + r["rmse_minus_truth"]) / 2 for r in rs])
            rows.append((f"training {preset} {loss} {epochs} epochs, {len(rs)} seeds: mean RMSE+- vs truth (M)",
                         f"{rmse:.2e}", "goal 4.2e-4 (paper ModNN)", f"{rmse / 4.2e-4:.1f}x the goal"))
            succ = np.mean([r["success_truth"] for r in rs])
            line = f"{succ:.3f}"
            if all("success_measured_truth" in r for r in rs):
                line += f" (measured bins {np.mean([r['success_measured_truth'] for r in rs]):.3f})"
            rows.append((f"training {preset} {loss} {epochs} epochs: success rate vs truth", line, "goal 0.95", ""))
    if (a.out / "design.json").exists():
        res["design"] = json.loads((a.out / "design.json").read_text())
        for r in sorted(res["design"]["runs"], key=lambda r: (r["train"], r["target"], r["seed"])):
            rmse = (r["offgrid_rmse_plus"] + r["offgrid_rmse_minus"]) / 2
            held = (r["heldout_rmse_plus"] + r["heldout_rmse_minus"]) / 2
            rows.append((f"design: trained on {r['train']} {r['target']} (seed {r['seed']}, {r['epochs']} epochs), "
                         "off-grid RMSE+- (M)", f"{rmse:.2e}", f"its held-out RMSE {held:.2e}", f"{rmse / held:.1f}x"))
    dates = ", ".join(f"{k} {res[k].get('date', '?')}{' (reused)' if res[k].get('reused') else ''}"
                      for k in ("data_io", "simulator", "model_function", "sensitivity", "training", "design") if k in res)
    md = [f"Machine: {res['machine']}; date: {res['date']}", f"Measured: {dates}", "",
          "| " + " | ".join(rows[0]) + " |",
          "|" + "---|" * len(rows[0])]
    md += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    (a.out / "summary.md").write_text("\n".join(md) + "\n")
    (a.out / "summary.json").write_text(json.dumps(res, indent=1))
    print("\n".join(md))


if __name__ == "__main__":
    main()
