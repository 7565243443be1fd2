"""torch.cuda as it reads on a machine without CUDA: distml has no CUDA device.

Scripts that ask (`distml.cuda.is_available()`) get False and pick the CPU; functions that
torch lets run without a GPU (seeding, empty_cache) do nothing here, as there, and those
that need a GPU raise. The accelerator distml does have is in `distml.accelerator`.
"""

_NO_CUDA = ("distml has no CUDA device (distml.cuda.is_available() is False); use "
            "distml.accelerator for the webgl device, or 'cpu'")


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def is_bf16_supported(including_emulation=True):
    return False


def manual_seed(seed):
    """No CUDA generator to seed (as torch.cuda.manual_seed without a GPU): a no-op.
    distml.manual_seed seeds the generator every distml device uses."""


def manual_seed_all(seed):
    """No CUDA generators to seed: a no-op (see manual_seed)."""


def seed():
    """No CUDA generator to seed: a no-op."""


def seed_all():
    """No CUDA generators to seed: a no-op."""


def empty_cache():
    """No CUDA cache to free: a no-op (as torch.cuda.empty_cache without a GPU)."""


def current_device():
    raise RuntimeError(_NO_CUDA)


def synchronize(device=None):
    raise RuntimeError(_NO_CUDA)


def set_device(device):
    raise RuntimeError(_NO_CUDA)


def get_device_name(device=None):
    raise RuntimeError(_NO_CUDA)


class _Amp:
    """torch.cuda.amp: the older spellings of distml.amp's names, for device "cuda"."""

    @staticmethod
    def GradScaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                   growth_interval=2000, enabled=True):
        from .amp import GradScaler
        return GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                          enabled)

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from .amp import autocast
        return autocast("cuda", dtype, enabled, cache_enabled)


amp = _Amp()
