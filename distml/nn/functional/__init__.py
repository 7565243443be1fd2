"""distml.nn.functional: torch.nn.functional's API, composed from distml's tensor ops.

The functions live in one file per topic; this package re-exports them all, so
`import distml.nn.functional as F` sees every name.
"""
from .conv import *  # noqa: F403
from .conv import __all__ as _all
from .conv import _legacy_reduction  # noqa: F401  (nn.modules.loss reads it)

__all__ = list(_all)
