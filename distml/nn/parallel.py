"""torch.nn.parallel's names as a CPU-only script meets them.

DataParallel splits batches over CUDA devices; distml has none, so it does what torch's
does without a GPU: it holds the module (its state_dict keys gain the "module." prefix, as
in torch) and calls it. DistributedDataParallel needs a torch.distributed process group,
which distml does not provide: it raises and points to distml.distributed, distml's
data-parallel training across browsers and processes (a parameter server).
"""
from .modules.module import Module

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]


class DataParallel(Module):
    """Holds `module` and calls it; no device to scatter to, so `device_ids` is []."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel expects an nn.Module, got {type(module).__name__}")
        self.module = module
        self.device_ids = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """The functional form: without devices to scatter to, module(*inputs)."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))


class DistributedDataParallel(Module):
    def __init__(self, module, *args, **kwargs):
        raise RuntimeError(
            "DistributedDataParallel needs a torch.distributed process group, which distml "
            "does not have; for data-parallel training across processes or browsers use "
            "distml.distributed (parameter server), or train the module directly")
