"""An experiment: one Python file that the server imports and serves to every worker.

It defines

    make_model()               -> nn.Module (the same architecture everywhere)
    make_dataset(train: bool)  -> a Dataset with get_batch(indices) -> (inputs, targets);
                                  it must be the same on every machine (seeded, no shuffle)
    loss_fn(output, target)    -> the scalar mean loss
    make_optimizer(params)     -> the optimizer (only the server steps it)
    hyperparameters            -> dict: seed, mode ("fixed_global" | "fixed_local" |
                                  "local_sgd"), global_batch, local_batch, local_steps,
                                  epochs, max_samples, eval_every, deadline_s, ...
    device (optional)          -> where workers compute, e.g. "webgl" when
                                  distml.webgl.is_available() (always "cpu" on CPython)

The server loads the file from disk, the workers from the source text it serves at
`/experiment.py`; both run the same bytes (checked by their sha256).
"""
import hashlib
import types

REQUIRED = ("make_model", "make_dataset", "loss_fn", "make_optimizer", "hyperparameters")

MODES = ("fixed_global", "fixed_local", "local_sgd")

DEFAULTS = {
    "seed": 0,
    "mode": "fixed_global",
    "global_batch": 64,
    "local_batch": 32,
    "local_steps": 1,  # local_sgd: optimizer steps per worker per round
    "epochs": 1,
    "max_samples": 0,  # stop after this many training samples (0: all the epochs)
    "eval_every": 0,  # also evaluate every N rounds (0: only after each epoch)
    "deadline_s": 60.0,
    "min_workers": 1,
    "max_rejections": 5,
}


def source_hash(source):
    return hashlib.sha256(source).hexdigest()


def load_experiment(source, name="experiment"):
    """Execute an experiment's source (bytes) as a fresh module and check what it defines."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    code = compile(source, f"{name}.py", "exec")
    exec(code, module.__dict__)
    missing = [a for a in REQUIRED if not hasattr(module, a)]
    if missing:
        raise ValueError(f"experiment {name!r} does not define {', '.join(missing)}")
    if not isinstance(module.hyperparameters, dict):
        raise ValueError(f"experiment {name!r}: hyperparameters must be a dict")
    return module


def hyperparameters(module, overrides=None):
    """The experiment's hyperparameters over the defaults, then `overrides`."""
    hp = dict(DEFAULTS)
    hp.update(module.hyperparameters)
    hp.update(overrides or {})
    if hp["mode"] not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {hp['mode']!r}")
    for key in ("global_batch", "local_batch", "local_steps", "epochs", "min_workers",
                "max_rejections", "max_samples", "eval_every"):
        low = 0 if key in ("max_samples", "eval_every") else 1
        if not isinstance(hp[key], int) or isinstance(hp[key], bool) or hp[key] < low:
            raise ValueError(f"hyperparameter {key!r} must be an int >= {low}, got {hp[key]!r}")
    return hp


# -- model state <-> numpy -----------------------------------------------------------------

def state_arrays(model):
    """The model's state_dict (parameters and buffers) as name -> numpy array (copies)."""
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def load_state_arrays(model, arrays):
    """Load name -> numpy array into the model (strict: every name, matching shapes)."""
    from .._tensor import Tensor
    model.load_state_dict({k: Tensor(v) for k, v in arrays.items()})


def float_buffers(model):
    """name -> tensor for the float buffers (BatchNorm running statistics)."""
    return {k: b for k, b in model.named_buffers()
            if b is not None and b.dtype.name == "float32"}
