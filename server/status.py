"""What the parameter server shows: the dashboard's data (`/status.json`) and the pages.

`StatusPages` is one of the three parts `server.orchestrator.Orchestrator` is made of
(with `server.session.Sessions` and `server.rounds.Rounds`).

Who sees what: the worker page (`/worker`) and the static files are public. The
dashboard (`/`) and `/status.json` need the workers' token or the read-only view token
(`?token=T` or `Authorization: Bearer T`); worker addresses are in the status only for
the workers' token. `/experiment.py` needs the workers' token. A wrong token counts as a
failed login of its address (`LoginThrottle`: 429 while the address waits).
"""
import hmac
import json
import math
import time
import urllib.parse

from .static import WEB_DIR

TEXT = "text/plain; charset=utf-8"


def request_token(request):
    """The token a request carries (`Authorization: Bearer T` or `?token=T`), or None."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer "):].strip()
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query).get("token")
    return values[0] if values else None


def _same(a, b):
    return b is not None and hmac.compare_digest(a.encode(), b.encode())


class StatusPages:
    """The status snapshot and the HTTP routes of the server's port."""

    def access(self, request, host):
        """("workers" | "view" | None, the refusal as (status, body, type) or None)."""
        if self.throttle.wait(host) > 0:
            return None, (429, b"too many failed logins from this address\n", TEXT)
        token = request_token(request)
        if token is not None and _same(token, self.token):
            self.throttle.succeeded(host)
            return "workers", None
        if token is not None and self.view_token and _same(token, self.view_token):
            self.throttle.succeeded(host)
            return "view", None
        if token is not None:
            self.throttle.failed(host)
            self.stats["refused"] += 1
        return None, (401, b"a token is needed: add ?token=T to the URL\n", TEXT)

    def routes(self):
        """Extra HTTP routes: the experiment, the dashboard, the worker page, the status.
        Each is asked on every request (the pages are read fresh from web/)."""
        web = WEB_DIR  # web/ in a checkout, distml/server/web installed
        html = "text/html; charset=utf-8"

        def guarded(allowed, answer):
            def route(request, host):
                scope, refusal = self.access(request, host)
                return answer(scope) if scope in allowed else refusal or \
                    (403, b"this token may not read this\n", TEXT)
            return route

        def page(name):
            return lambda scope: ((web / name).read_bytes(), html)

        def status(scope):
            body = json.dumps(self.status(private=scope == "workers")).encode()
            return body, "application/json"

        return {"/experiment.py": guarded({"workers"}, lambda scope: (self.source, TEXT)),
                "/": guarded({"workers", "view"}, page("dashboard.html")),
                "/status.json": guarded({"workers", "view"}, status),
                "/worker": lambda request, host: page("join.html")(None)}

    def worker_rows(self, private=True):
        """The dashboard's row of each live worker (its address only when `private`)."""
        now = time.monotonic()
        return [{"id": m.id, "name": m.name,
                 **({"address": m.peer.address} if private else {}),
                 "browser": bool(m.capabilities.get("browser")),
                 "webgl": bool(m.capabilities.get("webgl")),
                 "samples_per_s": m.samples_per_s, "updates": m.updates,
                 "busy": m.assignment is not None, "ready": m.ready,
                 "last_seen_s": now - m.last_seen, "joined_s": now - m.joined}
                for m in self.live()]

    def samples_seen(self):
        return self.epoch * self.n_train + self.position

    def status(self, max_points=500, private=True):
        """A JSON-able snapshot for the dashboard: progress, workers, loss and accuracy;
        worker addresses only when `private`."""
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
            "workers": self.worker_rows(private),
            "loss": loss, "accuracy": self.accuracy_samples,
            "last_loss": self.history[-1]["loss"] if self.history else None,
            "last_accuracy": self.accuracy_samples[-1][1] if self.accuracy_samples else None,
            "stats": dict(self.stats)}
