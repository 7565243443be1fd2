"""torch.distributions: Categorical, Normal, Bernoulli (sample, log_prob, entropy), enough
for policy-gradient training. Samples come from distml's seeded generator, so a seed gives
the same draws on every backend (not torch's draws)."""
from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .normal import Normal

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "constraints"]
