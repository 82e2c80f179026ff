"""Deep ensembles: K members trained alike from different seeds, saved and loaded as one model.

::

    ensemble/
      ensemble.json     format, version, the members' names and the SHA-256 of each member's
                        metadata.json (which holds its model.keras hash), how they were
                        trained, optionally a calibration of the members' spread, and the
                        SHA-256 of the document itself (``ensemble_sha256``; files written
                        before it was recorded load without it)
      member-00/        a model directory (see :mod:`.artifact`)
      member-01/
      ...

:func:`train_ensemble` trains the members with seeds ``seed``, ``seed + 1``, ... on one
common train/test split (split seed ``seed``), each optionally on a bootstrap resample of
the training rows; finished members are kept in ``OUT.members/``, so a rerun resumes.
:func:`save_ensemble` and :func:`load_ensemble` write and check the directory;
:class:`~uqsurrogate.model_function.ModelFunction` loads it as one function whose output is
the member mean, or every member (a ``member`` dim), or the mean and the spread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .._atomic import atomic_directory, atomic_path, locks_output
from .._validation import check_int
from .._version import __version__
from ..errors import InputError
from ..observables import OBSERVABLES
from .artifact import METADATA_FILE, ArtifactError, Surrogate, load_artifact, read_metadata, sha256_file

__all__ = ["ENSEMBLE_FILE", "continue_model", "is_ensemble", "load_ensemble", "read_ensemble", "save_ensemble", "set_calibration",
           "train_ensemble"]

logger = logging.getLogger(__name__)

ENSEMBLE_FILE = "ensemble.json"
FORMAT = "uqsurrogate-ensemble"
FORMAT_VERSION = 1
#: The key of ``ensemble.json``'s own SHA-256 (absent in files written before it was recorded).
DIGEST_KEY = "ensemble_sha256"
#: The kinds of calibration map an output kind may store (:data:`uqsurrogate.uncertainty.calibration.CALIBRATIONS`).
_CALIBRATION_KINDS = ("scale", "isotonic")


def is_ensemble(path: str | os.PathLike) -> bool:
    """True if ``path`` is an ensemble directory."""
    return (Path(path) / ENSEMBLE_FILE).is_file()


def _member_name(k: int) -> str:
    return f"member-{k:02d}"


def _resumable_members(parts: Path, count: int, make, done: str) -> list[Path]:
    """``parts/member-KK`` for k < count, each made by ``make(k, member_dir)`` unless a rerun finds it there."""
    paths = []
    for k in range(count):
        member_dir = parts / _member_name(k)
        paths.append(member_dir)
        if member_dir.is_dir():
            logger.info("member %d of %d already %s (%s)", k + 1, count, done, member_dir)
            continue
        make(k, member_dir)
    return paths


#: Settings a member's results do not depend on (a resumed run equals the uninterrupted one).
_RESULT_NEUTRAL = ("checkpoint_every",)


def _refuse_stale_members(parts: Path, count: int, digest: str, what: str,
                          settings: Callable[[int], dict] | None = None) -> None:
    """Refuse to resume from ``parts`` if a member left there was made on other data or (``settings(k)``:
    the training settings member k would have now) with other settings, naming what differs."""
    for k in range(count):
        member = parts / _member_name(k)
        if not member.is_dir():
            continue
        try:
            training = read_metadata(member).get("training", {})
        except ArtifactError as err:
            raise InputError(f"{parts} holds a damaged member {k} ({err}); delete {parts} to start over") from None
        if training.get("data_sha256") != digest:
            raise InputError(f"{parts} holds members {what} on other data (member {k}: data SHA-256 "
                             f"{str(training.get('data_sha256'))[:12]}..., this data's {digest[:12]}...); delete "
                             f"{parts} to start over, or rerun with the original data")
        if settings is None:
            continue
        want = json.loads(json.dumps(settings(k)))  # as the metadata stores them (a tuple as a list)
        differ = [key for key in want if key not in _RESULT_NEUTRAL and training.get(key) != want[key]]
        if differ:
            listed = ", ".join(f"{key} {training.get(key)!r} (now {want[key]!r})" for key in differ)
            raise InputError(f"{parts} holds members {what} with other settings (member {k}: {listed}); delete "
                             f"{parts} to start over, or rerun with the original settings")


def _check_compatible(metas: Sequence[dict], where: str) -> None:
    """Members must share inputs, outputs and their scaling, z grid and units."""
    first = metas[0]
    keys = {"inputs": lambda m: [i["name"] for i in m["inputs"]],
            "input units": lambda m: [i.get("units") for i in m["inputs"]],
            "species": lambda m: m["outputs"]["species"], "n_bins": lambda m: m["outputs"]["n_bins"],
            "output scale": lambda m: m["outputs"]["scale"],
            "scale_by_input": lambda m: m["outputs"].get("scale_by_input"),
            "z grid": lambda m: (m["outputs"]["z_convention"], m["outputs"].get("z"), m["outputs"].get("affine"))}
    for what, get in keys.items():
        for k, m in enumerate(metas[1:], start=1):
            if get(m) != get(first):
                raise ArtifactError(f"{where}: member {k} has other {what} than member 0 ({get(m)!r} against "
                                    f"{get(first)!r}); an ensemble's members must map the same inputs to the "
                                    "same outputs")


def save_ensemble(members: Sequence[str | os.PathLike], path: str | os.PathLike, *, overwrite: bool = False,
                  training: dict | None = None, calibration: dict | None = None) -> Path:
    """Assemble model directories into an ensemble directory, atomically.

    Parameters
    ----------
    members : sequence of path-like
        At least two model directories (copied in as ``member-00``, ...).
    path : path-like
        The ensemble directory to create.
    overwrite : bool, default False
    training : dict, optional
        How the members were trained (recorded).
    calibration : dict, optional
        A calibration of the member spread (:mod:`uqsurrogate.uncertainty.calibration`).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if len(members) < 2:
        raise InputError(f"members = {len(members)} model(s); an ensemble needs at least 2")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--force) to replace it")
    metas = [read_metadata(m) for m in members]
    _check_compatible(metas, str(path))
    with atomic_directory(path) as tmp:
        names = []
        for k, m in enumerate(members):
            names.append(_member_name(k))
            shutil.copytree(m, tmp / names[-1])
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "uqsurrogate_version": __version__,
            "members": names,
            "files": {n: sha256_file(tmp / n / METADATA_FILE) for n in names},
            "training": training or {},
            "calibration": calibration,
        }
        _write_doc(tmp / ENSEMBLE_FILE, doc)
    logger.info("wrote ensemble %s (%d members)", path, len(members))
    return path


