"""What the benchmark scripts share: reporting, and for training one TensorFlow thread per run in a pool."""

from __future__ import annotations

import concurrent.futures
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def report(res: dict, out: Path | None) -> dict:
    """Print a benchmark's figures as JSON and write them to ``out`` (``--json``) if given."""
    text = json.dumps(res, indent=1)
    print(text)
    if out is not None:
        out.write_text(text)
    return res


def mean_sd(values, fmt: str = "{:.3g}") -> str:
    """``mean ± sd`` (ddof 1; 0 for one value) of a list of numbers, each formatted with ``fmt``."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    return f"{fmt.format(x.mean())} ± {fmt.format(x.std(ddof=1) if x.size > 1 else 0)}"


def one_thread_tensorflow() -> None:
    """Pin TensorFlow to one thread (call first in a worker): runs go side by side."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # this worker has run TensorFlow already: it was pinned then
        pass


def run_jobs(fn: Callable[..., dict], jobs: Sequence[tuple], workers: int, out: Path | None,
             results: list[dict] | None = None) -> list[dict]:
    """Run ``fn(*args)`` for every args in ``jobs``, ``workers`` at a time.

    Each result is printed as a JSON line as it comes, and the list so far (after
    ``results``, earlier runs kept on resume) is written to ``out`` after every run, so an
    interrupted benchmark loses at most the runs in flight.
    """
    results = list(results or [])
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        for fut in concurrent.futures.as_completed([pool.submit(fn, *args) for args in jobs]):
            results.append(fut.result())
            print(json.dumps(results[-1]), flush=True)
            if out is not None:
                out.write_text(json.dumps({"machine": platform.platform(), "date": time.strftime("%Y-%m-%d"),
                                           "runs": results}, indent=1))
    return results
