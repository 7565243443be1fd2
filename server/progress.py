"""The server's progress on its terminal: a tqdm bar on a TTY, plain periodic lines in a log.

The total is what THIS run will train: `max_samples` when set (else every epoch), capped by
`--max-rounds` when a round has a fixed size, counted from where a resumed run starts. The
bar shows samples done of that total, samples/s, ETA, and after it the epoch, round, loss
and connected workers. When stdout is not a TTY (a log file, CI) the bar's `\\r` redraws
would make one huge line: instead one plain line every `every_s` seconds (and at the end).
Messages (`write`) go above the bar without breaking it.
"""
import contextlib
import sys
import time


def plural(n, word):
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def planned_samples(hp, n_train, max_rounds=None):
    """The samples this run trains in all: every epoch, or max_samples, or max_rounds
    rounds of a fixed global batch, whichever is first."""
    total = hp["epochs"] * n_train
    if hp.get("max_samples"):
        total = min(total, hp["max_samples"])
    if max_rounds is not None and hp.get("mode") == "fixed_global":
        total = min(total, max_rounds * hp["global_batch"])
    return total


def _duration(seconds):
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """`update(seen, ...)` after every round; `write(line)` for messages; `close()`."""

    def __init__(self, total, epochs=1, enabled=True, stream=None, every_s=10.0, tty=None,
                 clock=time.monotonic):
        self.total, self.epochs = max(1, total), epochs
        self.enabled, self.every_s, self.clock = enabled, every_s, clock
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.bar = None
        self.start = None  # (time, samples) of the first update: rates count from there
        self.last_line = None  # when the last plain line went out
        self.text = ""

    def _tqdm(self, initial):
        try:
            from tqdm import tqdm
        except ImportError:  # the server extra brings it; without it: plain lines
            self.tty = False
            return None
        return tqdm(total=self.total, initial=initial, unit=" samples",
                    file=self.stream, dynamic_ncols=True, smoothing=0.1, leave=True,
                    bar_format="{percentage:3.0f}%|{bar}| {n:,}/{total:,} samples "
                               "[{elapsed}<{remaining}, {rate_fmt}]{postfix}")

    def update(self, seen, epoch, round_, loss, workers):
        """`seen` samples trained so far (all of the run's, a resumed run's too)."""
        if not self.enabled:
            return
        loss_text = f"loss {loss:.4f}" if loss is not None else "loss ?"
        self.text = (f"epoch {epoch}/{self.epochs}, round {round_:,}, {loss_text}, "
                     f"{plural(workers, 'worker')}")
        now = self.clock()
        if self.start is None:
            self.start = (now, seen)
            if self.tty:
                self.bar = self._tqdm(seen)
        if self.bar is not None:
            self.bar.set_postfix_str(self.text, refresh=False)
            self.bar.update(seen - self.bar.n)
            return
        if self.last_line is None or now - self.last_line >= self.every_s or seen >= self.total:
            self.last_line = now
            self.stream.write(self.plain_line(seen, now) + "\n")
            self.stream.flush()

    def plain_line(self, seen, now):
        t0, seen0 = self.start
        rate = (seen - seen0) / (now - t0) if now > t0 else 0.0
        left = self.total - seen
        eta = _duration(left / rate) if rate > 0 and left > 0 else "-"
        return (f"progress: {seen:,}/{self.total:,} samples ({100 * seen / self.total:.0f}%), "
                f"{rate:.1f} samples/s, ETA {eta}, {self.text}")

    @contextlib.contextmanager
    def external_write(self):
        """Print something (e.g. `say(line)`) above the bar: clear it, print, redraw."""
        if self.bar is None:
            yield
            return
        from tqdm import tqdm
        with tqdm.external_write_mode(file=self.stream):
            yield

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
