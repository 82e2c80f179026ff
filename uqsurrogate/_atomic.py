"""Atomic writes: write a temporary file or directory beside the target, then rename it.

A crash, a full disk, a Ctrl-C or a ``kill -9`` at any point leaves either the old file or
the new one under the final name, never a half-written one.  The temporary lives in the
same directory, so the final rename stays within one file system.  A directory replaces an
existing one with a single ``renameat2(RENAME_EXCHANGE)`` on Linux (the old one is then
removed), so the name never stops existing; elsewhere two renames, with a window of
microseconds in which it is absent.  A writer never turns a file into a directory or back,
and never replaces anything that is neither a regular file nor a directory (a device such as
``/dev/null``, a named pipe, a socket), even through a symbolic link: :func:`check_replaceable`.

A long writer (training, a simulation, a calibration, a study, an active-learning run) holds
:func:`output_lock` on its output for as long as it writes: the lock file ``OUT.lock`` beside
``OUT`` records the writer's pid and host, and a second writer to the same ``OUT`` is refused
at once (:class:`~uqsurrogate.errors.LockedError`, naming the lock file and the pid) instead of
sharing its checkpoints or parts.  A lock left by a writer that died (a ``kill -9``, a crash of
the machine: its pid no longer runs on this host) is taken over with a logged warning.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import inspect
import json
import logging
import os
import secrets
import shutil
import socket
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import InputError, LockedError

__all__ = ["atomic_directory", "atomic_path", "check_replaceable", "lock_path", "locks_output", "output_lock",
           "special_kind"]

logger = logging.getLogger(__name__)


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
    with contextlib.suppress(OSError, IndexError):  # a zombie (killed, not yet reaped by its parent) writes nothing
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


# ---------------------------------------------------------------------------------------------- output locks
#: Locks this process holds, by lock file, with how many times each is held (a writer may call another
#: writer of the same output: the active-learning loop's rounds, ``train`` and its checkpointing fit).
_HELD: dict[str, int] = {}


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of an output: ``OUT.lock`` beside ``OUT`` (a file or a folder).

    ``.`` and other names-less paths are resolved first; the root has no place beside it.
    """
    target = Path(target)
    if not target.name:
        target = target.resolve()
    if not target.name:
        raise InputError(f"{target} has no name to put a lock beside; write into a folder below it")
    return target.with_name(target.name + ".lock")


def _owner(lock: Path) -> dict | None:
    """What a lock file records (``pid``, ``host``, ``started``, ``token``); None if it is gone, {} if unreadable."""
    try:
        doc = json.loads(lock.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _stale(owner: dict) -> bool:
    """A lock whose writer is gone: it names this host and a pid that no longer runs here (or ours, not held)."""
    pid, host = owner.get("pid"), owner.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or host != socket.gethostname():
        return False  # another machine's writer (or an unreadable lock): it cannot be checked from here
    return pid == os.getpid() or not _alive(pid)  # our own pid in a lock we do not hold: a previous process's


def _describe(owner: dict) -> str:
    if not owner:
        return "an unreadable lock (no pid recorded)"
    started = owner.get("started")
    when = f", since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}" \
        if isinstance(started, (int, float)) else ""
    return f"pid {owner.get('pid')} on host {owner.get('host')}{when}"


def _create(lock: Path, doc: dict) -> bool:
    """Create the lock file holding ``doc``, whole, if it does not exist (atomic); False if it does."""
    tmp = lock.with_name(f".{lock.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(doc))
    try:
        os.link(tmp, lock)  # fails if the lock exists; the lock appears with its content whole
        return True
    except FileExistsError:
        return False
    except OSError as err:  # a file system without hard links: O_EXCL (a reader may see it empty for a moment)
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(doc))
        return True
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _take_over(lock: Path, owner: dict) -> bool:
    """Remove a stale lock if it still is the one judged stale (two takers: only one wins); True if removed."""
    aside = lock.with_name(f".{lock.name}.stale-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return True  # someone else removed it: try again
    if _owner(aside) != owner:  # a live writer's fresh lock, taken by mistake: put it back
        with contextlib.suppress(FileExistsError):
            os.link(aside, lock)
        aside.unlink()
        return False
    aside.unlink()
    logger.warning("%s: taking over the lock of %s, which no longer runs (a writer that was killed or crashed)",
                   lock, _describe(owner))
    return True


@contextlib.contextmanager
def output_lock(target: str | os.PathLike, what: str = "", *, parents: bool = False) -> Iterator[Path]:
    """Hold the lock of an output while writing it: ``OUT.lock`` beside ``target`` (see the module docstring).

    Parameters
    ----------
    target : path-like
        The output (a file or a folder); its directory must exist.
    what : str, optional
        The writer (e.g. ``"train"``), recorded in the lock and named to a second writer.
    parents : bool, default False
        Create the folder of ``target`` (as writers of folders do); otherwise it must exist.

    Yields
    ------
    pathlib.Path
        The lock file, removed on the way out (also on an error or a Ctrl-C).  The same process
        may take the same lock again inside (it is held until the outermost release).

    Raises
    ------
    LockedError
        Another writer holds the lock: naming the lock file, its pid and host.
    """
    lock = lock_path(target)
    key = os.path.realpath(lock)  # one lock however the output is named (relative, absolute, through a link)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield lock
        finally:
            _HELD[key] -= 1
        return
    if parents:
        lock.parent.mkdir(parents=True, exist_ok=True)
    if not lock.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: directory {lock.parent} does not exist")
    for prefix in (f".{lock.name}.tmp-", f".{lock.name}.stale-"):  # left by a writer killed while locking
        _remove_stale(lock.parent, prefix, "")
    doc = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "what": what,
           "token": secrets.token_hex(8)}
    for _ in range(5):  # a stale lock is taken over, then created again
        if _create(lock, doc):
            break
        owner = _owner(lock)
        if owner is None or (_stale(owner) and _take_over(lock, owner)):
            continue
        owner = owner or {}
        kind = f" ({owner['what']})" if owner.get("what") else ""
        raise LockedError(
            f"{target} is being written by another process{kind}: {lock} is held by {_describe(owner)}; wait for it "
            f"to finish, or, if no such process runs, remove {lock}", lock=lock, owner=owner)
    else:
        raise LockedError(f"{target}: could not take {lock} (other writers kept taking it)", lock=lock)
    _HELD[key] = 1
    try:
        yield lock
    finally:
        del _HELD[key]
        if _owner(lock) == doc:  # ours still (never remove another writer's)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


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


def locks_output(where: str | Callable[..., Any], what: str = "", *, parents: bool = False) -> Callable:
    """Decorate a long writer so that it holds :func:`output_lock` on its output while it runs.

    Parameters
    ----------
    where : str or callable
        The name of the writer's argument that is its output, or a function of the writer's
        arguments that returns it (``lambda self, *args, **kwargs: self.path``).
    what : str, optional
        The writer's name in the lock (default the function's).
    parents : bool, default False
        As :func:`output_lock`.
    """
    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def locked(*args: Any, **kwargs: Any) -> Any:
            target = where(*args, **kwargs) if callable(where) else signature.bind(*args, **kwargs).arguments[where]
            with output_lock(target, what or func.__name__, parents=parents):
                return func(*args, **kwargs)
        return locked
    return decorate
