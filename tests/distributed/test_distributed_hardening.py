"""The parameter server on the open internet (issue 11): bounded memory before auth,
connection limits, one hello deadline, slowed-down logins, a private status, updates
validated before they count, an adaptive deadline, no leftover temporaries."""
import asyncio
import base64
import json
import os
import struct
import tracemalloc
import urllib.error
import urllib.request

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from distml.distributed import codec
from distml.distributed.experiment import state_arrays
from distml.distributed.protocol import PRE_AUTH_MAX_SIZE, TransportClosed
from distml.distributed.worker import WebsocketsTransport, Worker, http_fetcher
from server.orchestrator import Orchestrator
from server.rounds import CHECKPOINT_NAME
from server.session import LoginThrottle
from server.transport import Transport
from test_distributed_server import (
    EXP, TOKEN, assert_state_close, new_worker, reference_states, scenario, start_server,
    train)

EXP_BN = EXP.with_name("experiment_tiny_bn.py")
HELLO = codec.encode("hello", {"token": TOKEN, "protocol": 1, "capabilities": {}})


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# -- before authentication ----------------------------------------------------------------

async def _raw_websocket(port):
    """A websocket opened by hand (so the client itself allocates nothing big)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _read_close_code(reader):
    """The code of the server's close frame (server frames are not masked)."""
    while True:
        b0, b1 = await reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", await reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", await reader.readexactly(8))[0]
        payload = await reader.readexactly(n)
        if b0 & 0x0F == 0x8:
            return struct.unpack(">H", payload[:2])[0]


