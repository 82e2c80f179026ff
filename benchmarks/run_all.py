"""Run every benchmark and write one table of figures (markdown and JSON).

    python benchmarks/run_all.py [--out benchmarks/results] [--with-training --data grid.nc]

Each figure comes with the machine, the date, and its ratio against the anchor measured
in the same run.  Training (about an hour on 2 cores) runs only with ``--with-training``;
otherwise its last results (``results/training.json``) are summarised if present.
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


def run(script: str, out: Path, *extra: str) -> dict:
    target = out / f"{script.replace('bench_', '').replace('.py', '')}.json"
    subprocess.run([sys.executable, str(HERE / script), "--json", str(target), *extra], check=True)
    return json.loads(target.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--with-training", action="store_true")
    p.add_argument("--data", type=Path, help="paper-grid data for the training benchmark")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    res = {"machine": platform.platform(), "date": time.strftime("%Y-%m-%d")}
    res["data_io"] = run("bench_data_io.py", a.out)
    res["simulator"] = run("bench_simulator.py", a.out, "--plot", str(HERE.parent / "docs" / "figures" / "simulator_vs_md.png"))
    res["model_function"] = run("bench_model_function.py", a.out)
    res["sensitivity"] = run("bench_sensitivity.py", a.out)
    if a.with_training:
        res["training"] = run("bench_training.py", a.out, "--data", str(a.data))
    elif (a.out / "training.json").exists():
        res["training"] = json.loads((a.out / "training.json").read_text())
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
    md = [f"Machine: {res['machine']}; date: {res['date']}", "", "| " + " | ".join(rows[0]) + " |",
          "|" + "---|" * len(rows[0])]
    md += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    (a.out / "summary.md").write_text("\n".join(md) + "\n")
    (a.out / "summary.json").write_text(json.dumps(res, indent=1))
    print("\n".join(md))


if __name__ == "__main__":
    main()
