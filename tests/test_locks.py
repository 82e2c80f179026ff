"""One writer per output: the long writers hold ``OUT.lock`` (``uqsurrogate._atomic.output_lock``).

Two ``train`` runs to the same ``--out`` shared one checkpoint folder: the loser trained to the end, then
failed.  Now each long writer (train, train --members, simulate, calibrate, study, the active-learning
loop) takes the lock of its output first; a second writer is refused at once with a
:class:`~uqsurrogate.errors.LockedError` naming the lock file and the owner's pid, and a lock left by a
writer that died is taken over with a logged warning.  Each test holds the lock from another process.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from uqsurrogate._atomic import lock_path, output_lock
from uqsurrogate.cli import main
from uqsurrogate.errors import LockedError

ROOT = Path(__file__).resolve().parents[1]


class Holder:
    """Another process holding the lock of ``target`` until :meth:`release`."""

    def __init__(self, target: Path):
        code = textwrap.dedent(f"""
            import sys
            from uqsurrogate._atomic import output_lock
            with output_lock({str(target)!r}, "holder"):
                print("held", flush=True)
                sys.stdin.read()
        """)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        assert self.proc.stdout.readline().strip() == "held"
        self.pid = self.proc.pid
        self.lock = lock_path(target)

    def release(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        assert not self.lock.exists()


@pytest.fixture
def hold():
    holders = []

    def start(target):
        holders.append(Holder(Path(target)))
        return holders[-1]

    yield start
    for h in holders:
        if h.proc.poll() is None:
            h.release()


def _refused(holder: Holder):
    """pytest.raises for the second writer: the package's error, naming the lock file and the owner's pid."""
    return pytest.raises(LockedError, match=rf"is being written by another process \(holder\): "
                                            rf"{holder.lock} is held by pid {holder.pid} on host ")


def _one_line(capsys, code: int, holder: Holder) -> None:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"{holder.lock} is held by pid {holder.pid}" in err, err


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------------------------------------- the helper
def test_the_lock_is_exclusive_across_processes_reentrant_within_one_and_released_on_errors(tmp_path, hold):
    out = tmp_path / "out.nc"
    holder = hold(out)
    doc = json.loads(holder.lock.read_text())
    assert doc["pid"] == holder.pid and doc["host"] == socket.gethostname()
    with _refused(holder) as caught, output_lock(out, "second"):
        pass
    assert caught.value.lock == holder.lock and caught.value.owner["pid"] == holder.pid
    holder.release()
    with output_lock(out, "mine") as lock:  # free again: taken; the same process may take it again inside
        with output_lock(out, "nested"):
            assert json.loads(lock.read_text())["what"] == "mine"
        assert lock.exists()
    assert not lock.exists()
    with pytest.raises(RuntimeError, match="boom"), output_lock(out):  # released on an error too
        raise RuntimeError("boom")
    assert not lock.exists()
    with pytest.raises(FileNotFoundError, match="does not exist"), output_lock(tmp_path / "no" / "out.nc"):
        pass


def test_a_stale_lock_is_taken_over_with_a_warning_and_another_hosts_lock_is_refused(tmp_path, caplog):
    from uqsurrogate.simulators import ElectrolyteSimulator, random_design, simulate

    out = tmp_path / "run.nc"
    dead = _dead_pid()
    lock = lock_path(out)
    lock.write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "started": 0, "what": "simulate"}))
    (tmp_path / f".run.nc.lock.tmp-{dead}-abcd").write_text("{}")  # a temporary of a writer killed while locking
    with caplog.at_level(logging.WARNING, logger="uqsurrogate._atomic"):
        simulate(random_design(2, seed=1), out, simulator=ElectrolyteSimulator(n_bins=100), seed=0, progress=False)
    assert out.is_file() and not lock.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]
    assert any(f"taking over the lock of pid {dead}" in r.getMessage() and "no longer runs" in r.getMessage()
               for r in caplog.records)
    # our own pid in a lock we do not hold: a previous process's (pids are reused after a restart)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    with output_lock(out):
        pass
    # a lock of another machine cannot be checked from here: refused, naming its host, and how to clear it
    lock.write_text(json.dumps({"pid": dead, "host": "elsewhere.example", "started": 0}))
    with pytest.raises(LockedError, match=rf"held by pid {dead} on host elsewhere.example.*if no such process runs, "
                                          rf"remove {lock}"):
        simulate(random_design(2, seed=1), tmp_path / "run.nc", seed=0, progress=False)
    lock.write_text("not json")
    with pytest.raises(LockedError, match="an unreadable lock"):
        simulate(random_design(2, seed=1), tmp_path / "run.nc", seed=0, progress=False)


# ---------------------------------------------------------------------------------------------- the writers
def test_train_is_refused_while_another_trains_to_the_same_out(tmp_path, hold, capsys):
    from conftest import synthetic

    from uqsurrogate.data import save_dataset
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig
    from uqsurrogate.surrogate.ensemble import train_ensemble

    data = synthetic(n=8, n_bins=12, seed=0)
    config = TrainingConfig(loss="mse", epochs=2, hidden=(4,), dropout=0.0, batch_size=4, seed=0, checkpoint_every=1)
    ckpt = tmp_path / "m.checkpoint"
    holder = hold(ckpt)
    with _refused(holder):
        SurrogateTrainer(config, checkpoint_dir=ckpt, progress=False).fit(data)
    assert not ckpt.exists()  # refused before the first epoch, not at the end
    on_ensemble = hold(tmp_path / "ens")
    with _refused(on_ensemble):
        train_ensemble(config, data, tmp_path / "ens", members=2, progress=False)
    assert not (tmp_path / "ens.members").exists()
    save_dataset(data, tmp_path / "d.nc")
    for holder, extra in ((hold(tmp_path / "m"), []), (on_ensemble, ["--members", "2"])):
        out = holder.lock.with_suffix("")
        _one_line(capsys, main(["train", str(tmp_path / "d.nc"), "--out", str(out), "--epochs", "2",
                                "--hidden", "4", "--quiet", *extra]), holder)
        assert not out.exists()


def test_simulate_is_refused_while_another_writes_the_same_out(tmp_path, hold, capsys):
    from uqsurrogate.simulators import random_design, simulate

    out = tmp_path / "run.nc"
    holder = hold(out)
    with _refused(holder):
        simulate(random_design(2, seed=1), out, seed=0, progress=False)
    assert not (tmp_path / "run.nc.parts").exists()
    _one_line(capsys, main(["simulate", "--design", "random", "--n", "2", "--seed", "0", "--out", str(out)]), holder)
    assert not out.exists() and not (tmp_path / "run.nc.parts").exists()


@pytest.fixture
def ensemble(tmp_path):
    import shutil

    from uqsurrogate.study import default_model_path

    return Path(shutil.copytree(default_model_path(), tmp_path / "ens"))


def test_calibrate_is_refused_while_another_writes_the_ensemble(tmp_path, ensemble, hold, capsys):
    from uqsurrogate.surrogate.ensemble import read_ensemble, set_calibration

    before = (ensemble / "ensemble.json").read_bytes()
    holder = hold(ensemble)
    with _refused(holder):
        set_calibration(ensemble, None)
    _one_line(capsys, main(["calibrate", str(ensemble), str(tmp_path / "held-out.nc")]), holder)
    assert (ensemble / "ensemble.json").read_bytes() == before
    holder.release()
    set_calibration(ensemble, read_ensemble(ensemble)["calibration"])  # free again


def test_study_is_refused_while_another_writes_the_same_out(tmp_path, hold, capsys):
    from uqsurrogate.study import run_study, study_from_scratch

    out = tmp_path / "study"
    holder = hold(out)
    with _refused(holder):
        run_study(out, quick=True, figures=False, progress=False)
    with _refused(holder):
        study_from_scratch(out, epochs=1, progress=False)
    _one_line(capsys, main(["study", "--out", str(out), "--quick", "--no-figures", "--quiet"]), holder)
    assert not out.exists()


def test_the_active_learning_loop_is_refused_while_another_writes_the_run(tmp_path, ensemble, hold, capsys):
    from uqsurrogate.active import (
        ActiveRun,
        ActiveSettings,
        SimulatorOracle,
        run_active,
    )
    from uqsurrogate.active.loop import FORMAT

    run_dir = tmp_path / "run"
    holder = hold(run_dir)
    with _refused(holder):
        run_active(ensemble, tmp_path / "data.nc", run_dir, rounds=1, oracle=SimulatorOracle(seed=0))
    run = ActiveRun(run_dir, doc={"format": FORMAT, "settings": ActiveSettings().to_dict()})
    with _refused(holder):
        run.propose()
    with _refused(holder):
        run.ingest(tmp_path / "results.nc")
    _one_line(capsys, main(["active", "propose", str(ensemble), str(tmp_path / "data.nc"), "--out", str(run_dir)]),
              holder)
    assert not run_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ens", "run.lock"]
