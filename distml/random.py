"""Counter-based random numbers: the same seed gives the same numbers on every backend.

Element i of a draw is a pure function of (seed, offset + i), so numpy, pure Python and
a GLSL shader all compute it independently (no sequential state to share), like
Philox in PyTorch's CUDA generator. The mixing function is "lowbias32" (C. Wellons), a
32-bit integer hash that is cheap in every language we target.
"""
import math

MASK = 0xFFFFFFFF
TWO_PI = 6.283185307179586


def hash32(x):
    x &= MASK
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    x ^= x >> 16
    return x


def stream_key(seed, stream):
    """32-bit key for one stream (0: uniform / first normal word, 1: second word)."""
    return hash32(hash32(seed & MASK) ^ ((seed >> 32) & MASK) ^ (stream * 0x9E3779B9))


def bits_at(key, counter):
    return hash32(key ^ hash32(counter & MASK))


def uniform_at(seed, counter):
    """Float in [0, 1) with 24 random bits."""
    return (bits_at(stream_key(seed, 0), counter) >> 8) * (1.0 / 16777216.0)


def normal_at(seed, counter):
    """Standard normal by Box-Muller from two independent streams."""
    u1 = ((bits_at(stream_key(seed, 0), counter) >> 8) + 1) * (1.0 / 16777216.0)  # (0, 1]
    u2 = (bits_at(stream_key(seed, 1), counter) >> 8) * (1.0 / 16777216.0)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)


class Generator:
    """torch.Generator-like: a seed plus a counter that advances by the numel of each draw."""

    def __init__(self, seed=0):
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self.offset = 0
        return self

    def initial_seed(self):
        return self.seed

    def next_draw(self, numel):
        """(seed, offset) for a draw of numel numbers; advances the counter."""
        offset = self.offset
        self.offset = (self.offset + numel) & MASK
        return self.seed, offset

    def get_state(self):
        return {"seed": self.seed, "offset": self.offset}

    def set_state(self, state):
        self.seed = int(state["seed"])
        self.offset = int(state["offset"])


default_generator = Generator(0)


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed_from_generator(generator):
    return generator if generator is not None else default_generator


def draw(backend, kind, size, generator=None):
    """A buffer of `size` numbers of `kind` ("uniform" or "normal") made by backend from
    the generator's stream (the default generator if None); advances its counter."""
    seed, offset = seed_from_generator(generator).next_draw(math.prod(size))
    return backend.random(size, kind, seed, offset)
