"""torch.backends.cudnn's flags, which scripts set before training. distml has no cuDNN
(`is_available()` is False), so the flags are stored and read back but change nothing:
distml's kernels are deterministic whatever `deterministic` and `benchmark` say."""

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    """None: no cuDNN library (as torch reports without one)."""
    return None
