"""Benchmark: contract validation, netCDF write and read of a paper-sized training set.

    python benchmarks/bench_data_io.py [--samples 4050] [--bins 502] [--json OUT]

Reports seconds for make_dataset + validate, save_dataset, load_dataset (eager), a lazy
open plus a full validation pass chunk by chunk, the file size, and the peak resident
memory of the process, against the in-memory size of the data as the anchor.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from uqsurrogate.data import check, load_dataset, make_dataset, save_dataset


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4050)
    parser.add_argument("--bins", type=int, default=502)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, b = args.samples, args.bins
    h = rng.uniform(4, 5, n)
    z = h[:, None] * (np.arange(b) + 0.5)[None, :] / b - h[:, None] / 2
    true = rng.uniform(0, 2, (n, 2, b))
    sem = 0.02 * true
    inputs = {k: rng.uniform(0.2, 0.6, n) for k in ("c", "d_plus", "d_minus")}
    inputs = {"h": h, **inputs, "sigma": rng.uniform(-0.02, -0.01, n)}
    data_mib = 3 * true.nbytes / 2**20
    res = {"samples": n, "bins": b, "data_MiB": round(data_mib, 1), "machine": platform.platform(),
           "date": time.strftime("%Y-%m-%d")}

    t = time.perf_counter()
    ds = make_dataset(inputs, z, true + sem * rng.standard_normal(true.shape).clip(-3, 3), sem, density_true=true)
    res["make_and_validate_s"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.nc"
        t = time.perf_counter()
        save_dataset(ds, path, validate=False)
        res["save_s"] = time.perf_counter() - t
        res["file_MiB"] = round(path.stat().st_size / 2**20, 1)
        t = time.perf_counter()
        load_dataset(path, validate=False)
        res["load_eager_s"] = time.perf_counter() - t
        t = time.perf_counter()
        lazy = load_dataset(path, lazy=True, validate=False)
        problems = check(lazy)
        lazy.close()
        res["lazy_open_and_validate_s"] = time.perf_counter() - t
        res["problems"] = len(problems)
    res["peak_rss_MiB"] = round(peak_rss_mib(), 1)
    for key, value in res.items():
        print(f"{key:>26}: {round(value, 3) if isinstance(value, float) else value}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
