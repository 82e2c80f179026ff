"""Atomic writes: write a temporary file or directory beside the target, then rename it.

A crash, a full disk, a Ctrl-C or a ``kill -9`` at any point leaves either the old file or
the new one under the final name, never a half-written one.  The temporary lives in the
same directory, so the final rename stays within one file system.  A directory replaces an
existing one with a single ``renameat2(RENAME_EXCHANGE)`` on Linux (the old one is then
removed), so the name never stops existing; elsewhere two renames, with a window of
microseconds in which it is absent.  A writer never turns a file into a directory or back,
and never replaces anything that is neither a regular file nor a directory (a device such as
``/dev/null``, a named pipe, a socket), even through a symbolic link: :func:`check_replaceable`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

__all__ = ["atomic_directory", "atomic_path", "check_replaceable", "special_kind"]


def special_kind(path: str | os.PathLike) -> str | None:
    """What an existing ``path`` is if it is neither a regular file nor a directory (following links), else None."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, kind in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"


def check_replaceable(path: str | os.PathLike, directory: bool = False) -> None:
    """Refuse to write over an existing ``path`` that is not a regular file (``directory``: not a folder).

    A device, a named pipe or a socket is never replaced by what a writer makes (``--out
    /dev/null --force`` would otherwise swap the device node for a regular file).

    Raises
    ------
    InputError
        Naming the path and what it is.
    """
    kind = special_kind(path)
    if kind is not None:
        wanted = "a folder" if directory else "a regular file"
        raise InputError(f"{path} is {kind}, not {wanted}; refusing to replace it (write elsewhere)")


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
    if final.is_dir():
        raise IsADirectoryError(f"{final} is a directory; refusing to replace it with a file")
    check_replaceable(final)
    _remove_stale(directory, ".tmp-", f"-{final.name}")
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
    check_replaceable(final, directory=True)
    if final.exists() and not final.is_dir():
        raise NotADirectoryError(f"{final} is a file; refusing to replace it with a directory")
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(final.parent, f".{final.name}.tmp-", "")
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.mkdir()
    try:
        yield tmp
        _fsync_tree(tmp)
        if final.exists() and _exchange(tmp, final):
            pass  # tmp now holds the old directory, removed below
        elif final.exists():
            old = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove_stale(directory: Path, prefix: str, suffix: str) -> None:
    """Remove temporaries that a killed writer left behind (their process no longer exists)."""
    for path in directory.glob(f"{prefix}*{suffix}"):
        try:
            pid = int(path.name[len(prefix):].split("-")[0])
        except ValueError:
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _fsync_tree(root: Path) -> None:
    """Flush every file of a fresh directory to disk before it is renamed into place."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl
        return False
    at_fdcwd, rename_exchange = -100, 2
    # nonzero e.g. on a file system without RENAME_EXCHANGE: the caller falls back to two renames
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
