"""torch.distributed's process-group calls, for scripts that import them (nanoGPT does, and
calls them only under torchrun). distml has no collectives: data-parallel training here is
the parameter server (`python -m server`, distml.distributed.worker), so these say so."""

_HINT = ("distml has no torch.distributed process groups: train data-parallel with distml's "
         "parameter server (python -m server EXPERIMENT.py, workers: distml-worker)")


def is_available():
    return False  # no collectives (torch: False when built without distributed support)


def is_initialized():
    return False


def init_process_group(*args, **kwargs):
    raise RuntimeError(f"init_process_group: {_HINT}")


def destroy_process_group(*args, **kwargs):
    raise RuntimeError(f"destroy_process_group: {_HINT}")


def _not_initialized(*args, **kwargs):
    raise RuntimeError("Default process group has not been initialized, please make sure to "
                       "call init_process_group.")


get_rank = get_world_size = barrier = all_reduce = broadcast = _not_initialized
