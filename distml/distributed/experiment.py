"""An experiment: one Python file that the server imports and serves to every worker.

It defines

    make_model()               -> nn.Module (the same architecture everywhere)
    make_dataset(train: bool)  -> a Dataset with get_batch(indices) -> (inputs, targets);
                                  it must be the same on every machine (seeded, no shuffle)
    loss_fn(output, target)    -> the scalar mean loss
    make_optimizer(params)     -> the optimizer (only the server steps it)
    hyperparameters            -> dict: seed, mode ("fixed_global" | "fixed_local"),
                                  global_batch, local_batch, epochs, deadline_s, ...

The server loads the file from disk, the workers from the source text it serves at
`/experiment.py`; both run the same bytes (checked by their sha256).
"""
import hashlib
import types

REQUIRED = ("make_model", "make_dataset", "loss_fn", "make_optimizer", "hyperparameters")

DEFAULTS = {
    "seed": 0,
    "mode": "fixed_global",
    "global_batch": 64,
    "local_batch": 32,
    "epochs": 1,
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
    if hp["mode"] not in ("fixed_global", "fixed_local"):
        raise ValueError(f"mode must be 'fixed_global' or 'fixed_local', got {hp['mode']!r}")
    for key in ("global_batch", "local_batch", "epochs", "min_workers", "max_rejections"):
        if not isinstance(hp[key], int) or isinstance(hp[key], bool) or hp[key] < 1:
            raise ValueError(f"hyperparameter {key!r} must be a positive int, got {hp[key]!r}")
    return hp


# -- model state <-> numpy -----------------------------------------------------------------

def state_arrays(model):
    """The model's state_dict (parameters and buffers) as name -> numpy array (copies)."""
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def load_state_arrays(model, arrays):
    """Load name -> numpy array into the model (strict: every name, matching shapes)."""
    from ..tensor import Tensor
    model.load_state_dict({k: Tensor(v) for k, v in arrays.items()})


def float_buffers(model):
    """name -> tensor for the float buffers (BatchNorm running statistics)."""
    return {k: b for k, b in model.named_buffers()
            if b is not None and b.dtype.name == "float32"}
