"""Data-parallel training across browsers: wire format (codec), aggregation (strategy).

The server's transport and orchestration come with the distributed issue; these two
parts are pure and tested on their own.
"""
from . import codec, strategy

__all__ = ["codec", "strategy"]
