"""A shared link (`Link(..., shared=True)`, server/transport.py): all connections of one
transport draw from one token bucket per direction, as through one machine's NIC. The
accounting on an injected clock; no wall-clock assertions."""
import pickle

import pytest

from server.transport import Link, Peer


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class FakeWs:
    remote_address = ("127.0.0.1", 5000)


def peers(link, n=2):
    return [Peer(FakeWs(), link) for _ in range(n)]


def test_connections_on_a_shared_link_get_half_the_rate_each():
    clock = Clock()
    rate = 1000.0  # bytes/s
    a, b = peers(Link(rate, delay=0.0, burst=0, clock=clock, shared=True))
    assert a._down is b._down and a._up is b._up  # one bucket per direction for both
    assert a._down is not a._up  # full duplex: the directions do not share
    # both connections send 1000 bytes at once, interleaved in 100-byte frames: the link
    # carries 2000 bytes, so each connection's last byte is out at 2 s (500 B/s each)
    dues = {"a": [], "b": []}
    for _ in range(10):
        dues["a"].append(a._due(a._down, 100) - clock.now)
        dues["b"].append(b._due(b._down, 100) - clock.now)
    assert dues["a"][-1] == pytest.approx(1.9) and dues["b"][-1] == pytest.approx(2.0)
    assert 1000 / dues["b"][-1] == pytest.approx(rate / 2)
    # the same on separate links (the default): each its own 1000 B/s, done at 1 s
    c, d = peers(Link(rate, burst=0, clock=clock))
    assert c._down is not d._down
    last = [max(p._due(p._down, 100) for _ in range(10)) - clock.now for p in (c, d)]
    assert last == pytest.approx([1.0, 1.0])


def test_a_shared_link_pays_its_debt_once_for_all_connections():
    clock = Clock()
    link = Link(1000.0, delay=0.05, burst=0, clock=clock, shared=True)
    a, b, c = peers(link, 3)
    # the uplink: a sends 600 bytes, b 400; then c's frame waits behind both
    assert a._due(a._up, 600) == pytest.approx(100.6 + 0.05)
    assert b._due(b._up, 400) == pytest.approx(101.0 + 0.05)
    assert c._due(c._up, 0) == pytest.approx(101.0 + 0.05)
    clock.now += 1.0  # the debt is paid: the link is free again, for everyone
    assert c._due(c._up, 500) == pytest.approx(101.5 + 0.05)
    # meanwhile the downlink was untouched
    assert a._due(a._down, 100) == pytest.approx(101.1 + 0.05)


def test_shared_link_flags_repr_and_pickling():
    link = Link.from_flags(80, 5, shared=True)
    assert link.rate == 10e6 and link.delay == 0.005 and link.shared
    assert repr(link) == "Link(80 Mbit/s, 5 ms, shared)"
    assert not Link.from_flags(80).shared
    assert Link.from_flags(None, None, shared=True) is None
    # a gateway actor gets its own copy: its own buckets, not another gateway's
    used = Link(1000.0, shared=True)
    bucket = used.bucket("down")
    copy = pickle.loads(pickle.dumps(used))
    assert copy.bucket("down") is copy.bucket("down") is not bucket
    assert Link(None, 0.01, shared=True).bucket("down") is None
