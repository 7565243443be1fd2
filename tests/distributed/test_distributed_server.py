"""The parameter server with CPython workers, in one event loop on 127.0.0.1.

Data-parallel SGD must equal single-process SGD (same seed, sample order, global batch);
faults (a killed worker, a late joiner, a wrong token, fuzzed frames, stale, NaN and
hostile gradients) must leave the weights exactly where the no-fault run puts them.
"""
import asyncio
import os
import random
import signal
import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import distml
from distml.distributed import codec
from distml.distributed.experiment import load_experiment, state_arrays
from distml.distributed.protocol import PRE_AUTH_MAX_SIZE
from distml.distributed.worker import (
    ServerError, TransportClosed, WebsocketsTransport, Worker, http_fetcher)
from server.orchestrator import Orchestrator, epoch_permutation
from server.transport import Transport

EXP = Path(__file__).with_name("experiment_tiny.py")
TOKEN = "test-token"
TIMEOUT = 60  # seconds for a whole scenario


def reference_states(n_rounds, global_batch=24):
    """Single-process SGD with the server's seed, sample order and batch: the weights
    after 0, 1, ..., n_rounds steps."""
    exp = load_experiment(EXP.read_bytes())
    seed = exp.hyperparameters["seed"]
    distml.manual_seed(seed)
    model = exp.make_model()
    opt = exp.make_optimizer(model.parameters())
    data = exp.make_dataset(True)
    n = len(data)
    states = [state_arrays(model)]
    epoch = 0
    while len(states) <= n_rounds:
        perm = epoch_permutation(seed, epoch, n)
        for pos in range(0, n, global_batch):
            if len(states) > n_rounds:
                break
            x, y = data.get_batch(perm[pos:pos + global_batch])
            opt.zero_grad()
            exp.loss_fn(model(x), y).backward()
            opt.step()
            states.append(state_arrays(model))
        epoch += 1
    return states


def assert_state_close(got, want, rtol=1e-5, atol=1e-6):
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


async def start_server(experiment=EXP, **kw):
    kw.setdefault("progress", False)
    lines = []
    orch = Orchestrator(experiment, TOKEN, say=lines.append, **kw)
    orch.lines = lines
    transport = await Transport(orch.handle, "127.0.0.1", 0, routes=orch.routes()).start()
    return orch, transport


async def new_worker(url, cls=Worker, token=TOKEN, **kw):
    transport = await WebsocketsTransport.connect(url)
    return cls(transport, token, http_fetcher(url), **kw)


async def train(orch, transport, workers, late=(), run=None):
    """Run the server (unless `run`, its task, is already going) and the workers until
    training ends; `late` are coroutines started alongside (e.g. workers that join later)."""
    run = run or asyncio.create_task(orch.run())
    tasks = [asyncio.create_task(w.run()) for w in workers]
    tasks += [asyncio.create_task(c) for c in late]
    try:
        await asyncio.wait_for(run, TIMEOUT)
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    finally:
        for t in tasks + [run]:
            t.cancel()
        await transport.close()
    return [t.result() if not t.cancelled() and t.exception() is None else t.exception()
            for t in tasks]


def scenario(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT + 20))


# -- equivalence with single-process SGD ----------------------------------------------------

@pytest.mark.parametrize("n_workers", [2, 3])
def test_data_parallel_equals_single_process_sgd(n_workers):
    rounds = 6  # 4 rounds per epoch: crosses an epoch boundary and an evaluation
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(max_rounds=rounds,
                                             overrides={"min_workers": n_workers})
        workers = [await new_worker(transport.url) for _ in range(n_workers)]
        results = await train(orch, transport, workers)
        return orch, workers, results

    orch, workers, results = scenario(main())
    assert results == ["training finished"] * n_workers
    assert orch.round == rounds and orch.version == rounds
    assert [h["workers"] for h in orch.history] == [n_workers] * rounds
    # evaluated after epoch 1 and where it stopped, half way through epoch 2
    assert [e for e, _ in orch.accuracy] == [1, 1.5]
    assert all(0.0 <= acc <= 1.0 for _, acc in orch.accuracy)
    assert_state_close(state_arrays(orch.model), want)
    assert all(w.rounds_done == rounds for w in workers)
    assert sum(orch.stats.values()) == orch.stats["dropped"] == n_workers  # clean finish


