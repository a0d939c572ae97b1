"""Garbage-collector settings for the long-running processes (API, worker).

Measured with an in-process run of 300 jobs on PostgreSQL (the method in
``docs/decisions/0009-aiohttp-connection-pool-and-gc.md``): with CPython's defaults the cyclic
collector took 2.2 s, about 7 ms of CPU per job, mostly full passes over the hundreds of
thousands of objects the libraries create at start-up. Freezing those objects and collecting
the young generation every ``GEN0_THRESHOLD`` allocations instead of every 700 took it to
0.15 s. Reference counting still frees almost everything at once; the threshold only delays
the collection of reference cycles, a few MB at most.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 20_000
OLDER_THRESHOLD = 20


def freeze_startup_objects() -> None:
    """Collect once, move every surviving object out of the collector's view, raise thresholds.

    Call it once start-up (imports, app, engines, clients) is done.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