def _doc_digest(doc: Mapping) -> str:
    """SHA-256 of ``ensemble.json``'s content without its own digest (canonical JSON: sorted keys)."""
    body = {k: v for k, v in doc.items() if k not in (DIGEST_KEY, "member_metadata")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()).hexdigest()


def _write_doc(path: Path, doc: dict) -> None:
    """Write ``ensemble.json`` atomically (strict JSON: no NaN), with the digest of its content."""
    doc = {k: v for k, v in doc.items() if k not in (DIGEST_KEY, "member_metadata")}
    doc[DIGEST_KEY] = _doc_digest(doc)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False))


@locks_output("path", "calibrate")
def set_calibration(path: str | os.PathLike, calibration: dict | None) -> Path:
    """Store (or with None, remove) the calibration of an ensemble's spread in its ``ensemble.json``.

    Parameters
    ----------
    path : path-like
        An ensemble directory (checked first, as :func:`read_ensemble` does).
    calibration : dict or None
        What :func:`uqsurrogate.uncertainty.fit.calibrate_ensemble` returns.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    doc = read_ensemble(path)
    doc.pop("member_metadata")
    doc["calibration"] = calibration
    _write_doc(path / ENSEMBLE_FILE, doc)
    return path


def read_ensemble(path: str | os.PathLike) -> dict:
    """Read and check ``ensemble.json`` and every member's metadata (no Keras needed).

    Returns
    -------
    dict
        The document, with ``member_metadata`` (one dict per member) added.
    """
    path = Path(path)
    doc_path = path / ENSEMBLE_FILE
    try:
        doc = json.loads(doc_path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path}: {ENSEMBLE_FILE} is missing; not an ensemble directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{doc_path}: not valid JSON ({err}); the ensemble is corrupted") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{doc_path}: not a version-{FORMAT_VERSION} {FORMAT} file")
    if DIGEST_KEY in doc and doc[DIGEST_KEY] != _doc_digest(doc):
        raise ArtifactError(f"{doc_path} was changed after it was written (its {DIGEST_KEY} does not match its "
                            "content); the ensemble is corrupted or edited")
    names = _member_names(doc, path)
    files = doc.get("files")
    if not isinstance(files, dict):
        raise ArtifactError(f"{doc_path}: 'files' must map each member to the SHA-256 of its {METADATA_FILE}")
    if not isinstance(doc.get("training", {}), dict):
        raise ArtifactError(f"{doc_path}: 'training' must be a JSON object, not {type(doc['training']).__name__}")
    _check_calibration(doc.get("calibration"), doc_path)
    metas, seen = [], {}
    for name in names:
        expected = files.get(name)
        actual = sha256_file(path / name / METADATA_FILE) if (path / name / METADATA_FILE).is_file() else None
        if actual is None or expected != actual:
            raise ArtifactError(f"{path / name}: its {METADATA_FILE} is missing or does not match the hash in "
                                f"{ENSEMBLE_FILE}; the member was changed or corrupted after saving")
        if actual in seen:
            raise ArtifactError(f"{doc_path}: member {name} is a copy of member {seen[actual]} (the same "
                                f"{METADATA_FILE}); an ensemble's members must be distinct, or its spread is "
                                "too small")
        seen[actual] = name
        metas.append(read_metadata(path / name))
    _check_compatible(metas, str(path))
    return {**doc, "member_metadata": metas}


def _member_names(doc: dict, path: Path) -> list[str]:
    """The members' names: at least two, distinct, each a folder directly inside ``path`` (no link out of it)."""
    doc_path = path / ENSEMBLE_FILE
    names = doc.get("members")
    if not isinstance(names, list) or len(names) < 2:
        raise ArtifactError(f"{doc_path}: 'members' must list at least 2 member directories")
    root = path.resolve()
    resolved: dict[Path, str] = {}
    for name in names:
        if not isinstance(name, str):
            raise ArtifactError(f"{doc_path}: member {name!r} is a {type(name).__name__}; members are folder names")
        if names.count(name) > 1:
            raise ArtifactError(f"{doc_path}: 'members' lists {name!r} more than once; an ensemble's members must "
                                "be distinct, or its spread is too small")
        where = (path / name).resolve()
        if Path(name).name != name or name in (".", "..") or where.parent != root:
            raise ArtifactError(f"{doc_path}: member {name!r} is not a folder inside {path} (members are folders "
                                "directly in the ensemble folder, as save_ensemble writes them: member-00, ...)")
        if where in resolved:
            raise ArtifactError(f"{doc_path}: members {resolved[where]!r} and {name!r} are the same folder")
        resolved[where] = name
    return names