def test_fixed_local_global_batch_grows_with_workers():
    async def main():
        orch, transport = await start_server(max_rounds=2, overrides={
            "mode": "fixed_local", "local_batch": 5, "min_workers": 3})
        workers = [await new_worker(transport.url) for _ in range(3)]
        await train(orch, transport, workers)
        return orch

    orch = scenario(main())
    assert [h["samples"] for h in orch.history] == [15, 15]
    assert orch.position == 30


# -- faults ---------------------------------------------------------------------------------

class KilledWorker(Worker):
    """Dies (TCP connection dropped, no answer, no bye) when round `die_at` arrives."""
    die_at = 3

    async def on_round(self, frame):
        if frame.fields["round"] == self.die_at:
            self.transport.ws.transport.abort()
            raise TransportClosed("killed")
        await super().on_round(frame)


def test_worker_killed_mid_round_samples_reassigned():
    rounds = 5
    want = reference_states(rounds)

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={"min_workers": 3})
        workers = [await new_worker(transport.url) for _ in range(2)]
        workers.append(await new_worker(transport.url, KilledWorker))
        results = await train(orch, transport, workers)
        return orch, results

    orch, results = scenario(main())
    assert isinstance(results[2], TransportClosed)
    assert orch.stats["reassigned_samples"] == 8  # a third of the global batch of 24
    assert orch.round == rounds
    assert [h["samples"] for h in orch.history] == [24] * rounds
    assert orch.history[2]["workers"] >= 3  # two first answers plus the reassigned share
    assert any("w3 left: disconnected" in line for line in orch.lines)
    assert_state_close(state_arrays(orch.model), want[rounds])


class RecordingWorker(Worker):
    """Keeps the weights and version it held at its first round."""
    first = None

    async def on_round(self, frame):
        if self.first is None:
            self.first = None if not frame.tensors else \
                (frame.fields["version"], {k: frame.values(k) for k in frame.tensors})
        await super().on_round(frame)


def test_worker_joining_mid_training_gets_current_weights():
    rounds = 8
    want = reference_states(rounds)

    async def main():
        orch, transport = await start_server(max_rounds=rounds)
        first = await new_worker(transport.url, delay_s=0.1)
        late = await new_worker(transport.url, RecordingWorker)

        async def join_later():
            while orch.round < 2:
                await asyncio.sleep(0.01)
            return await late.run()

        await train(orch, transport, [first], late=[join_later()])
        return orch, late

    orch, late = scenario(main())
    version, weights = late.first
    assert version >= 2  # it joined after round 2 and was sent that version's weights
    assert_state_close(weights, want[version], rtol=1e-6, atol=1e-7)
    assert orch.history[-1]["workers"] == 2
    assert_state_close(state_arrays(orch.model), want[rounds])


class SlowLoader(Worker):
    """Joins, then loads its data for a while (a browser parsing MNIST): no heartbeats."""

    async def handshake(self):
        await super().handshake()
        await asyncio.sleep(1.0)


def test_worker_gets_work_only_once_ready():
    async def main():
        orch, transport = await start_server(max_rounds=2, heartbeat_timeout_s=0.3)
        worker = await new_worker(transport.url, SlowLoader)
        run = asyncio.create_task(orch.run())
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(0.7)  # joined, still loading: past the heartbeat timeout
        loading = (orch.round, [m.ready for m in orch.live()])
        result = await asyncio.wait_for(task, TIMEOUT)
        await asyncio.wait_for(run, 10)
        await transport.close()
        return orch, loading, result

    orch, loading, result = scenario(main())
    assert loading == (0, [False])  # not dropped, and no round started without it
    assert result == "training finished" and orch.round == 2
    assert orch.stats["dropped"] == 1 and not any("heartbeat" in line for line in orch.lines)