def test_big_frame_before_hello_refused_without_being_read(monkeypatch):
    size = 10 << 20
    decoded = []
    real_decode = codec.decode
    monkeypatch.setattr(codec, "decode", lambda data, **kw: decoded.append(len(data)) or
                        real_decode(data, **kw))

    async def main():
        orch, transport = await start_server(max_rounds=1)
        reader, writer = await _raw_websocket(transport.port)
        chunk = memoryview(bytes(64 << 10))
        tracemalloc.start()
        tracemalloc.reset_peak()

        async def send_big_frame():  # FIN | binary, masked (key 0: payload unchanged)
            writer.write(bytes([0x82, 0x80 | 127]) + struct.pack(">Q", size) + bytes(4))
            try:
                for _ in range(size // len(chunk)):
                    writer.write(chunk)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass

        sender = asyncio.create_task(send_big_frame())
        try:
            code = await asyncio.wait_for(_read_close_code(reader), 20)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            sender.cancel()
            writer.close()
        seen_before_hello = list(decoded)
        try:
            async with connect(transport.url, compression=None) as ws:  # the spy works
                await ws.send(HELLO)
                await ws.recv()
        finally:
            await transport.close()
        return orch, code, peak, seen_before_hello

    orch, code, peak, seen = scenario(main())
    assert code == 1009  # message too big, known from the frame's header alone
    assert seen == [] and len(decoded) == 1  # the decode path never saw it (a hello, yes)
    assert peak < 2 << 20, peak  # nobody held the 10 MB
    assert orch.stats["bad_frames"] == 0 and orch.stats["refused"] == 0


async def _hostile_unauthenticated_traffic(url, rounds=12):
    """Junk frames and oversized frames from clients that never say hello (no wrong tokens:
    those would slow down 127.0.0.1, the honest workers' address too)."""
    for i in range(rounds):
        try:
            async with connect(url, max_size=None, compression=None) as ws:
                await ws.send(os.urandom(64) if i % 2 else b"x" * (PRE_AUTH_MAX_SIZE * 4))
                await asyncio.wait_for(ws.recv(), 2)
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        await asyncio.sleep(0.01)


def test_unauthenticated_traffic_leaves_the_weights_bit_identical():
    # nothing a client does before its hello changes what the workers are given or send
    rounds = 6

    def run(hostile):
        async def main():
            orch, transport = await start_server(max_rounds=rounds,
                                                 overrides={"min_workers": 2})
            noise = asyncio.create_task(_hostile_unauthenticated_traffic(transport.url)) \
                if hostile else None
            await asyncio.sleep(0.2 if hostile else 0)  # under way before training starts
            workers = [await new_worker(transport.url) for _ in range(2)]
            await train(orch, transport, workers)
            if noise is not None:
                noise.cancel()
            return orch
        return scenario(main())

    clean, attacked = run(False), run(True)
    assert attacked.round == clean.round == rounds
    assert clean.stats["bad_frames"] == 0 and attacked.stats["bad_frames"] >= 1
    want, got = state_arrays(clean.model), state_arrays(attacked.model)
    assert set(want) == set(got)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_cli_checks_the_new_flags():
    import argparse

    from server.__main__ import add_arguments, check_arguments

    def parse(*flags):
        ap = argparse.ArgumentParser()
        ap.error = lambda message: (_ for _ in ()).throw(ValueError(message))
        add_arguments(ap)
        args = ap.parse_args(list(flags))
        args.experiment = str(EXP)  # the positional that main() adds
        check_arguments(ap, args)
        return args

    args = parse("--view-token", "v", "--max-norm-ratio", "0", "--deadline-factor", "0")
    assert (args.view_token, args.max_norm_ratio, args.max_connections,
            args.max_connections_per_address, args.hello_timeout) == ("v", 0, 512, 32, 30)
    for flags, message in [(("--max-norm-ratio", "1"), "max-norm-ratio"),
                           (("--hello-timeout", "0"), "hello-timeout"),
                           (("--max-connections", "0"), "max-connections"),
                           (("--deadline-floor", "-1"), "deadline-floor")]:
        with pytest.raises(ValueError, match=message):
            parse(*flags)


def test_frame_limit_raised_once_the_hello_is_accepted():
    async def main():
        orch, transport = await start_server(max_rounds=1)
        try:
            async with connect(transport.url, compression=None) as ws:
                await ws.send(HELLO)
                welcome = codec.decode(await ws.recv())
                junk = codec.MAGIC + bytes(100_000)  # decoded (and refused) now
                await ws.send(junk)
                reply = codec.decode(await ws.recv())
                return welcome, reply
        finally:
            await transport.close()

    welcome, reply = scenario(main())
    assert welcome.type == "welcome"
    assert reply.type == "error" and reply.fields["code"] == "bad_frame"
    assert len(codec.MAGIC + bytes(100_000)) > 20 * PRE_AUTH_MAX_SIZE


def test_connection_limits_in_total_and_per_address():
    async def idle(peer):
        try:
            await peer.recv()
        except TransportClosed:
            pass

    async def main():
        transport = await Transport(idle, "127.0.0.1", 0, max_connections=3,
                                    max_per_address=2).start()
        opened, outcomes = [], []

        async def attempt(local):
            try:
                ws = await connect(transport.url, compression=None, local_addr=(local, 0))
            except InvalidStatus as e:
                outcomes.append((local, e.response.status_code))
                return
            opened.append(ws)
            outcomes.append((local, 101))

        try:
            for local in ("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.3"):
                await attempt(local)
            await opened[0].close()  # a slot frees up
            for _ in range(100):
                if len(transport.peers) < 2:
                    break
                await asyncio.sleep(0.01)
            await attempt("127.0.0.3")
            return outcomes, transport.refused
        finally:
            for ws in opened:
                await ws.close()
            await transport.close()

    outcomes, refused = scenario(main())
    assert outcomes == [("127.0.0.1", 101), ("127.0.0.1", 101), ("127.0.0.1", 503),
                        ("127.0.0.2", 101), ("127.0.0.3", 503), ("127.0.0.3", 101)]
    assert refused == 2


def test_hello_deadline_does_not_restart_with_each_frame():
    async def main():
        orch, transport = await start_server(max_rounds=1, hello_timeout_s=0.5)
        sent = 0
        try:
            async with connect(transport.url, compression=None) as ws:
                try:
                    for _ in range(15):  # a valid but useless frame every 0.2 s
                        await ws.send(codec.encode("heartbeat", {"time": 0.0}))
                        sent += 1
                        await asyncio.sleep(0.2)
                    await ws.recv()
                except ConnectionClosed:
                    pass
                return orch, sent, ws.close_code, ws.close_reason
        finally:
            await transport.close()

    orch, sent, code, reason = scenario(main())
    assert (code, reason) == (1008, "no hello")  # not "too many bad frames" after 15
    assert sent < 15 and orch.stats["hello_timeouts"] == 1 and orch.members == {}


def test_login_throttle_doubles_per_failure_and_forgets_on_success():
    clock = FakeClock()
    t = LoginThrottle(base_s=1.0, max_s=8.0, clock=clock)
    waits = []
    for _ in range(6):
        t.failed("10.0.0.1")
        waits.append(t.wait("10.0.0.1"))
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert t.wait("10.0.0.2") == 0.0  # per address
    clock.now += 7.5
    assert t.wait("10.0.0.1") == 0.5
    clock.now += 0.5
    assert t.wait("10.0.0.1") == 0.0
    t.succeeded("10.0.0.1")
    t.failed("10.0.0.1")
    assert t.wait("10.0.0.1") == 1.0
    small = LoginThrottle(max_entries=3, clock=clock)
    for i in range(5):
        small.failed(f"h{i}")
    assert list(small.failures) == ["h2", "h3", "h4"]


def test_wrong_token_slows_down_its_address():
    async def main():
        orch, transport = await start_server(max_rounds=1)
        clock = orch.throttle.clock = FakeClock()
        codes = []

        async def hello(token):
            async with connect(transport.url, compression=None) as ws:
                await ws.send(codec.encode("hello", {"token": token, "protocol": 1,
                                                     "capabilities": {}}))
                reply = codec.decode(await ws.recv())
                codes.append(reply.fields.get("code", reply.type))

        try:
            await hello("guess-1")
            await hello(TOKEN)  # right, but the address must wait first: not even compared
            clock.now += 1.0
            await hello("guess-2")
            clock.now += 1.0  # the second failure in a row: 2 s
            await hello(TOKEN)
            clock.now += 1.0
            await hello(TOKEN)
        finally:
            await transport.close()
        return orch, codes

    orch, codes = scenario(main())
    assert codes == ["auth", "throttled", "auth", "throttled", "welcome"]
    assert orch.throttle.wait("127.0.0.1") == 0.0  # a success clears the address


# -- the status is private ------------------------------------------------------------------

def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_status_and_dashboard_need_a_token():
    async def main():
        orch, transport = await start_server(max_rounds=1, view_token="viewer")
        clock = orch.throttle.clock = FakeClock()
        base = f"http://127.0.0.1:{transport.port}"
        worker = await new_worker(transport.url, name="cpy")
        run = asyncio.create_task(worker.run())
        while not orch.ready():
            await asyncio.sleep(0.01)

        async def get(path, **kw):
            return await asyncio.to_thread(_get, base + path, **kw)

        got = {"anonymous": await get("/status.json"), "page": await get("/"),
               "view": await get("/status.json?token=viewer"),
               "bearer": await get("/status.json",
                                   headers={"Authorization": f"Bearer {TOKEN}"}),
               "view page": await get("/?token=viewer"),
               "view experiment": await get("/experiment.py?token=viewer"),
               "worker page": await get("/worker"), "static": await get("/web/distml.js"),
               "wrong": await get("/status.json?token=guess")}
        got["after wrong"] = await get(f"/status.json?token={TOKEN}")
        clock.now += 1.0
        got["later"] = await get(f"/status.json?token={TOKEN}")
        got["404"] = await get("/web/secret-name-123.html")
        run.cancel()
        await transport.close()
        return got

    got = scenario(main())
    assert got["anonymous"][0] == got["page"][0] == 401
    assert b"127.0.0.1" not in got["anonymous"][1] + got["page"][1]
    view = json.loads(got["view"][1])
    assert got["view"][0] == 200 and [w["name"] for w in view["workers"]] == ["cpy"]
    assert "address" not in view["workers"][0] and b"127.0.0.1" not in got["view"][1]
    full = json.loads(got["bearer"][1])
    assert full["workers"][0]["address"].startswith("127.0.0.1:")
    assert got["view page"][0] == 200 and b"Bearer" in got["view page"][1]
    assert got["view experiment"][0] == 403  # the view token only reads the status
    assert got["worker page"][0] == got["static"][0] == 200
    assert got["wrong"][0] == 401 and got["after wrong"][0] == 429
    assert got["later"][0] == 200
    assert got["404"][0] == 404 and b"secret-name" not in got["404"][1]


# -- updates validated before they count ---------------------------------------------------

class AbsurdWorker(Worker):
    """In round `at` (every round when at is None) sends gradients near 3e38 and/or a
    BatchNorm running_var of -1e30: finite, so no NaN check sees them."""
    at, grads, running_var = 3, True, True

    def compute(self, indices):
        grads, buffers, loss = super().compute(indices)
        if self.at is None or self.round_now == self.at:
            if self.grads:
                grads = {k: np.full(v.shape, 3e38, np.float32) for k, v in grads.items()}
            if self.running_var:
                buffers = {k: np.full(v.shape, -1e30, np.float32)
                           if k.endswith("running_var") else v for k, v in buffers.items()}
        return grads, buffers, loss

    async def on_round(self, frame):
        self.round_now = frame.fields["round"]
        await super().on_round(frame)


def _run(experiment, attacker=None, rounds=8, **kw):
    async def main():
        orch, transport = await start_server(experiment, max_rounds=rounds,
                                             overrides={"min_workers": 3}, **kw)
        workers = [await new_worker(transport.url) for _ in range(2)]
        workers.append(await new_worker(transport.url, attacker or Worker))
        await train(orch, transport, workers)
        return orch, workers
    return scenario(main())


def _assert_one_rejection(orch, workers, rounds=8):
    assert orch.round == rounds and orch.stats["rejected_updates"] == 1
    assert orch.stats["reassigned_samples"] == 8  # its third of the round, done by others
    assert [c for c, _ in workers[2].errors] == ["bad_update"]
    assert [h["samples"] for h in orch.history] == [24] * rounds


def test_absurd_gradient_rejected_and_its_samples_reassigned():
    want = reference_states(8)[8]
    clean, _ = _run(EXP)
    orch, workers = _run(EXP, type("Attacker", (AbsurdWorker,), {"running_var": False}))
    _assert_one_rejection(orch, workers)
    # the round's gradient is still the one over all its samples
    assert_state_close(state_arrays(orch.model), want)
    assert orch.accuracy == clean.accuracy


@pytest.mark.parametrize("grads", [True, False])
def test_absurd_batchnorm_statistics_rejected(grads):
    """With BatchNorm a gradient depends on how the round was cut (batch statistics), so
    the attacked run is close to the clean one, not equal."""
    clean, _ = _run(EXP_BN)
    orch, workers = _run(EXP_BN, type("Attacker", (AbsurdWorker,), {"grads": grads}))
    _assert_one_rejection(orch, workers)
    got, want = state_arrays(orch.model), state_arrays(clean.model)
    assert (got["1.running_var"] > 0).all()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=0.15, err_msg=k)
    assert abs(orch.accuracy[-1][1] - clean.accuracy[-1][1]) <= 2 / 64  # 64 test samples


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_absurd_update_wrecks_the_model_without_validation():
    """The same attack with the norm check off (and as the last round, since the next
    one would be NaN): the model is lost, so the tests above have teeth."""
    attacker = type("Attacker", (AbsurdWorker,), {"running_var": False})
    orch, _ = _run(EXP, attacker, rounds=3, max_norm_ratio=0)
    assert orch.stats["rejected_updates"] == 0
    assert max(float(np.abs(v).max()) for v in state_arrays(orch.model).values()) > 1e30