def _check_calibration(calibration: object, doc_path: Path) -> None:
    """A stored calibration: None, or a JSON object of output kinds (each a JSON object holding a
    ``calibration`` map whose ``x``, ``y`` are lists of finite numbers, as many, ``x`` increasing) and
    plain values; every list anywhere a list of numbers (or of such lists)."""
    def fail(where: str, what: str) -> None:
        raise ArtifactError(f"{doc_path}: {where} {what}; the stored calibration is corrupted (calibrate again)")

    def walk(value: object, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}[{k!r}]")
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, list):
                    walk(v, where)
                elif isinstance(v, bool) or not isinstance(v, (int, float)):
                    shown = f" ({v!r})" if isinstance(v, str) and len(v) < 40 else ""
                    fail(where, f"holds a {type(v).__name__}{shown}; its lists must hold numbers (or lists of them)")
        elif value is not None and not isinstance(value, (str, int, float)):
            fail(where, f"is a {type(value).__name__}")

    if calibration is None:
        return
    if not isinstance(calibration, dict):
        fail("calibration", f"is a {type(calibration).__name__}, not a JSON object of output kinds")
    for kind, entry in calibration.items():
        where = f"calibration[{kind!r}]"
        if isinstance(entry, list) or (kind in OBSERVABLES and not isinstance(entry, dict)):
            fail(where, f"is a {type(entry).__name__}, not a JSON object")
        if not isinstance(entry, dict):
            continue  # a plain value: reference, n, alpha, data, run
        cal = entry.get("calibration")
        if not isinstance(cal, dict):
            fail(where, f"has no 'calibration' map (got {type(cal).__name__})")
        where_map = f"{where}['calibration']"
        if cal.get("kind") not in _CALIBRATION_KINDS:
            fail(where_map, f"has kind = {cal.get('kind')!r}; allowed: {', '.join(_CALIBRATION_KINDS)}")
        for key in ("x", "y"):
            if not isinstance(cal.get(key, []), list):
                fail(f"{where_map}[{key!r}]", f"is a {type(cal[key]).__name__}, not a list of numbers")
        walk(entry, where)
        x, y, scale = cal.get("x", []), cal.get("y", []), cal.get("scale", 1.0)
        if len(x) != len(y):
            fail(where_map, f"has {len(x)} x and {len(y)} y values; they must be as many")
        if not all(math.isfinite(v) for v in x + y) or any(b < a for a, b in itertools.pairwise(x)):
            fail(where_map, "has non-finite or decreasing x, or non-finite y")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            fail(f"{where_map}['scale']", f"= {scale!r}; it must be a finite number > 0")
    walk(calibration, "calibration")