def test_wrong_token_refused():
    async def main():
        orch, transport = await start_server(max_rounds=1)
        bad = await new_worker(transport.url, token="not-the-token")
        with pytest.raises(ServerError, match="wrong token"):
            await asyncio.wait_for(bad.handshake(), 10)
        with pytest.raises(TransportClosed):
            await asyncio.wait_for(bad.transport.recv(), 10)
        await transport.close()
        return orch, bad

    orch, bad = scenario(main())
    assert bad.errors == [("auth", "wrong token")]
    assert orch.stats["refused"] == 1 and orch.members == {}


def _fuzz_frames(rng, template):
    """Random and mutated frames (bytes), plus a few text frames."""
    header_len = struct.unpack("<I", template[4:8])[0]
    bad_headers = [b"{}", b"[]", b'{"type":"gradient"}', b'{"type":"gradient","round":NaN}',
                   b"[" * 5000 + b"]" * 5000, b'{"type":"hello","token":1}', b"\xff\xfe",
                   b'{"type":"gradient","round":1,"version":0,"batch_size":8,"tensors":'
                   b'[{"name":"0.weight","dtype":"F32","shape":[-1],"offset":0,"nbytes":4}]}']
    for i in range(300):
        kind = i % 6
        if kind == 0:
            yield bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        elif kind == 1:  # flip a few bytes of a valid gradient frame
            data = bytearray(template)
            for _ in range(rng.randrange(1, 6)):
                pos = rng.randrange(len(data))
                data[pos] = rng.getrandbits(8)
            yield bytes(data)
        elif kind == 2:  # truncated or extended
            cut = rng.randrange(len(template))
            yield template[:cut] if rng.random() < 0.5 else template + b"\0" * (cut % 9 + 1)
        elif kind == 3:
            body = rng.choice(bad_headers)
            yield codec.MAGIC + struct.pack("<I", len(body)) + body
        elif kind == 4:  # a lying header length
            yield template[:4] + struct.pack("<I", rng.choice(
                [0, 1, header_len - 1, header_len + 1, 2**31])) + template[8:]
        else:
            yield "not a binary frame" if rng.random() < 0.5 else \
                template[:8 + header_len].replace(b"gradient", b"gradiant")


def test_fuzzed_frames_never_touch_the_weights():
    rounds = 2
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={"min_workers": 2})
        run = asyncio.create_task(orch.run())
        before = {k: v.tobytes() for k, v in state_arrays(orch.model).items()}
        template = codec.encode("gradient", {"round": 1, "version": 0, "batch_size": 12},
                                [(k, s, np.ones(s, np.float32))
                                 for k, s in orch.param_shapes.items()])
        hello = codec.encode("hello", {"token": TOKEN, "protocol": 1, "capabilities": {}})
        rng = random.Random(0)
        replies = []

        async def session(frames, say_hello):
            async with connect(transport.url, compression=None) as ws:
                if say_hello:  # its welcome raises the frame limit
                    await ws.send(hello)
                    replies.append(await ws.recv())

                async def drain():
                    try:
                        async for msg in ws:
                            replies.append(msg)
                    except ConnectionClosed:
                        pass
                reader = asyncio.create_task(drain())
                sent = 0
                try:
                    for frame in frames:
                        await ws.send(frame)
                        sent += 1
                except ConnectionClosed:
                    pass
                await asyncio.sleep(0.2)
                await ws.close()
                await asyncio.wait_for(reader, 10)
                return sent

        frames = list(_fuzz_frames(rng, template))
        # before hello only small frames (larger ones close the connection, tested in
        # test_distributed_hardening.py)
        early = [f for f in frames[:40] if len(f) <= PRE_AUTH_MAX_SIZE]
        sent = await session(early, say_hello=False)
        sent += await session(frames[40:], say_hello=True)  # as a joined worker
        assert len(early) >= 35
        after = {k: v.tobytes() for k, v in state_arrays(orch.model).items()}
        assert after == before and orch.round == 0 and orch.version == 0
        workers = [await new_worker(transport.url) for _ in range(2)]
        results = await train(orch, transport, workers, run=run)
        return orch, sent, replies, results

    orch, sent, replies, results = scenario(main())
    assert sent >= 295
    errors = [codec.decode(r) for r in replies if isinstance(r, bytes)]
    assert sum(f.type == "error" for f in errors) >= 245
    assert orch.stats["bad_frames"] >= 200
    assert results == ["training finished"] * 2
    assert_state_close(state_arrays(orch.model), want)


