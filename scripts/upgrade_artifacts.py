"""Rewrite model directories of older formats as the current one (a self-contained model.keras, a metadata
digest), weights unchanged.

    python scripts/upgrade_artifacts.py MODEL_OR_ENSEMBLE_DIR [...]

For an ensemble, every member is rewritten and ensemble.json's member hashes (and its own
digest) are updated; everything else in it (training notes, calibration) is kept.  Each directory is replaced
atomically, and the script checks that the model function gives the same bits before and
after.  This is how the shipped ensemble (uqsurrogate/datasets/modnn) went from format 2 to 4.
"""

import json
import logging
import sys
from pathlib import Path

import numpy as np

from uqsurrogate.model_function import ModelFunction
from uqsurrogate.surrogate.artifact import FORMAT_VERSION, METADATA_FILE, load_artifact, save_artifact, sha256_file
from uqsurrogate.surrogate.ensemble import ENSEMBLE_FILE, _write_doc, is_ensemble

logging.basicConfig(level=logging.INFO, format="%(message)s")
log = logging.getLogger("upgrade")


def upgrade_model(path: Path) -> None:
    sur = load_artifact(path)
    meta = {k: v for k, v in sur.metadata.items() if k not in ("format", "format_version", "files", "metadata_sha256")}
    save_artifact(sur.model, meta, path, overwrite=True)
    log.info("%s: format %s -> %s", path, sur.metadata["format_version"], FORMAT_VERSION)


for arg in sys.argv[1:]:
    path = Path(arg)
    probe = np.random.default_rng(0).uniform(size=(64, 1))
    before = ModelFunction.from_artifact(path)
    X = before.train_min + probe * (before.train_max - before.train_min)
    y0 = before(X)
    if is_ensemble(path):
        doc = json.loads((path / ENSEMBLE_FILE).read_text())
        for name in doc["members"]:
            upgrade_model(path / name)
            doc["files"][name] = sha256_file(path / name / METADATA_FILE)
        _write_doc(path / ENSEMBLE_FILE, doc)  # atomically, with the digest of the new content
    else:
        upgrade_model(path)
    y1 = ModelFunction.from_artifact(path)(X)
    assert np.array_equal(y0, y1), "the model function changed"
    log.info("%s: the model function gives the same bits at 64 inputs", path)