def test_repeat_offender_dropped_and_its_host_refused():
    rounds = 6
    want = reference_states(rounds)[rounds]
    attacker = type("Attacker", (AbsurdWorker,), {"at": None, "running_var": False})

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={
            "min_workers": 3, "max_rejections": 2})
        workers = [await new_worker(transport.url) for _ in range(2)]
        ws = await connect(transport.url, compression=None, local_addr=("127.0.0.2", 0))
        workers.append(attacker(WebsocketsTransport(ws), TOKEN, http_fetcher(transport.url)))

        async def come_back():  # after being dropped, from the same host
            while "127.0.0.2" not in orch.banned_hosts:
                await asyncio.sleep(0.01)
            ws = await connect(transport.url, compression=None, local_addr=("127.0.0.2", 0))
            await ws.send(HELLO)
            return codec.decode(await ws.recv()).fields

        results = await train(orch, transport, workers, late=[come_back()])
        return orch, results

    orch, results = scenario(main())
    assert results[:2] == ["training finished"] * 2
    assert results[3]["code"] == "banned"
    assert orch.stats["rejected_updates"] == 2
    assert orch.round == rounds
    assert_state_close(state_arrays(orch.model), want)


# -- the adaptive deadline -------------------------------------------------------------------

class StallingWorker(Worker):
    """Answers round 3 only after 2 s (a stopped process with an open socket, then late)."""

    async def on_round(self, frame):
        if frame.fields["round"] == 3:
            await asyncio.sleep(2)
        await super().on_round(frame)


