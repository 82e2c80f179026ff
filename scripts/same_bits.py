"""Hash the seeded outputs of the main entry points, to check that a refactoring keeps every bit.

Run it on two commits with the same arguments and compare the JSON files::

    git worktree add /tmp/old OLD_COMMIT
    PYTHONPATH=/tmp/old python scripts/same_bits.py --out old.json
    python scripts/same_bits.py --out new.json
    python scripts/same_bits.py --compare old.json new.json

Every hash is the SHA-256 of the float64 bytes of each data variable (in name order) of the
result, so a difference of one ulp anywhere shows.  Sizes are small (the whole run takes
about two minutes on two cores); the seeds are fixed.  Covered: ``sobol`` (bootstrap and
RQMC intervals), ``nested``, ``pce``, ``propagate``, ``simulate`` (one and two workers),
``train`` (a small soft-label network: the weights and the predictions) and the study's
``paper_sensitivity`` on the shipped ensemble.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

logger = logging.getLogger("same_bits")


def _hash_arrays(arrays) -> str:
    h = hashlib.sha256()
    for name, a in arrays:
        a = np.asarray(a)
        h.update(str(name).encode())
        if a.dtype.kind in "fciub":
            h.update(np.ascontiguousarray(a, dtype=np.float64 if a.dtype.kind != "c" else a.dtype).tobytes())
        else:
            h.update(repr(a.tolist()).encode())
    return h.hexdigest()


def _hash_dataset(ds) -> str:
    arrays = [(k, ds[k].values) for k in sorted(ds.data_vars)]
    arrays += [(f"coord:{k}", ds[k].values) for k in sorted(ds.coords)]
    return _hash_arrays(arrays)


def run() -> dict[str, str]:
    from uqsurrogate import ModelFunction, Problem
    from uqsurrogate.data import load_dataset
    from uqsurrogate.problem import Normal, Uniform
    from uqsurrogate.sensitivity import nested, pce, sobol
    from uqsurrogate.simulators.runner import simulate
    from uqsurrogate.study import default_model_path, paper_sensitivity
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig
    from uqsurrogate.testing import ishigami
    from uqsurrogate.uncertainty.propagation import propagate

    out: dict[str, str] = {}
    prob = Problem({"x1": Uniform(-np.pi, np.pi), "x2": Uniform(-np.pi, np.pi), "x3": Uniform(-np.pi, np.pi)})
    out["sobol_bootstrap"] = _hash_dataset(sobol(ishigami, prob, 1024, seed=3, ci="bootstrap", resamples=50))
    out["sobol_rqmc"] = _hash_dataset(sobol(ishigami, prob, 512, seed=3, ci="rqmc"))
    out["nested"] = _hash_dataset(nested(ishigami, Problem({"x1": Uniform(-np.pi, np.pi),
                                                            "x2": Uniform(-np.pi, np.pi), "x3": 0.5}),
                                         64, 64, seed=5, resamples=20))
    out["pce"] = _hash_dataset(pce(ishigami, prob, 400, order=6, seed=7, ci="bootstrap", resamples=20))
    out["propagate"] = _hash_dataset(propagate(ishigami, Problem({"x1": Normal(0, 1), "x2": Uniform(0, 1),
                                                                  "x3": 0.1}), 5000, seed=11))
    design = {"h": np.array([3.0, 4.0, 5.0, 4.5, 3.5, 4.2]), "c": np.array([0.3, 0.9, 1.5, 0.5, 1.0, 2.0]),
              "d_plus": np.array([0.4, 0.5, 0.6, 0.45, 0.55, 0.5]),
              "d_minus": np.array([0.6, 0.5, 0.4, 0.55, 0.45, 0.6]),
              "sigma": np.array([-0.015, -0.01, -0.02, 0.0, -0.005, -0.012])}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for workers in (1, 2):
            path = simulate(design, tmp / f"sim{workers}.nc", seed=13, workers=workers, chunk_size=2, progress=False)
            out[f"simulate_workers{workers}"] = _hash_dataset(load_dataset(path))
        ds = load_dataset(tmp / "sim1.nc")
        cfg = TrainingConfig(epochs=3, hidden=(16, 16), batch_size=2, seed=2, learning_rate=1e-3,
                             test_fraction=0.34)
        tr = SurrogateTrainer(cfg, progress=False).fit(ds)
        out["train_weights"] = _hash_arrays(enumerate(tr.model_.get_weights()))
        out["train_history"] = _hash_arrays(sorted(tr.history_.items()))
        tr.save(tmp / "model")
        f = ModelFunction.from_artifact(tmp / "model", extrapolation="warn")
        X = np.stack([ds[k].values for k in ("h", "c", "d_plus", "d_minus", "sigma")], axis=1)
        out["train_predict"] = _hash_arrays([("y", f(X))])
    ens = ModelFunction.from_artifact(default_model_path())
    out["study_paper_sensitivity"] = _hash_dataset(paper_sensitivity(ens, n_z=40, n_bins=20, seed=0, progress=False,
                                                                     resamples=20))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="write the hashes here (JSON)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="compare two hash files")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.compare:
        old, new = (json.loads(p.read_text()) for p in args.compare)
        differ = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
        missing = sorted(old.keys() ^ new.keys())
        logger.info("%d of %d hashes differ%s%s", len(differ), len(old.keys() & new.keys()),
                    f": {differ}" if differ else "", f"; only in one file: {missing}" if missing else "")
        return 1 if differ or missing else 0
    hashes = run()
    text = json.dumps(hashes, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    logger.info("%s", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
