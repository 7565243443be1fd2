"""torch.accelerator: the one accelerator this Python has, if any.

distml's accelerator is the "webgl" device, present only in a browser (Pyodide) whose
WebGL2 renders float32. Everywhere else there is none, and these functions answer as torch
does on a machine without a GPU: `current_accelerator()` is None, `device_count()` is 0,
and what needs a device raises. The pattern of pytorch/examples works unchanged:

    use_accel = distml.accelerator.is_available()
    device = distml.accelerator.current_accelerator() if use_accel else distml.device("cpu")
"""
from . import webgl
from .device import device as _device
from .device import get_device

_NONE = "Cannot access accelerator device when none is available."


def is_available():
    """True when the "webgl" device can be used here."""
    return webgl.is_available()


def current_accelerator(check_available=False):
    """distml.device("webgl") where it is available, else None (as torch without one)."""
    return get_device("webgl") if is_available() else None


def device_count():
    return 1 if is_available() else 0


def _require(device=None):
    if not is_available():
        raise RuntimeError(_NONE)
    if device is None or isinstance(device, int) and device == 0:
        return
    # parsed afresh: get_device's cache keeps one device per type, whatever its index
    d = None if isinstance(device, int) else _device(device)
    if d is None or d.type != "webgl" or d.index not in (None, 0):
        raise ValueError(f"invalid accelerator device {device!r}: the only one is 'webgl:0'")


def current_device_index():
    _require()
    return 0


current_device_idx = current_device_index


def set_device_index(device):
    """Only index 0 (the single WebGL context) exists."""
    _require(device)


set_device_idx = set_device_index


def synchronize(device=None):
    """Nothing to wait for: every read of a webgl tensor waits for the GPU work it needs."""
    _require(device)


def empty_cache():
    """Free the textures the webgl device keeps pooled for reuse (live tensors keep theirs)."""
    _require()
    webgl.empty_cache()


def memory_allocated(device_index=None):
    """Bytes held by live webgl tensors (textures are RGBA float32)."""
    _require(device_index)
    return webgl.stats()["live_bytes"]