def test_stalled_assignment_goes_to_others_long_before_the_hard_deadline():
    rounds = 8
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(
            max_rounds=rounds, deadline_floor_s=0.5, deadline_factor=3.0,
            overrides={"min_workers": 3, "deadline_s": 120.0})
        workers = [await new_worker(transport.url) for _ in range(2)]
        workers.append(await new_worker(transport.url, StallingWorker))
        # the whole scenario has 60 s (TIMEOUT): a 120 s deadline would fail it
        results = await train(orch, transport, workers)
        return orch, workers, results

    orch, workers, results = scenario(main())
    assert results[:2] == ["training finished"] * 2
    assert not any("missed the round" in line for line in orch.lines)  # slow, not dropped
    assert orch.round == rounds and orch.stats["taken_back"] >= 1
    codes = [c for c, _ in workers[2].errors]
    assert orch.stats["late_answers"] == len(codes) >= 1 and set(codes) == {"late"}
    assert orch.adaptive_deadline_s() < 120
    assert_state_close(state_arrays(orch.model), want)  # the late answer never counted


# -- checkpoints -----------------------------------------------------------------------------

def test_leftover_temporary_checkpoints_removed_at_start(tmp_path):
    (tmp_path / f"{CHECKPOINT_NAME}.tmp4242").write_bytes(b"half a checkpoint")
    (tmp_path / "notes.txt").write_text("keep me")
    lines = []
    Orchestrator(EXP, TOKEN, checkpoint_dir=tmp_path, say=lines.append, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert any("tmp4242" in line for line in lines)


class FailingWorker(Worker):
    """Its computation raises in round 2 (e.g. BatchNorm on one sample)."""

    def compute(self, indices):
        if self.rounds_done == 1 and not getattr(self, "failed", False):
            self.failed = True
            raise ValueError("cannot train on this")
        return super().compute(indices)


def test_worker_whose_round_fails_says_so_and_stays():
    rounds = 4
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={"min_workers": 3})
        workers = [await new_worker(transport.url) for _ in range(2)]
        workers.append(await new_worker(transport.url, FailingWorker))
        results = await train(orch, transport, workers)
        return orch, workers, results

    orch, workers, results = scenario(main())
    assert results == ["training finished"] * 3
    assert orch.stats["reassigned_samples"] == 8 and orch.banned_hosts == set()
    assert workers[2].rounds_done == rounds - 1
    assert any("round 2 failed: ValueError" in line for line in orch.lines)
    assert_state_close(state_arrays(orch.model), want)


