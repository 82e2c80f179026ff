"""Atomic file writes: write a temporary file beside the target, then rename it.

A crash, a full disk or a Ctrl-C at any point leaves either the old file or the new one
under the final name, never a half-written one.  The temporary file lives in the same
directory, so the final :func:`os.replace` is a rename within one file system.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_directory", "atomic_path"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        The final file name.  Its directory must exist.

    Yields
    ------
    pathlib.Path
        A not-yet-existing temporary file in the same directory, whose name ends with
        ``path``'s name (suffixes included).  Write the whole file there.  If the ``with`` block raises, the temporary file is removed and ``path``
        is left as it was.
    """
    final = Path(path)
    directory = final.parent if str(final.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {final}: directory {directory} does not exist")
    # the temporary name ends with the final one, so writers that check suffixes (Keras wants
    # ".keras" or ".weights.h5") accept it
    tmp = directory / f".tmp-{os.getpid()}-{secrets.token_hex(4)}-{final.name}"
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        with contextlib.suppress(OSError):  # not every file system lets a directory be fsync'd
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``path``; on success, swap it in for ``path``.

    An existing ``path`` is renamed aside, the new one renamed into place, and the old one
    removed, so a reader sees the old directory or the new one, never a half-written one.
    If the ``with`` block raises, the temporary directory is removed and ``path`` is left as
    it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if final.exists():
            old = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
