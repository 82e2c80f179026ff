"""kill -9 at random moments: the previous output is intact or the new one complete, and reruns finish the job.

Slow (a few minutes): each kill starts a fresh process.  Issue 16's crash tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

pytestmark = pytest.mark.slow
KILLS = 20


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "uqsurrogate.cli", *args]


def _kill_at(argv: list[str], cwd: Path, after: float) -> int | None:
    """Start the command, SIGKILL it ``after`` seconds in (unless it finished); its return code or None."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return proc.wait(timeout=after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def _digest(path: Path) -> str:
    with xr.open_dataset(path) as ds:
        return hashlib.sha256(b"".join(np.ascontiguousarray(ds[v].values).tobytes()
                                       for v in ("density", "density_sem", "density_true"))).hexdigest()


def _kill_after(argv: list[str], cwd: Path, progress, more: int, extra: float) -> int | None:
    """Start the command and SIGKILL it ``extra`` seconds after ``progress()`` has grown by ``more``.

    Its return code if it finished first, else None.  Kills keyed to the work done, not to the
    clock, so that a run needs the same number of lives on a fast machine and on a loaded one.
    """
    start = progress()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while proc.poll() is None and progress() < start + more and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is None:
        time.sleep(extra)
    if proc.poll() is not None:
        return proc.returncode
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return None


def _kill_after_parts(argv: list[str], cwd: Path, parts: Path, more: int, extra: float) -> int | None:
    """:func:`_kill_after` ``more`` new chunks into ``parts``."""
    return _kill_after(argv, cwd, lambda: len(list(parts.glob("chunk-*.nc"))) if parts.is_dir() else 0, more, extra)


def test_simulate_survives_kill_9(tmp_path):
    """Killed 1-3 chunks into each life (and up to one chunk's time more, often mid-chunk): 32 chunks
    need over ten lives.  (Kills at fixed 1-3.5 s finished in 9 lives on an idle machine.)"""
    args = ["simulate", "--design", "random", "--n", "256", "--seed", "5", "--chunk-size", "8", "--out", "o.nc"]
    t0 = time.perf_counter()
    assert subprocess.run(_cli(*args[:-1], "ref.nc"), cwd=tmp_path, capture_output=True).returncode == 0
    chunk_seconds = (time.perf_counter() - t0) / 32
    reference = _digest(tmp_path / "ref.nc")
    rng = np.random.default_rng(0)
    kills = 0
    for _ in range(2 * KILLS):
        code = _kill_after_parts(_cli(*args), tmp_path, tmp_path / "o.nc.parts", int(rng.integers(1, 4)),
                                 float(rng.uniform(0, chunk_seconds)))
        kills += code is None
        out = tmp_path / "o.nc"
        if out.exists():  # only ever complete: written atomically at the very end
            assert _digest(out) == reference
            break
        assert code is None
    assert kills >= 10
    done = subprocess.run(_cli(*args), cwd=tmp_path, capture_output=True, text=True)
    if done.returncode == 2:  # it had finished: --out exists
        assert "--force" in done.stderr
    assert _digest(tmp_path / "o.nc") == reference
    assert not list(tmp_path.glob(".tmp-*")) and not (tmp_path / "o.nc.parts").exists()


def test_train_survives_kill_9_and_resumes_to_the_same_weights(tmp_path):
    """--checkpoint-every 1, killed at random moments: every checkpoint left is one whole epoch (its optimizer's
    step count matches its state.json), and the finished model equals the uninterrupted one to the bit."""
    from uqsurrogate._keras import import_keras
    from uqsurrogate.simulators import sobol_design
    from uqsurrogate.simulators.runner import ElectrolyteSimulator
    from uqsurrogate.surrogate.losses import make_loss, mse_hard

    keras = import_keras()
    loss = make_loss("soft-label", seed=3)

    ElectrolyteSimulator(n_bins=16).run(sobol_design(64, seed=3), seed=3).to_netcdf(tmp_path / "d.nc")
    common = ["train", "d.nc", "--epochs", "80", "--checkpoint-every", "1", "--seed", "3", "--hidden", "16", "16",
              "--batch-size", "8", "--loss", "soft-label", "--dropout", "0.1", "--quiet"]
    t0 = time.perf_counter()
    assert subprocess.run(_cli(*common, "--out", "whole"), cwd=tmp_path, capture_output=True).returncode == 0
    budget = time.perf_counter() - t0
    steps = int(np.ceil(0.8 * 64 / 8))
    rng = np.random.default_rng(1)
    kills = finished = 0
    while kills < KILLS:
        if (tmp_path / "part").exists():  # finished after some kills: it must equal the whole run; start again
            _same_weights(tmp_path / "whole", tmp_path / "part")
            finished += 1
            shutil.rmtree(tmp_path / "part")
        code = _kill_at(_cli(*common, "--out", "part"), tmp_path, after=float(rng.uniform(0.15, 0.4) * budget))
        kills += code is None
        ckpt = tmp_path / "part.checkpoint"
        if ckpt.exists():
            epoch = json.loads((ckpt / "state.json").read_text())["epoch"]
            model = keras.saving.load_model(ckpt / "last.keras", custom_objects={loss.__name__: loss,
                                                                                 "mse_hard": mse_hard})
            assert int(model.optimizer.iterations.numpy()) == epoch * steps  # weights and state of one epoch
    if not (tmp_path / "part").exists():  # the last killed run, resumed to the end
        finished += (tmp_path / "part.checkpoint" / "state.json").is_file()
        assert subprocess.run(_cli(*common, "--out", "part"), cwd=tmp_path, capture_output=True).returncode == 0
    assert finished >= 1, "no killed run was ever resumed to the end"
    assert not list(tmp_path.glob(".part*tmp-*")), "a killed writer's temporaries were not cleaned up"
    _same_weights(tmp_path / "whole", tmp_path / "part")


