"""Optimizers with torch.optim's names, defaults, update rules and state_dict format."""
from . import lr_scheduler
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .adadelta import Adadelta
from .adagrad import Adagrad
from .lbfgs import LBFGS
from .rmsprop import RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
__all__ += ["Adadelta", "Adagrad", "LBFGS", "RMSprop"]
