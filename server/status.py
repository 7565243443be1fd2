"""What the parameter server shows: the dashboard's data (`/status.json`) and the pages.

`StatusPages` is one of the three parts `server.orchestrator.Orchestrator` is made of
(with `server.session.Sessions` and `server.rounds.Rounds`).
"""
import json
import math
import time
from pathlib import Path


class StatusPages:
    """The status snapshot and the HTTP routes of the server's port."""

    def routes(self):
        """Extra HTTP routes: the experiment, the dashboard, the worker page, the status.
        A callable is asked on every request (the pages are read fresh from web/)."""
        web = Path(__file__).resolve().parent.parent / "web"
        html = "text/html; charset=utf-8"

        def page(name):
            return lambda: ((web / name).read_bytes(), html)

        return {"/experiment.py": (self.source, "text/plain; charset=utf-8"),
                "/": page("dashboard.html"), "/worker": page("join.html"),
                "/status.json": lambda: (json.dumps(self.status()).encode(),
                                         "application/json")}

    def samples_seen(self):
        return self.epoch * self.n_train + self.position

    def status(self, max_points=500):
        """A JSON-able snapshot for the dashboard: progress, workers, loss and accuracy."""
        now = time.monotonic()
        step = max(1, math.ceil(len(self.history) / max_points))  # thin long histories
        loss = [[h["seen"], h["loss"]] for h in self.history[::step] if h["loss"] is not None]
        if self.history and self.history[-1]["loss"] is not None and \
                (not loss or loss[-1][0] != self.history[-1]["seen"]):
            loss.append([self.history[-1]["seen"], self.history[-1]["loss"]])
        recent = [h for h in self.history if h["time"] > now - self.started_at - 10]
        rate = sum(h["samples"] for h in recent) / 10 if recent else 0.0
        return {
            "experiment": self.experiment.__name__, "mode": self.hp["mode"],
            "round": self.round, "version": self.version, "epoch": self.epoch + 1,
            "epochs": self.hp["epochs"], "position": self.position, "n_train": self.n_train,
            "samples_seen": self.samples_seen(), "max_samples": self.hp["max_samples"],
            "samples_per_s": rate, "elapsed_s": now - self.started_at, "done": self.done,
            "workers": [{"id": m.id, "name": m.name, "address": m.peer.address,
                         "browser": bool(m.capabilities.get("browser")),
                         "webgl": bool(m.capabilities.get("webgl")),
                         "samples_per_s": m.samples_per_s, "updates": m.updates,
                         "busy": m.assignment is not None, "ready": m.ready,
                         "last_seen_s": now - m.last_seen, "joined_s": now - m.joined}
                        for m in self.live()],
            "loss": loss, "accuracy": self.accuracy_samples,
            "last_loss": self.history[-1]["loss"] if self.history else None,
            "last_accuracy": self.accuracy_samples[-1][1] if self.accuracy_samples else None,
            "stats": dict(self.stats)}
