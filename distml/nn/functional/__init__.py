"""distml.nn.functional: torch.nn.functional's API, composed from distml's tensor ops.

Everything here is built from the differentiable primitives (distml/function.py) and
Tensor methods, so it runs on every backend: numpy, pure Python and WebGL. Input checks
raise torch's exception types with torch's messages. Host read-backs are limited to the
value checks torch also performs (targets in range, BCE inputs in [0, 1]); those run only
on the CPU backends, where the data already lives on the host.

The functions live in one file per topic; this package re-exports them all.
"""
import sys

from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .conv_transpose import *  # noqa: F403
from .dropout import *  # noqa: F403
from .embedding import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .loss import _legacy_reduction  # noqa: F401  (nn.modules.loss reads it)
from .nll import *  # noqa: F403
from .normalization import *  # noqa: F403
from .padding import *  # noqa: F403
from .pixel_shuffle import *  # noqa: F403
from .upsampling import *  # noqa: F403

# the submodules named like a function (linear, dropout, embedding) are shadowed by it
# here, as torch's F.linear is the function
_TOPICS = ("linear", "conv", "conv_transpose", "activation", "attention", "dropout",
           "normalization", "nll", "loss", "embedding", "padding", "pixel_shuffle",
           "upsampling")
__all__ = [name for topic in _TOPICS for name in sys.modules[f"{__name__}.{topic}"].__all__]
