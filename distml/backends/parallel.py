"""A small fork-join pool: the numpy backend's intra-op threads (torch's are OpenMP's).

numpy's loops and BLAS release the GIL, so one big op split into a part per thread keeps
every core busy. Each part runs single-threaded BLAS: BLAS's own threads spin-wait
between calls and would fight the parts for the cores.

    pool.run(fn, parts) -> [fn(0), ..., fn(parts - 1)]

Part 0 runs on the calling thread. A call from inside a part, or from a second thread
while the pool is busy, runs its parts one after another instead of waiting.
"""
import os
import queue
import threading


class ForkJoinPool:
    def __init__(self, threads=1):
        self.threads = max(1, int(threads))
        self._inboxes = []  # one task queue per helper thread
        self._done = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._run_id = 0  # tags results, so a run interrupted while waiting leaves no
                          # stray result for the next one
        if hasattr(os, "register_at_fork"):  # a forked child has none of the threads
            os.register_at_fork(after_in_child=self._forget_threads)

    def _forget_threads(self):
        self._inboxes = []
        self._done = queue.SimpleQueue()
        self._lock = threading.Lock()

    def _helper(self, inbox, done):
        self._local.inside = True
        while True:
            run_id, fn, i = inbox.get()
            try:
                done.put((run_id, i, True, fn(i)))
            except BaseException as exc:  # handed to the caller, which re-raises it
                done.put((run_id, i, False, exc))

    def _start_helpers(self, count):
        while len(self._inboxes) < count:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._helper, args=(inbox, self._done), daemon=True,
                             name=f"distml-intraop-{len(self._inboxes) + 1}").start()
            self._inboxes.append(inbox)

    def run(self, fn, parts):
        if parts <= 1 or self.threads <= 1 or getattr(self._local, "inside", False) or \
                not self._lock.acquire(blocking=False):
            return [fn(i) for i in range(parts)]
        try:
            self._start_helpers(self.threads - 1)
            self._run_id += 1
            for i in range(1, parts):
                self._inboxes[(i - 1) % len(self._inboxes)].put((self._run_id, fn, i))
            results, error = [None] * parts, None
            self._local.inside = True
            try:
                results[0] = fn(0)
            except BaseException as exc:
                error = exc
            finally:
                self._local.inside = False
            pending = parts - 1
            while pending:  # wait for every part, even after an error
                run_id, i, ok, value = self._done.get()
                if run_id != self._run_id:
                    continue
                pending -= 1
                if ok:
                    results[i] = value
                elif error is None:
                    error = value
            if error is not None:
                raise error
            return results
        finally:
            self._lock.release()


def split(n, parts, align=1):
    """`parts` contiguous (start, stop) ranges covering range(n), starts multiples of
    `align` (empty ranges dropped)."""
    step = -(-n // max(1, parts))
    step = -(-step // align) * align
    return [(a, min(n, a + step)) for a in range(0, n, max(1, step))]