class StaleWorker(Worker):
    def reply_version(self, fields):
        return fields["version"] - 1


class NanWorker(Worker):
    def compute(self, indices):
        grads, buffers, loss = super().compute(indices)
        grads = {k: v.numpy() * np.float32("nan") for k, v in grads.items()}
        return grads, buffers, loss


@pytest.mark.parametrize("bad_cls, code", [(StaleWorker, "stale"), (NanWorker, "bad_frame")])
def test_bad_gradients_rejected_and_reassigned(bad_cls, code):
    rounds = 3
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={"min_workers": 3})
        workers = [await new_worker(transport.url) for _ in range(2)]
        workers.append(await new_worker(transport.url, bad_cls))
        results = await train(orch, transport, workers)
        return orch, workers, results

    orch, workers, results = scenario(main())
    assert results == ["training finished"] * 3  # the bad worker stays connected
    assert [c for c, _ in workers[2].errors] == [code] * rounds
    assert workers[0].errors == workers[1].errors == []
    assert orch.stats["rejected_updates"] == rounds
    assert orch.stats["reassigned_samples"] == 8 * rounds
    assert_state_close(state_arrays(orch.model), want)


class HostileWorker(Worker):
    def compute(self, indices):
        grads, buffers, loss = super().compute(indices)
        return {k: -10.0 * v.numpy() for k, v in grads.items()}, buffers, loss


def _train_with_attacker(rule):
    async def main():
        orch, transport = await start_server(max_rounds=12, aggregate=rule, overrides={
            "min_workers": 5, "global_batch": 40, "epochs": 5})
        workers = [await new_worker(transport.url) for _ in range(4)]
        workers.append(await new_worker(transport.url, HostileWorker))
        await train(orch, transport, workers)
        return orch
    orch = scenario(main())
    return orch, orch.evaluate()


@pytest.mark.parametrize("rule", ["median", "trimmed_mean"])
def test_sign_flipped_gradient_with_robust_rule_stays_on_track(rule):
    orch, acc = _train_with_attacker(rule)
    losses = [h["loss"] for h in orch.history]
    assert np.mean(losses[-3:]) < losses[0] - 0.2
    assert acc >= 0.75
    _, acc_mean = _train_with_attacker("mean")
    assert acc_mean < acc  # the plain mean follows the attacker


class DoubleWorker(Worker):
    """Sends every gradient twice."""

    async def _send(self, msg_type, fields=None, tensors=None, compression=None):
        await super()._send(msg_type, fields, tensors, compression)
        if msg_type == "gradient":
            await super()._send(msg_type, fields, tensors, compression)


def test_repeated_answer_applied_once():
    rounds = 3
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={"min_workers": 2})
        workers = [await new_worker(transport.url), await new_worker(transport.url, DoubleWorker)]
        results = await train(orch, transport, workers)
        return orch, workers, results

    orch, workers, results = scenario(main())
    assert results == ["training finished"] * 2
    assert [h["workers"] for h in orch.history] == [2] * rounds
    assert orch.stats["rejected_updates"] >= rounds - 1  # the last one may meet a closed door
    assert {c for c, _ in workers[1].errors} == {"unexpected"}
    assert_state_close(state_arrays(orch.model), want)


