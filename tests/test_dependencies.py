"""Every third-party module the package imports is declared in setup.cfg, and nothing declared goes unused."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Imported only inside a function that says how to install them when missing.
OPTIONAL = {"matplotlib": "plot", "dask": "dask"}


def _imports() -> set[str]:
    found = set()
    for path in (ROOT / "uqsurrogate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "uqsurrogate"}


def _requirements(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[\[<>=!~ ]", line)[0].lower().replace("_", "-"))
    return names


def _config():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_every_import_is_declared():
    cfg = _config()
    required = _requirements(cfg["options"]["install_requires"])
    extras = {k: _requirements(v) for k, v in cfg["options.extras_require"].items()}
    dists = packages_distributions()
    missing = []
    for module in sorted(_imports()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if module in OPTIONAL:
            if not names & extras[OPTIONAL[module]]:
                missing.append(f"{module} (extra {OPTIONAL[module]})")
        elif not names & required:
            missing.append(module)
    assert not missing, f"imported but not declared in install_requires: {missing}"


def test_every_runtime_requirement_is_imported():
    imported = {d.lower().replace("_", "-") for m in _imports() for d in packages_distributions().get(m, [m])}
    # netCDF4 is xarray's engine (engine="netcdf4"), never imported by name
    unused = _requirements(_config()["options"]["install_requires"]) - imported - {"netcdf4"}
    assert not unused, f"declared but never imported: {unused}"
