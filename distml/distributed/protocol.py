"""The wire protocol's constants, in one place for the worker, the codec and the server
(docs/protocol.md)."""

MAGIC = b"DML1"  # the first 4 bytes of every frame
PROTOCOL_VERSION = 1  # what a hello's `protocol` must say
MAX_HEADER = 1 << 20  # bytes of JSON header at most
DEFAULT_MAX_FRAME = 256 << 20  # the codec's own ceiling on a frame
DEFAULT_MAX_SIZE = 64 << 20  # websocket frames after the hello (a ResNet-18 gradient ~45 MB)
PRE_AUTH_MAX_SIZE = 4 << 10  # websocket frames before the hello was accepted (~100 bytes)
BUFFER_PREFIX = "buffer:"  # gradient frames name BatchNorm statistics "buffer:<name>"


class TransportClosed(ConnectionError):
    """The connection to the other side is gone."""
