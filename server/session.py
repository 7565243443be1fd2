"""The connection side of the parameter server: hello, authentication, per-connection
state (`Member`) and the dispatch of a joined worker's messages.

Before its hello is accepted a connection may send frames of `PRE_AUTH_MAX_SIZE` bytes
at most (the transport refuses larger ones before reading them) and has `hello_timeout_s`
in all to say hello (the deadline does not restart with each frame). Wrong tokens slow
their address down (`LoginThrottle`, exponential); a host whose worker was dropped for
bad updates is refused for the rest of the run.

`Sessions` is one of the three parts `server.orchestrator.Orchestrator` is made of
(with `server.rounds.Rounds` and `server.status.StatusPages`); it reads the
orchestrator's settings and hands gradients to the rounds.
"""
import asyncio
import hmac
import time

from distml.distributed import codec
from distml.distributed.protocol import PRE_AUTH_MAX_SIZE, TransportClosed

MAX_BAD_FRAMES_BEFORE_HELLO = 16


class LoginThrottle:
    """Failed logins per address: after n failures in a row the address waits
    `base_s * 2**(n-1)` seconds (at most `max_s`) before its next attempt is even looked
    at; a success clears it. `clock` is injectable (tests); at most `max_entries`
    addresses are remembered (the oldest are forgotten)."""

    def __init__(self, base_s=1.0, max_s=60.0, clock=time.monotonic, max_entries=4096):
        self.base_s, self.max_s, self.clock, self.max_entries = base_s, max_s, clock, max_entries
        self.failures = {}  # address -> (failures in a row, time of the last one)

    def wait(self, address):
        """Seconds until `address` may try again (0: now)."""
        n, last = self.failures.get(address, (0, 0.0))
        if n == 0:
            return 0.0
        return max(0.0, last + min(self.max_s, self.base_s * 2 ** (n - 1)) - self.clock())

    def failed(self, address):
        n, _ = self.failures.pop(address, (0, 0.0))
        self.failures[address] = (n + 1, self.clock())
        while len(self.failures) > self.max_entries:
            self.failures.pop(next(iter(self.failures)))

    def succeeded(self, address):
        self.failures.pop(address, None)


class Member:
    """A connected worker."""

    def __init__(self, worker_id, peer, name, capabilities):
        self.id, self.peer, self.name, self.capabilities = worker_id, peer, name, capabilities
        self.version_sent = None  # version of the weights this worker holds
        self.assignment = None  # the outstanding Assignment, if any
        self.last_seen = self.joined = time.monotonic()
        self.alive = True
        self.seq = 0
        self.rejected = 0  # rejected answers in a row (bad updates, stalls, errors)
        self.bad_updates = 0  # bad updates in a row
        self.samples_per_s = None  # as the worker measured its last assignment
        self.ready = False  # it has loaded the experiment and its data (a "ready" heartbeat)
        self.updates = self.samples = 0  # accepted answers and their samples
        self.late_rounds = set()  # rounds whose assignment was taken back from it