class StalledWorker(Worker):
    """Stops answering (but keeps the connection) from round 2 on."""

    async def on_round(self, frame):
        if frame.fields["round"] >= 2:  # silent until the server hangs up
            await asyncio.wait_for(self.transport.ws.wait_closed(), 20)
            raise TransportClosed("the server hung up on a stalled worker")
        await super().on_round(frame)


def test_stalled_worker_dropped_at_the_deadline():
    rounds = 3
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={
            "min_workers": 3, "deadline_s": 0.5})
        workers = [await new_worker(transport.url) for _ in range(2)]
        workers.append(await new_worker(transport.url, StalledWorker))
        results = await train(orch, transport, workers)
        return orch, results

    orch, results = scenario(main())
    assert results[:2] == ["training finished"] * 2
    assert isinstance(results[2], TransportClosed)
    assert any("w3 left: missed the round 2 deadline" in line for line in orch.lines)
    assert orch.stats["reassigned_samples"] == 8
    assert 0.5 <= orch.history[1]["seconds"] < 5
    assert_state_close(state_arrays(orch.model), want)


def test_batchnorm_running_stats_are_averaged():
    exp_path = EXP.with_name("experiment_tiny_bn.py")
    exp = load_experiment(exp_path.read_bytes())
    distml.manual_seed(exp.hyperparameters["seed"])
    model = exp.make_model()
    initial = state_arrays(model)
    data = exp.make_dataset(True)
    first = epoch_permutation(exp.hyperparameters["seed"], 0, len(data))[:24]
    stats = []
    for half in (first[:12], first[12:]):  # what each of the two workers computes
        m = exp.make_model()
        m.load_state_dict({k: distml.tensor(v) for k, v in initial.items()})
        m(data.get_batch(half)[0])
        stats.append(state_arrays(m))

    async def main():
        orch, transport = await start_server(exp_path, max_rounds=1,
                                             overrides={"min_workers": 2})
        workers = [await new_worker(transport.url) for _ in range(2)]
        await train(orch, transport, workers)
        return orch

    got = state_arrays(scenario(main()).model)
    for k in ("1.running_mean", "1.running_var"):
        np.testing.assert_allclose(got[k], (stats[0][k] + stats[1][k]) / 2, rtol=1e-5,
                                   atol=1e-7)
        assert not np.allclose(got[k], initial[k])
    assert int(got["1.num_batches_tracked"]) == 1


@pytest.mark.parametrize("compression, tol", [("float16", 2e-3), ("int8", 3e-2)])
def test_compressed_gradients(compression, tol):
    rounds = 4
    want = reference_states(rounds)[rounds]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, compression=compression,
                                             overrides={"min_workers": 2})
        workers = [await new_worker(transport.url) for _ in range(2)]
        await train(orch, transport, workers)
        return orch, workers

    orch, workers = scenario(main())
    assert workers[0].hyperparameters["compression"] == compression
    got = state_arrays(orch.model)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=tol, err_msg=k)
    assert max(np.abs(got[k] - want[k]).max() for k in want) > 0  # it was compressed


def test_max_grad_norm_clips_each_update():
    async def main():
        orch, transport = await start_server(max_rounds=1, max_grad_norm=1e-3,
                                             overrides={"min_workers": 2})
        before = state_arrays(orch.model)
        workers = [await new_worker(transport.url) for _ in range(2)]
        await train(orch, transport, workers)
        return before, state_arrays(orch.model)

    before, after = scenario(main())
    lr = 0.2  # first SGD step with momentum: p -= lr * g
    step = np.sqrt(sum(((before[k] - after[k]) ** 2).sum() for k in before)) / lr
    assert 0 < step <= 1e-3 * (1 + 1e-4)


