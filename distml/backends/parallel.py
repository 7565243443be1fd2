"""The intra-op threads (torch's are OpenMP's): a small fork-join pool, and when an op is
worth splitting over it (used by the numpy backend).

numpy's loops and BLAS release the GIL, so one big op split into a part per thread keeps
every core busy. Each part runs single-threaded BLAS: BLAS's own threads spin-wait
between calls and would fight the parts for the cores.

    pool.run(fn, parts) -> [fn(0), ..., fn(parts - 1)]

The calling thread works too, and every thread claims the next part until none is left,
so an op split into more parts than threads balances itself. A call from inside a part,
or from a second thread while the pool is busy, runs its parts one after another
instead of waiting.

Helpers block between ops rather than spin: a Python spin loop takes the GIL at every
check, and measured 3-14% slower on a ResNet-18 step (a VM that halts an idle vCPU at
once takes ~17-25 us to wake a helper, twice that when it then waits for the GIL). So an
op pays off split only if its parts are long, and each op hands over to the threads once.
"""
import itertools
import os
import queue
import threading


class ForkJoinPool:
    def __init__(self, threads=1):
        self.threads = max(1, int(threads))
        self._inboxes = []  # one task queue per helper thread
        self._lock = threading.Lock()
        self._local = threading.local()
        if hasattr(os, "register_at_fork"):  # a forked child has none of the threads
            os.register_at_fork(after_in_child=self._forget_threads)

    def _forget_threads(self):
        self._inboxes = []
        self._lock = threading.Lock()

    def _helper(self, inbox):
        self._local.inside = True
        while True:
            inbox.get()()

    def _start_helpers(self, count):
        while len(self._inboxes) < count:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._helper, args=(inbox,), daemon=True,
                             name=f"distml-intraop-{len(self._inboxes) + 1}").start()
            self._inboxes.append(inbox)

    def run(self, fn, parts):
        if parts <= 1 or self.threads <= 1 or getattr(self._local, "inside", False) or \
                not self._lock.acquire(blocking=False):
            return [fn(i) for i in range(parts)]
        try:
            results, errors = [None] * parts, []
            claim, finished = itertools.count(), itertools.count()  # next() is atomic
            all_done = threading.Event()

            def work():  # every thread claims parts until none is left: a helper that
                # wakes late (~50 us, more after an idle spell) takes fewer or none, and
                # the caller waits only for the parts, never for a helper to wake
                while True:
                    i = next(claim)
                    if i >= parts:
                        return
                    try:
                        results[i] = fn(i)
                    except BaseException as exc:  # re-raised by the caller
                        errors.append(exc)
                    if next(finished) == parts - 1:
                        all_done.set()
            helpers = min(self.threads, parts) - 1
            self._start_helpers(helpers)
            for inbox in self._inboxes[:helpers]:
                inbox.put(work)
            self._local.inside = True
            try:
                work()
                # every part finished, even after an error (not after an interrupt between
                # parts: a part it claimed would never finish)
                all_done.wait()
            finally:
                self._local.inside = False
            if errors:
                raise errors[0]
            return results
        finally:
            self._lock.release()


def split(n, parts, align=1):
    """`parts` contiguous (start, stop) ranges covering range(n), starts multiples of
    `align` (empty ranges dropped)."""
    step = -(-n // max(1, parts))
    step = -(-step // align) * align
    return [(a, min(n, a + step)) for a in range(0, n, max(1, step))]


POOL = ForkJoinPool()  # its thread count is set by distml.set_num_threads
# work (elements moved, or multiply-adds / 64 for GEMMs) below which one thread beats
# splitting: handing a part to a sleeping thread and back costs ~50 us here
PARALLEL_MIN = 1 << 18
OVERSPLIT = 2  # parts per thread for big ops: a helper that wakes late takes fewer parts


def parts(work, oversplit=OVERSPLIT):
    """How many parts an op of `work` is split into."""
    if work < PARALLEL_MIN or POOL.threads == 1:
        return 1
    return POOL.threads * (oversplit if work >= 4 * PARALLEL_MIN else 1)


def in_parts(n, work, fn, align=1, oversplit=OVERSPLIT):
    """fn(start, stop) over contiguous ranges of range(n), in parallel when `work` is big;
    returns the list of results."""
    ranges = split(n, parts(work, oversplit), align)
    return POOL.run(lambda t: fn(*ranges[t]), len(ranges))
