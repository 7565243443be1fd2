"""torch.utils.data: datasets, samplers and DataLoader (single process)."""
from .dataloader import *  # noqa: F403
from .dataloader import __all__