def test_a_second_worker_confirms_a_large_norm_of_the_same_samples():
    """An honest gradient far above the typical one (BatchNorm on 2 samples) is rejected
    once, then accepted when another worker sends about the same norm for those samples;
    an absurd norm or the same worker again is not."""
    from types import SimpleNamespace

    from server.validation import UpdateValidator

    def update(worker, value, positions=(0, 1)):
        return {"member": SimpleNamespace(id=worker), "chunk": [(p, p) for p in positions],
                "grads": {"w": np.full(4, value, np.float32)}, "buffers": {},
                "batch_size": 2}

    v = UpdateValidator(max_ratio=50)
    v.accept([update("a", 1.0, (p,)) for p in range(5)], {})
    suspects = {}
    assert list(v.problems([update("w1", 100.0)], {}, suspects)) == [0]
    assert list(v.problems([update("w1", 100.0)], {}, suspects)) == [0]  # not itself
    assert list(v.problems([update("w2", 3e38)], {}, suspects)) == [0]  # not absurd
    assert v.problems([update("w3", 120.0, (1, 2))], {}, suspects) == {}
    assert v.problems([update("w4", 100.0, (5, 6))], {}, suspects) != {}  # other samples
    v.problems([update("w5", 3e38, (7, 8))], {}, suspects)
    assert v.problems([update("w6", 3e38, (7, 8))], {}, suspects) != {}  # absurd: never
