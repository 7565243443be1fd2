"""Updates validated before they count: no update that is absurd, even if finite, reaches
the weights.

The checks, on all the answers of a round at once (so each is compared with the others):

- every tensor finite (the codec already refuses NaN/Inf in float payloads; an int8
  tensor times its scale may still overflow);
- BatchNorm statistics sane: every `running_var` >= 0;
- the update's size compared with the other answers of the round and with recent rounds:
  the gradient's global L2 norm (in local SGD the weight change's), and the norm of the
  change of the BatchNorm statistics against the server's, each times sqrt(batch size)
  (the noise of a mean over b samples shrinks like 1/sqrt(b), so small reassigned chunks
  are not outliers for being small). Once `warmup` norms are known, one above
  `max_ratio` x their median is rejected, unless a second opinion confirms it: another
  worker already sent a norm within a factor `agree` of it for some of the same samples
  and was rejected for it (BatchNorm on 2 samples, say, gives honest gradients 100x the
  typical: the data, not the worker; without this the round would never end). Norms
  above `never` x the typical are absurd and never confirmed (a worker that reconnects
  gets a new id, so its second incarnation could otherwise confirm its first).

Rejected answers go back to the round's pool (server/rounds.py); accepted ones join the
`window` of recent norms.
"""
import math
from collections import deque

import numpy as np

from distml.distributed.strategy import global_norm


class UpdateValidator:
    def __init__(self, max_ratio=50.0, warmup=2, window=64, agree=4.0, never=1e4):
        if max_ratio is not None and max_ratio != 0 and not max_ratio > 1:
            raise ValueError(f"max_ratio must be > 1 (or 0 to skip the norm checks), "
                             f"got {max_ratio}")
        self.max_ratio, self.warmup, self.agree = max_ratio or None, warmup, agree
        self.never = never
        self.recent = {"gradient": deque(maxlen=window), "statistics": deque(maxlen=window)}

    @staticmethod
    def sizes(update, current_buffers):
        """{"gradient": norm, "statistics": norm or None}, both times sqrt(batch size)
        (computed once per update: a ResNet-18 gradient has 11M values)."""
        if "sizes" in update:
            return update["sizes"]
        scale = math.sqrt(update["batch_size"])
        stats = None
        if update["buffers"]:
            stats = global_norm({k: v.astype(np.float64) - current_buffers[k]
                                 for k, v in update["buffers"].items()}) * scale
        update["sizes"] = {"gradient": global_norm(update["grads"]) * scale,
                           "statistics": stats}
        return update["sizes"]

    @staticmethod
    def broken(update):
        """Why the update is unusable whatever the others say, or None."""
        for group in ("grads", "buffers"):
            for name, v in update[group].items():
                if not np.isfinite(v).all():
                    return f"{name} is not finite"
        for name, v in update["buffers"].items():
            if name.endswith("running_var") and (v < 0).any():
                return f"{name} has negative values (min {float(v.min()):.3g})"
        return None

    def _confirmed(self, update, metric, size, suspects):
        """Did another worker send about this norm for some of these samples?"""
        for position, _ in update["chunk"]:
            for worker, m, other in suspects.get(position, ()):
                if worker != update["member"].id and m == metric and \
                        other / self.agree <= size <= other * self.agree:
                    return True
        return False

    def problems(self, updates, current_buffers, suspects=None):
        """{index: reason} for the updates of one round that must not count. `suspects`
        (kept by the caller for the round: sample position -> [(worker id, metric,
        norm)]) records the norm rejections, for second opinions."""
        suspects = {} if suspects is None else suspects
        bad = {}
        for i, u in enumerate(updates):
            reason = self.broken(u)
            if reason:
                bad[i] = reason
        if self.max_ratio is None:
            return bad
        sizes = {i: self.sizes(u, current_buffers) for i, u in enumerate(updates) if i not in bad}
        for metric, recent in self.recent.items():
            for i, size in sizes.items():
                if i in bad or size[metric] is None:
                    continue
                reference = list(recent) + [s[metric] for j, s in sizes.items()
                                            if j != i and s[metric] is not None]
                if len(reference) < self.warmup:
                    continue
                typical = float(np.median(reference))
                if size[metric] > self.max_ratio * typical and size[metric] > 1e-30:
                    if size[metric] <= self.never * typical and \
                            self._confirmed(updates[i], metric, size[metric], suspects):
                        continue
                    bad[i] = (f"{metric} norm {size[metric]:.3g} is more than "
                              f"{self.max_ratio:g} x the typical {typical:.3g}")
                    for position, _ in updates[i]["chunk"]:
                        suspects.setdefault(position, []).append(
                            (updates[i]["member"].id, metric, size[metric]))
        return bad

    def accept(self, updates, current_buffers):
        """Remember the norms of the updates that counted."""
        if self.max_ratio is None:
            return
        for u in updates:
            for metric, size in self.sizes(u, current_buffers).items():
                if size is not None:
                    self.recent[metric].append(size)