class Sessions:
    """Worker connections, from hello to bye."""

    async def _error(self, peer, message, code):
        try:
            await peer.send(codec.encode("error", {"message": message, "code": code}))
        except (TransportClosed, OSError):
            pass

    async def handle(self, peer):
        """One worker connection, from hello to bye."""
        member = None
        try:
            member = await self._handshake(peer)
            if member is None:
                return
            while member.alive:
                data = await peer.recv()
                member.last_seen = time.monotonic()
                try:
                    frame = codec.decode(data, max_size=self.max_frame)
                except codec.FrameError as e:
                    self.stats["bad_frames"] += 1
                    self._log(f"worker {member.id}: bad frame: {e}")
                    await self._error(peer, f"bad frame: {e}", "bad_frame")
                    if member.assignment is not None:
                        self._reject(member, "its answer was a malformed frame")
                    continue
                if frame.type == "gradient":
                    await self._on_gradient(member, frame)
                elif frame.type == "heartbeat":
                    if frame.fields.get("state") == "ready" and not member.ready:
                        member.ready = True  # assignments may go to it from now on
                        self._changed.set()
                    await peer.send(codec.encode("heartbeat", {"time": time.time()}))
                elif frame.type == "bye":
                    self._drop(member, f"said bye ({frame.fields.get('reason', '')})",
                               close=False)
                elif frame.type == "error":
                    self._log(f"worker {member.id} reports: {frame.fields['message']}")
                    if member.assignment is not None:  # it will not answer this one
                        self._reject(member, "the worker reported an error", bad_update=False)
                else:
                    await self._error(peer, f"unexpected {frame.type} message", "unexpected")
        except TransportClosed:
            pass
        finally:
            if member is not None and member.alive:
                self._drop(member, "disconnected", close=False)

    async def _handshake(self, peer):
        try:  # one deadline for the whole greeting: frames do not extend it
            async with asyncio.timeout(self.hello_timeout_s):
                return await self._greet(peer)
        except TimeoutError:
            self.stats["hello_timeouts"] += 1
            return await self._refuse(peer, f"no hello within {self.hello_timeout_s:g} s",
                                      "timeout", "no hello")

    async def _refuse(self, peer, message, code, reason=None):
        """Say why, close, and do not wait long for a client that will not close."""
        await self._error(peer, message, code)
        try:
            await asyncio.wait_for(peer.close(1008, reason or code), 1.0)
        except (asyncio.TimeoutError, TransportClosed, OSError):
            peer.abort()

    async def _greet(self, peer):
        for _ in range(MAX_BAD_FRAMES_BEFORE_HELLO):
            data = await peer.recv()
            try:
                frame = codec.decode(data, max_size=PRE_AUTH_MAX_SIZE)
            except codec.FrameError as e:
                self.stats["bad_frames"] += 1
                self._log(f"{peer.address}: bad frame before hello: {e}")
                await self._error(peer, f"bad frame: {e}", "bad_frame")
                continue
            if frame.type != "hello":
                await self._error(peer, f"expected hello, got {frame.type}", "unexpected")
                continue
            f = frame.fields
            if peer.host in self.banned_hosts:
                self.stats["refused"] += 1
                return await self._refuse(peer, "this address was dropped for bad updates",
                                          "banned")
            wait = self.throttle.wait(peer.host)
            if wait > 0:  # not even compared: guessing stays slow
                self.stats["refused"] += 1
                return await self._refuse(peer, f"too many failed logins from this address; "
                                                f"try again in {wait:.0f} s", "throttled")
            if not hmac.compare_digest(f["token"].encode(), self.token.encode()):
                self.stats["refused"] += 1
                self.throttle.failed(peer.host)
                self._log(f"{peer.address}: refused (wrong token)")
                return await self._refuse(peer, "wrong token", "auth")
            self.throttle.succeeded(peer.host)
            if f["protocol"] != codec.PROTOCOL_VERSION:
                return await self._refuse(peer, f"protocol {f['protocol']} is not supported "
                                                f"(server speaks {codec.PROTOCOL_VERSION})",
                                          "protocol")
            if self.done:
                await peer.send(codec.encode("bye", {"reason": "training finished"}))
                await peer.close()
                return None
            peer.set_max_size(self.max_frame)  # authenticated: gradients may come now
            self._next_id += 1
            member = Member(f"w{self._next_id}", peer, f.get("name"), f["capabilities"])
            await peer.send(codec.encode("welcome", {
                "worker_id": member.id, "experiment": self.experiment_hash,
                "hyperparameters": self.worker_hyperparameters(), "version": self.version}))
            self.members[member.id] = member
            self._log(f"worker {member.id} joined from {peer.address} "
                      f"({len(self.live())} connected)")
            self._changed.set()
            return member
        return await self._refuse(peer, "too many bad frames", "bad_frame")

    def live(self):
        return [m for m in self.members.values() if m.alive]

    def ready(self):
        """The live workers that finished loading (a browser may take a while)."""
        return [m for m in self.live() if m.ready]

    def _drop(self, member, reason, close=True):
        """Remove a worker; its outstanding samples go back to the round's pool."""
        if not member.alive:
            return
        member.alive = False
        self.members.pop(member.id, None)
        self.stats["dropped"] += 1
        if member.assignment is not None:
            self._requeue(member.assignment)
            member.assignment = None
        self._log(f"worker {member.id} left: {reason} ({len(self.live())} connected)")
        if close:
            task = asyncio.get_running_loop().create_task(self._close_peer(member.peer, reason))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self._changed.set()

    async def _close_peer(self, peer, reason):
        try:
            await asyncio.wait_for(peer.send(codec.encode("bye", {"reason": reason})), 2)
            await asyncio.wait_for(peer.close(1000, reason), 5)
        except (TransportClosed, OSError, asyncio.TimeoutError):
            peer.abort()