def test_transport_serves_the_experiment_and_only_ws_upgrades():
    async def main():
        orch, transport = await start_server(max_rounds=1)
        base = f"http://127.0.0.1:{transport.port}"

        def get(path):
            try:
                with urllib.request.urlopen(base + path, timeout=10) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, b""
        try:
            got = [await asyncio.to_thread(get, p) for p in
                   (f"/experiment.py?token={TOKEN}", "/ws", "/../etc/passwd",
                    "/web/nope.html", "/experiment.py", "/experiment.py?token=nope")]
            with pytest.raises(Exception, match="404"):
                async with connect(base.replace("http", "ws") + "/other"):
                    pass
        finally:
            await transport.close()
        return got

    got = scenario(main())
    assert got[0] == (200, EXP.read_bytes())
    # the experiment only for the token's holders; a wrong token also slows its address
    assert [status for status, _ in got[1:]] == [404, 403, 404, 401, 401]


NO_NUMPY_WORKER = """
import sys
sys.modules["numpy"] = None  # as in the browser: any `import numpy` raises ImportError
from distml.distributed.worker import main
code = main(sys.argv[1:])
loaded = [m for m in sys.modules if m.split(".")[0] == "numpy" and sys.modules[m] is not None]
assert not loaded, loaded
import distml
print("backend", distml.backends.cpu_backend_name())
sys.exit(code)
"""


def train_beside_a_worker_without_numpy(rounds, **server_kw):
    """(server, the numpy-less worker's exit code, its output) after `rounds` rounds with
    one in-process worker and one subprocess worker whose numpy import is blocked."""
    root = Path(__file__).resolve().parents[2]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={"min_workers": 2},
                                             **server_kw)
        env = dict(os.environ, PYTHONPATH=str(root))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", NO_NUMPY_WORKER, transport.url, "--token", TOKEN,
            cwd=root, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        try:
            await train(orch, transport, [await new_worker(transport.url)])
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return orch, proc.returncode, out.decode()

    return scenario(main())


def test_worker_without_numpy_matches():
    """A worker on the pure-Python backend (the browser's code path) next to a numpy one."""
    rounds = 4
    want = reference_states(rounds)[rounds]
    orch, code, out = train_beside_a_worker_without_numpy(rounds)
    assert code == 0, out
    assert "backend python" in out
    assert [h["workers"] for h in orch.history] == [2] * rounds
    assert_state_close(state_arrays(orch.model), want)


def test_krum_with_too_few_workers_falls_back_to_median():
    async def main():
        orch, transport = await start_server(max_rounds=2, aggregate="krum",
                                             overrides={"min_workers": 3})
        workers = [await new_worker(transport.url) for _ in range(3)]
        results = await train(orch, transport, workers)
        return orch, results

    orch, results = scenario(main())
    assert results == ["training finished"] * 3 and orch.round == 2
    assert sum("using the coordinate median" in line for line in orch.lines) == 2


def test_worker_process_sigkilled_mid_round():
    """A real worker process killed (SIGKILL) while it holds an assignment."""
    rounds = 4
    want = reference_states(rounds)[rounds]
    root = Path(__file__).resolve().parents[2]

    async def main():
        orch, transport = await start_server(max_rounds=rounds, overrides={"min_workers": 3})
        env = dict(os.environ, PYTHONPATH=str(root))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "distml.distributed.worker", transport.url, "--token", TOKEN,
            "--name", "doomed", "--delay", "5", cwd=root, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

        async def kill_when_busy():
            for _ in range(1000):  # up to ~10 s
                doomed = [m for m in orch.live() if m.name == "doomed"]
                if doomed and doomed[0].assignment is not None:
                    proc.send_signal(signal.SIGKILL)
                    return await proc.wait()
                await asyncio.sleep(0.01)
            raise AssertionError("the worker process never got an assignment")

        try:
            workers = [await new_worker(transport.url) for _ in range(2)]
            await train(orch, transport, workers, late=[kill_when_busy()])
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return orch, proc.returncode

    orch, code = scenario(main())
    assert code == -signal.SIGKILL
    assert orch.stats["reassigned_samples"] == 8
    assert orch.round == rounds
    assert_state_close(state_arrays(orch.model), want)
