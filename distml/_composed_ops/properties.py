"""torch's small questions about a tensor: dim(), nelement(), element_size(), is_cuda /
is_xpu / is_mps / is_cpu, is_floating_point(), cpu(), contiguous() (always: buffers are
dense)."""


class PropertyOps:
    def dim(self):
        return len(self.shape)

    def nelement(self):
        return self.numel()

    def element_size(self):
        return self.dtype.itemsize

    @property
    def is_cuda(self):
        return False  # distml has no CUDA device (see distml.cuda)

    @property
    def is_xpu(self):
        return False  # nor Intel GPUs (scripts test is_cuda or is_xpu)

    @property
    def is_mps(self):
        return False

    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    @property
    def is_floating_point_type(self):
        return self.dtype.is_floating_point

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def cpu(self):
        return self.to("cpu")

    def contiguous(self):
        return self

    def is_contiguous(self):
        return True
