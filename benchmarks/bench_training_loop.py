"""The cost of seeding every epoch (one ``fit`` call per epoch) against one ``fit`` over all epochs, in one run.

    python benchmarks/bench_training_loop.py [--epochs 15] [--rounds 3]

The training loop calls ``model.fit`` once per epoch so that the shuffling, the dropout masks
and the soft labels of epoch e depend only on (seed, e): a resumed run then equals the
uninterrupted one.  This measures what that costs on the paper-sized problem (3,240 training
rows, 5 inputs, 256-512 hidden units, 1,004 outputs, batch 32), the two loops interleaved
round by round, and reports the median ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import report

from uqsurrogate._keras import import_keras
from uqsurrogate.surrogate.network import build_network


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    keras = import_keras()
    rng = np.random.default_rng(0)
    n, p = 3240, 1004
    x, y = rng.random((n, 5)).astype("float32"), rng.random((n, p)).astype("float32")
    xv, yv = x[:800], y[:800]

    def make():
        m = build_network(5, p, (256, 512), 0.0, 0)
        m.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse", steps_per_execution=32)
        m.fit(x, y, batch_size=32, epochs=1, verbose=0)  # compile outside the timing
        return m

    def one_fit() -> float:
        m = make()
        t = time.perf_counter()
        m.fit(x, y, validation_data=(xv, yv), batch_size=32, epochs=args.epochs, shuffle=True, verbose=0)
        return time.perf_counter() - t

    def per_epoch() -> float:
        m = make()
        t = time.perf_counter()
        for e in range(args.epochs):
            o = np.random.default_rng([0, 2, e]).permutation(n)
            m.fit(x[o], y[o], validation_data=(xv, yv), batch_size=32, epochs=e + 1, initial_epoch=e, shuffle=False,
                  verbose=0)
        return time.perf_counter() - t

    single, seeded = [], []
    for _ in range(args.rounds):
        single.append(one_fit())
        seeded.append(per_epoch())
    ratios = np.array(seeded) / np.array(single)
    report({"epochs": args.epochs, "rounds": args.rounds, "one_fit_s": single, "per_epoch_s": seeded,
            "ratio_median": float(np.median(ratios)), "ratio_range": [float(ratios.min()), float(ratios.max())]},
           None if args.json is None else __import__("pathlib").Path(args.json))


if __name__ == "__main__":
    main()
