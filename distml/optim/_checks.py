"""Argument checks shared by the optimizers, with torch's messages."""


def check_nonnegative(value, what):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {value}")
