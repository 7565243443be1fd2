"""torch.amp: mixed precision, which distml does not have (it trains in float32).

Scripts that use it where torch would too get honest pass-throughs: `GradScaler` disables
itself when asked to scale (as torch's does on a machine without CUDA), so `scale`,
`step` and `update` call straight through; `autocast` changes nothing. Both warn once when
a script asks for an effect it will not get."""
import warnings

_NO_HALF = ("distml trains in float32 only (no float16/bfloat16): {} does nothing here")


class GradScaler:
    """Loss scaling guards float16 gradients against underflow; distml's gradients are
    float32, so this scaler is always disabled and passes everything through."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = device
        if enabled:
            if device == "cuda":
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not "
                              "available.  Disabling.", stacklevel=2)
            else:
                warnings.warn(_NO_HALF.format("GradScaler") + "; disabling it", stacklevel=2)
        self._enabled = False

    def is_enabled(self):
        return self._enabled

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        return None

    def get_scale(self):
        return 1.0

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        return None


class autocast:
    """A context manager (and decorator) that leaves dtypes alone."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if enabled:
            warnings.warn(_NO_HALF.format(f"autocast(device_type={device_type!r})"),
                          stacklevel=2)
        self.device_type, self.fast_dtype, self._enabled = device_type, dtype, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        return fn


def is_autocast_available(device_type):
    return False
