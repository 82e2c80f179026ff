"""Run every shell command block of README.md and docs/*.md as written, and report each command.

    python scripts/check_doc_commands.py WORKDIR [FILE ...]

Each file's blocks run in order in their own folder WORKDIR/<file>/, in which ``tests`` and
``examples`` point at the repository's (so repo-relative paths work as from a clone) and the
files a block needs but no earlier block of that file makes are provided: ``model/`` and
``ensemble/`` (copies of the shipped ensemble) and ``grid.nc`` (64 simulator runs).  The
install blocks (``python3 -m venv ...``) are skipped: run those in a fresh clone.  Prints one
line per command with its status and time, and exits 1 if any failed.  Heavy: the README's
tour trains a network and a five-member ensemble (about half an hour on two cores).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def blocks(path: Path) -> list[str]:
    """The commands of the file's bash blocks, continuation lines joined."""
    text = path.read_text()
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S):
        if "python3 -m venv" in block:
            continue
        commands += [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    return commands


def outputs(commands: list[str]) -> set[str]:
    out = set()
    for c in commands:
        m = re.search(r"--out\s+(\S+)", c)
        if m:
            out.add(m.group(1).rstrip("/"))
    return out


def workspace(folder: Path, commands: list[str]) -> None:
    from uqsurrogate.simulators import ElectrolyteSimulator, random_design, simulate
    from uqsurrogate.study import default_model_path

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("tests", "examples"):
        if not (folder / name).exists():
            (folder / name).symlink_to(ROOT / name)
    made = outputs(commands)
    for name in ("model", "ensemble"):
        if name not in made and not (folder / name).exists():
            shutil.copytree(default_model_path(), folder / name)
    if "grid.nc" not in made and not (folder / "grid.nc").exists():
        simulate(random_design(64, seed=3), folder / "grid.nc", simulator=ElectrolyteSimulator(), seed=3,
                 progress=False)


def main(argv: list[str]) -> int:
    work = Path(argv[0]).resolve()
    files = [Path(a) for a in argv[1:]] or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    failed = 0
    for path in files:
        commands = blocks(path)
        if not commands:
            continue
        folder = work / path.stem
        workspace(folder, commands)
        for command in commands:
            t0 = time.perf_counter()
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=folder, capture_output=True,
                                  text=True)
            dt = time.perf_counter() - t0
            status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
            failed += done.returncode != 0
            print(f"{path.name}: {status:>11} {dt:7.1f} s  {command[:150]}", flush=True)
            if done.returncode:
                print("    " + "\n    ".join(done.stderr.strip().splitlines()[-3:]), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