def load_ensemble(path: str | os.PathLike) -> list[Surrogate]:
    """The members of an ensemble directory, each checked, as :class:`~.artifact.Surrogate`."""
    doc = read_ensemble(path)
    return [load_artifact(Path(path) / name) for name in doc["members"]]


@locks_output("out", "train --members", parents=True)
def train_ensemble(config, ds, out: str | os.PathLike, *, members: int = 5, bootstrap: bool = False,
                   overwrite: bool = False, progress: bool | None = None, calibration: dict | None = None) -> Path:
    """Train ``members`` networks alike from seeds ``config.seed + k`` and save them as one ensemble.

    Parameters
    ----------
    config : TrainingConfig
        The members' configuration; member k trains with seed ``config.seed + k`` on the split
        of ``config.split_seed`` (default ``config.seed``), common to all members.
    ds : xarray.Dataset
        Training data.
    out : path-like
        The ensemble directory.  Finished members wait in ``OUT.members/`` (a rerun resumes
        there; each member also checkpoints), which is removed at the end.  A rerun with other
        data or settings than the members left there is refused, naming what differs.  The
        run holds ``OUT.lock``: a second run to the same ``out`` is refused while it runs.
    members : int, default 5
        K >= 2.
    bootstrap : bool, default False
        Train each member on a bootstrap resample of the training rows (drawn from its seed).
    overwrite : bool, default False
    progress : bool, optional
    calibration : dict, optional
        Recorded in ``ensemble.json``.

    Returns
    -------
    pathlib.Path
    """
    from .training import SurrogateTrainer, data_digest

    members = check_int(members, "members", min_value=2)
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--force) to replace it")
    parts = out.with_name(out.name + ".members")
    split_seed = config.seed if config.split_seed is None else config.split_seed

    def member_config(k: int):
        return dataclasses.replace(config, seed=config.seed + k, split_seed=split_seed, bootstrap=bootstrap)

    if parts.is_dir():  # a rerun resumes only the members of the same data and settings
        _refuse_stale_members(parts, members, data_digest(ds), "trained", lambda k: member_config(k).as_dict())
    parts.mkdir(parents=True, exist_ok=True)

    def train(k: int, member_dir: Path) -> None:
        cfg = member_config(k)
        ckpt = parts / f"{_member_name(k)}.checkpoint"
        logger.info("training member %d of %d (seed %d)", k + 1, members, cfg.seed)
        trainer = SurrogateTrainer(cfg, checkpoint_dir=ckpt, progress=progress).fit(ds)
        trainer.save(member_dir)
        SurrogateTrainer.clear_checkpoint(ckpt)

    paths = _resumable_members(parts, members, train, "trained")
    training = {"members": members, "seeds": [config.seed + k for k in range(members)], "split_seed": split_seed,
                "bootstrap": bool(bootstrap)}
    save_ensemble(paths, out, overwrite=overwrite, training=training, calibration=calibration)
    shutil.rmtree(parts, ignore_errors=True)
    return out


