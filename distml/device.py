"""PyTorch-style devices: "cpu" (numpy, or pure Python without numpy), "webgl", and any
device type registered with distml.backends.register."""
from . import backends

_default = {"device": None}


class device:
    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string or distml.device, got {type(spec).__name__}")
        if ":" in spec:
            spec, idx = spec.split(":", 1)
            if not idx.isdigit():
                raise RuntimeError(f"invalid device string: {spec}:{idx}")
            index = int(idx)
        known = backends.device_types()
        if spec not in known:
            raise RuntimeError(f"unknown device type {spec!r}: expected one of "
                               f"{', '.join(repr(k) for k in known)}")
        self.type = spec
        self.index = index

    @property
    def backend(self):
        return backends.get_backend(self.type)

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"device(type='{self.type}')"

    def __str__(self):
        return self.type

    def __enter__(self):
        """`with distml.device("webgl"):` makes it the default device inside the block,
        as in PyTorch: a model built there draws its initial weights on that device."""
        self._outer = getattr(self, "_outer", [])
        self._outer.append(_default["device"])
        _default["device"] = get_device(self)
        return self

    def __exit__(self, *exc):
        _default["device"] = self._outer.pop()


_CPU = device("cpu")
_CACHE = {"cpu": _CPU}


def get_device(spec=None):
    """Resolve None/str/device to a device object (None: the default device)."""
    if spec is None:
        return _default["device"] or _CPU
    if isinstance(spec, device):
        return _CACHE.setdefault(spec.type, spec)
    d = device(spec)
    return _CACHE.setdefault(d.type, d)


def set_default_device(spec):
    _default["device"] = None if spec is None else get_device(spec)


def get_default_device():
    return get_device(None)
