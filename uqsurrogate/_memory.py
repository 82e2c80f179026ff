"""Allocation helpers for large outputs."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["fits_in_memory", "physical_memory", "refuse_beyond_memory", "touch"]


def physical_memory() -> int:
    """Bytes of physical memory of this machine (0 where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX
        return 0


def fits_in_memory(need: float) -> bool:
    """Whether ``need`` bytes are at most half of this machine's memory (True where the system does not say)."""
    have = physical_memory()
    return not have or need <= have / 2


def refuse_beyond_memory(need: float, what: str, advice: str) -> None:
    """Raise InputError if ``need`` bytes exceed half of this machine's memory, before anything is allocated.

    Parameters
    ----------
    need : float
        The bytes the work would hold at once.
    what : str
        What needs them, as the message's subject ("n = 2**40 base samples: the design ...").
    advice : str
        What fits, as the message's end ("use n <= 2**20").
    """
    if not fits_in_memory(need):
        from .errors import InputError

        raise InputError(f"{what} need {need / 2**30:.1f} GiB, more than half of this machine's "
                         f"{physical_memory() / 2**30:.1f} GiB; {advice}")


def touch(a: np.ndarray) -> None:
    """Fault in the pages of a fresh array by writing zeros, split across the available cores.

    On virtual machines the first touch of fresh memory can cost up to ~1 s/GB per thread,
    and pages fault in concurrently: two threads halved the time on 2 cores (measured,
    benchmarks/bench_model_function.py).  Small arrays are filled in the calling thread.
    """
    flat = a.reshape(-1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or flat.nbytes < 64 << 20:
        flat.fill(0)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(cores) as pool:  # ndarray.fill releases the GIL
        list(pool.map(lambda part: part.fill(0), np.array_split(flat, 4 * cores)))
