"""Active learning with an external MD engine, in two phases per round.

    python run.py [--rounds 2] [--batch 4] [--workdir al-md]

1. A small start: 48 random inputs of the paper's box simulated at 16 bins, and a
   three-member ensemble trained on them (a minute on 2 cores).
2. Every round, as you would with real MD:

   * ``uqsurrogate active propose ensemble data.nc --out al-md/run --batch 4`` writes the
     round's batch as job folders, ``round-RRR/jobs/job-KKKK/in.params``;
   * the MD engine runs each job (here ``fake_md.py``, the embedded simulator writing the
     nanoconfinement-md profile tables ``p_density_profile.dat`` and ``n_density_profile.dat``;
     on a cluster, a job script per folder);
   * ``uqsurrogate active ingest al-md/run al-md/run/round-RRR/jobs`` reads the tables with
     uqsurrogate's importer, appends them, warm-starts every member, recalibrates on the
     held-out set and records the round.

It prints one line per round: the samples so far and the RMSE against the held-out truth.
"""

import argparse
import subprocess
import sys
from pathlib import Path

from uqsurrogate.data.io import save_dataset
from uqsurrogate.simulators import ElectrolyteSimulator, random_design
from uqsurrogate.surrogate import TrainingConfig
from uqsurrogate.surrogate.ensemble import train_ensemble

HERE = Path(__file__).resolve().parent


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "uqsurrogate.cli", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(done.stderr)
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--workdir", type=Path, default=Path("al-md"))
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(exist_ok=True)
    sim = ElectrolyteSimulator(n_bins=16)
    for name, n, seed in (("data", 48, 1), ("calibration", 24, 2), ("test", 40, 3)):
        if not (work / f"{name}.nc").is_file():
            save_dataset(sim.run(random_design(n, seed=seed), seed=seed), work / f"{name}.nc")
    if not (work / "ensemble" / "ensemble.json").is_file():
        cfg = TrainingConfig(loss="soft-label", epochs=60, hidden=(32, 32), dropout=0.0, learning_rate=3e-3, seed=0,
                             batch_size=8, schedule="cosine")
        from uqsurrogate.data.io import load_dataset

        train_ensemble(cfg, load_dataset(work / "data.nc"), work / "ensemble", members=3, progress=False)
    run = work / "run"
    for r in range(1, args.rounds + 1):
        cli("active", "propose", str(work / "ensemble"), str(work / "data.nc"), "--out", str(run), "--batch",
            str(args.batch), "--epochs", "20", "--calibration", str(work / "calibration.nc"), "--test",
            str(work / "test.nc"))
        jobs = sorted((run / f"round-{r:03d}" / "jobs").glob("job-*"))
        subprocess.run([sys.executable, str(HERE / "fake_md.py"), *map(str, jobs), "--seed", str(100 + r)], check=True)
        print(cli("active", "ingest", str(run), str(run / f"round-{r:03d}" / "jobs"), "--quiet").splitlines()[0])


if __name__ == "__main__":
    main()
