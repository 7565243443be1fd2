"""The transport's link shaping (server/transport.py): token bucket delays on an injected
clock, and a shaped Peer delivering frames in order. No wall-clock assertions."""
import asyncio

import pytest

from distml.distributed.worker import TransportClosed
from server.transport import Link, Peer, TokenBucket


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_token_bucket_n_bytes_at_rate_r_take_n_over_r():
    clock = Clock()
    rate = 1000.0  # bytes/s
    bucket = TokenBucket(rate, burst=0, clock=clock)
    # one frame of N bytes: N / R
    assert bucket.reserve(500) == pytest.approx(0.5)
    # the bucket refilled while time passed: the next frame waits for itself only
    clock.now += 10
    # N bytes as back-to-back frames queue behind each other: the last is paid at N / R
    waits = [bucket.reserve(100) for _ in range(30)]
    assert waits == pytest.approx([0.1 * (i + 1) for i in range(30)])
    assert waits[-1] == pytest.approx(3000 / rate)
    # halfway through, half the debt is paid
    clock.now += 1.5
    assert bucket.reserve(0) == pytest.approx(1.5)


def test_token_bucket_burst_is_free_then_rate_limited():
    clock = Clock()
    bucket = TokenBucket(1000.0, burst=200, clock=clock)
    assert bucket.reserve(200) == 0.0
    assert bucket.reserve(300) == pytest.approx(0.3)
    clock.now += 60  # credit never exceeds the burst
    assert bucket.reserve(1200) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_link_due_adds_the_delay_and_flags_convert_units():
    clock = Clock()
    link = Link(rate=2000.0, delay=0.05, burst=0, clock=clock)
    up, down = link.bucket(), link.bucket()
    assert link.due(up, 1000) == pytest.approx(100.55)
    assert link.due(up, 1000) == pytest.approx(101.05)  # queued behind the first
    assert link.due(down, 1000) == pytest.approx(100.55)  # each direction its own bucket
    assert Link(None, 0.02).bucket() is None
    assert Link(None, 0.02, clock=clock).due(None, 10 ** 9) == pytest.approx(100.02)
    flags = Link.from_flags(8, 20)  # 8 megabits/s = 1e6 bytes/s, 20 ms
    assert flags.rate == pytest.approx(1e6) and flags.delay == pytest.approx(0.02)
    assert Link.from_flags(None, None) is None
    assert Link.from_flags(None, 5).rate is None


class FakeWs:
    """The part of a websockets connection Peer uses."""
    remote_address = ("127.0.0.1", 1)

    def __init__(self, incoming):
        self.sent = []
        self.incoming = asyncio.Queue()
        for item in incoming:
            self.incoming.put_nowait(item)
        self.closed = False

    async def send(self, data):
        self.sent.append(data)

    async def recv(self):
        item = await self.incoming.get()
        if item is None:
            from websockets.exceptions import ConnectionClosedOK
            raise ConnectionClosedOK(None, None)
        return item

    async def close(self, code=1000, reason=""):
        self.closed = True


def test_shaped_peer_delivers_in_order_then_reports_the_close():
    async def main():
        ws = FakeWs([b"a" * 10, b"b" * 20, None])
        # a fast link (no wall-clock assertion): what matters is order and the close
        peer = Peer(ws, Link(rate=1e9, delay=0.001))
        for i in range(5):
            await peer.send(bytes([i]) * 3)
        assert [await peer.recv(), await peer.recv()] == [b"a" * 10, b"b" * 20]
        with pytest.raises(TransportClosed):
            await peer.recv()
        with pytest.raises(TransportClosed):  # and again, not a hang
            await peer.recv()
        await peer.close()  # flushes what is queued first
        assert ws.sent == [bytes([i]) * 3 for i in range(5)] and ws.closed
        with pytest.raises(TransportClosed):
            await peer.send(b"late")
        peer._stop(reader=True)

    asyncio.run(main())


def test_peer_without_link_passes_frames_through_and_can_be_shaped_later():
    async def main():
        ws = FakeWs([b"x", None])
        peer = Peer(ws)
        await peer.send(b"1")
        assert ws.sent == [b"1"]  # straight through, no writer task
        peer.set_link(Link(rate=1e9))
        await peer.send(b"2")
        assert await peer.recv() == b"x"
        await peer.close()
        assert ws.sent == [b"1", b"2"]
        peer._stop(reader=True)

    asyncio.run(main())