def continue_model(path: str | os.PathLike, data, out: str | os.PathLike, epochs: int, *, overwrite: bool = False,
                   progress: bool | None = None, **options) -> Path:
    """Warm-start a model or an ensemble directory on appended data and write the result to ``out``.

    Every member continues (:func:`~uqsurrogate.surrogate.warmstart.continue_training`) with
    its own configuration.  Finished members wait in ``OUT.members/`` so that a rerun resumes
    there.  An ensemble's stored calibration describes the old members and is dropped:
    calibrate the continued ensemble again (:func:`uqsurrogate.uncertainty.fit.calibrate_ensemble`).

    Parameters
    ----------
    path : path-like
        A model directory or an ensemble directory.
    data : xarray.Dataset
        The model's training data with the new samples appended.
    out : path-like
        The directory to write (a model, or an ensemble).
    epochs : int
        >= 0.
    overwrite : bool, default False
    progress : bool, optional
    **options
        ``learning_rate``, ``refit_scaling``, ``steps_per_execution`` of ``continue_training``.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    from .artifact import save_artifact
    from .training import data_digest
    from .warmstart import continue_training

    path, out = Path(path), Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--force) to replace it")
    if not is_ensemble(path):
        continued = continue_training(load_artifact(path), data, epochs, progress=progress, **options)
        return save_artifact(continued.model, continued.metadata, out, overwrite=overwrite)
    doc = read_ensemble(path)
    parts = out.with_name(out.name + ".members")
    if parts.is_dir():  # a member left by a run on other data is not this run's
        _refuse_stale_members(parts, len(doc["members"]), data_digest(data), "continued")
    parts.mkdir(parents=True, exist_ok=True)

    def cont(k: int, member_dir: Path) -> None:
        logger.info("continuing member %d of %d", k + 1, len(doc["members"]))
        continued = continue_training(load_artifact(path / doc["members"][k]), data, epochs, progress=progress,
                                      **options)
        save_artifact(continued.model, continued.metadata, member_dir)

    paths = _resumable_members(parts, len(doc["members"]), cont, "continued")
    training = {**doc.get("training", {}), "continued": [*doc.get("training", {}).get("continued", []),
                                                         {"epochs": int(epochs), "from": str(path)}]}
    save_ensemble(paths, out, overwrite=overwrite, training=training, calibration=None)
    shutil.rmtree(parts, ignore_errors=True)
    return out
