"""The in-place forms of composed and core ops (add_, mul_, clamp_, ..., +=, -=, *=, /=),
each the out-of-place op handed to the core's _assign (which rebinds the tensor and writes
a view back to its base)."""


class InplaceOps:
    def add_(self, other, alpha=1):
        return self._assign(self.add(other, alpha))

    def sub_(self, other, alpha=1):
        return self._assign(self.sub(other, alpha))

    def mul_(self, other):
        return self._assign(self * other)

    def div_(self, other):
        return self._assign(self / other)

    def pow_(self, other):
        return self._assign(self ** other)

    def clamp_(self, min=None, max=None):
        return self._assign(self.clamp(min, max))

    def addcmul_(self, t1, t2, value=1):
        return self._assign(self.addcmul(t1, t2, value))

    def addcdiv_(self, t1, t2, value=1):
        return self._assign(self.addcdiv(t1, t2, value))

    def lerp_(self, end, weight):
        return self._assign(self.lerp(end, weight))

    def sqrt_(self):
        return self._assign(self.sqrt())

    def relu_(self):
        return self._assign(self.relu())

    def neg_(self):
        return self._assign(-self)

    def exp_(self):
        return self._assign(self.exp())

    def zero_(self):
        return self.fill_(0)

    def masked_fill_(self, mask, value):
        return self._assign(self.masked_fill(mask, value))

    def __iadd__(self, o):
        return self.add_(o)

    def __isub__(self, o):
        return self.sub_(o)

    def __imul__(self, o):
        return self.mul_(o)

    def __itruediv__(self, o):
        return self.div_(o)
