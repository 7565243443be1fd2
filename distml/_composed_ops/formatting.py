"""format(t, spec): f"{loss:.4f}" formats a 0-d tensor's value; other tensors accept
only an empty spec (their repr), as torch."""


class FormatOps:

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string passed to "
                            f"{type(self).__name__}.__format__")
        return str(self)