def _same_weights(a: Path, b: Path) -> None:
    from uqsurrogate.surrogate import load_artifact

    wa, wb = load_artifact(a).model.get_weights(), load_artifact(b).model.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb)), "the resumed run differs from the uninterrupted one"


def _kill_after_files(argv: list[str], cwd: Path, root: Path, more: int, extra: float) -> int | None:
    """:func:`_kill_after` ``more`` new files under ``root``."""
    return _kill_after(argv, cwd, lambda: sum(1 for _ in root.rglob("*")) if root.is_dir() else 0, more, extra)


def test_active_loop_killed_mid_round_resumes_to_the_same_data_and_weights(tmp_path):
    """Two rounds of `active run`, killed a few files into each life (proposals, simulations, members being
    warm-started, the calibration): the finished run equals the uninterrupted one, data and weights."""
    from uqsurrogate.active import ActiveRun
    from uqsurrogate.data import input_matrix
    from uqsurrogate.data.io import save_dataset
    from uqsurrogate.simulators import ElectrolyteSimulator, random_design
    from uqsurrogate.surrogate import TrainingConfig
    from uqsurrogate.surrogate.ensemble import load_ensemble, train_ensemble

    sim = ElectrolyteSimulator(n_bins=16)
    save_dataset(sim.run(random_design(40, seed=1), seed=1), tmp_path / "d.nc")
    save_dataset(sim.run(random_design(20, seed=2), seed=2), tmp_path / "cal.nc")
    cfg = TrainingConfig(loss="soft-label", epochs=10, hidden=(16, 16), dropout=0.0, learning_rate=3e-3, seed=0,
                         batch_size=8)
    from uqsurrogate.data.io import load_dataset

    train_ensemble(cfg, load_dataset(tmp_path / "d.nc"), tmp_path / "ens", members=3, progress=False)
    common = ["active", "run", "ens", "d.nc", "--rounds", "2", "--batch", "3", "--epochs", "15", "--steps", "40",
              "--candidates", "16", "--calibration", "cal.nc", "--quiet"]
    assert subprocess.run(_cli(*common, "--out", "whole"), cwd=tmp_path, capture_output=True).returncode == 0
    rng = np.random.default_rng(3)
    kills = 0
    for _ in range(40):
        code = _kill_after_files(_cli(*common, "--out", "part"), tmp_path, tmp_path / "part", int(rng.integers(1, 6)),
                                 float(rng.uniform(0, 0.3)))
        if code is not None:
            assert code == 0
            break
        kills += 1
    assert kills >= 4, f"only {kills} kills before the run finished"
    whole, part = ActiveRun(tmp_path / "whole"), ActiveRun(tmp_path / "part")
    assert part.rounds_done == 2
    a, b = whole.data(2), part.data(2)
    np.testing.assert_array_equal(input_matrix(a), input_matrix(b))
    np.testing.assert_array_equal(a["density"].values, b["density"].values)
    for ma, mb in zip(load_ensemble(whole.model_path(2)), load_ensemble(part.model_path(2))):
        assert all(np.array_equal(x, y) for x, y in zip(ma.model.get_weights(), mb.model.get_weights()))
    assert json.loads((whole.path / "active.json").read_text())["rounds"][1:] == \
        json.loads((part.path / "active.json").read_text())["rounds"][1:]
    assert not list((tmp_path / "part").rglob(".tmp-*"))


def test_study_refine_killed_at_random_resumes_to_the_same_result(tmp_path):
    """`study --refine` on a study with two unresolved cells, SIGKILLed a few files into each life (plans, runs,
    the results): the rerun ends with the uninterrupted run's record and refined table, bit for bit."""
    from conftest import paper_study_dir

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = paper_study_dir(tmp_path / "a", [[1, 0], [1, 0]])
    part = paper_study_dir(tmp_path / "b", [[1, 0], [1, 0]])
    common = ["study", "--refine", "3000", "--tolerance", "0.05", "--max-rounds", "4", "--no-figures"]
    assert subprocess.run(_cli(*common, "--out", str(whole)), capture_output=True).returncode == 0
    files = sum(1 for _ in whole.rglob("*")) - 1  # all but the study's paper_sensitivity.nc
    assert files >= 10, f"the refinement writes {files} files and folders: too few lives to kill it in"
    rng = np.random.default_rng(4)
    kills = 0
    for _ in range(40):
        code = _kill_after_files(_cli(*common, "--out", str(part)), tmp_path, part, 1, float(rng.uniform(0, 0.2)))
        if code is not None:
            assert code == 0
            break
        kills += 1
    assert kills >= 3, f"only {kills} kills before the refinement finished"
    for name in ("refinement.nc", "paper_sensitivity_refined.nc"):
        xr.testing.assert_identical(xr.load_dataset(whole / name), xr.load_dataset(part / name))
    assert (whole / "paper_sensitivity_refined_table.md").read_text() == \
        (part / "paper_sensitivity_refined_table.md").read_text()
    assert not list(part.rglob(".*tmp-*"))
