"""torch.onnx's entry points, for scripts that import it: distml exports no ONNX graphs."""


def export(*args, **kwargs):
    raise NotImplementedError("distml.onnx.export: distml does not export ONNX graphs; save "
                              "the weights with distml.save(model.state_dict(), path) instead")


def is_in_onnx_export():
    return False
