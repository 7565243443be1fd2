"""distml.nn: torch.nn's API (modules, functional, init, utils)."""
from . import functional, init, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .modules.module import Module
from .parameter import Buffer, Parameter
from . import parallel  # torch.nn.parallel
from .parallel import DataParallel

__all__ = ["functional", "init", "utils", "Parameter", "Buffer", "Module"] + list(_modules_all)
__all__ += ["parallel", "DataParallel"]
