"""default_collate: a list of samples -> one batch (torch.utils.data._utils.collate)."""
from ..._tensor import Tensor, stack, tensor


def default_collate(batch):
    """Stack a list of samples: tensors -> stacked tensor, numbers -> 1-D tensor,
    tuples/lists/dicts -> collated element-wise."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, (int, float, bool)):
        return tensor(batch)
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return type(first)(default_collate(list(s)) for s in zip(*batch)) \
            if isinstance(first, tuple) and not hasattr(first, "_fields") \
            else [default_collate(list(s)) for s in zip(*batch)]
    if type(first).__module__ == "numpy":
        return tensor(batch) if not hasattr(first, "shape") or first.shape == () \
            else stack([Tensor(b) for b in batch], 0)
    raise TypeError(f"default_collate: batch must contain tensors, numbers, dicts or lists; "
                    f"found {type(first).__name__}")
