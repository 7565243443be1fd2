"""distml.nn.functional is a package of topic files; `import distml.nn.functional as F`
still sees every name, and the names that are also file names are the functions."""
import inspect

import distml.nn.functional as F

BEFORE_SPLIT = [
    "linear", "bilinear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu",
    "sigmoid", "tanh", "silu", "mish", "softplus", "logsigmoid", "hardtanh", "hardsigmoid",
    "hardswish", "softmax", "log_softmax", "softmin", "dropout", "dropout2d", "batch_norm",
    "layer_norm", "group_norm", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "one_hot", "pad", "embedding", "normalize",
]
ADDED = ["conv_transpose2d", "scaled_dot_product_attention", "multi_head_attention_forward",
         "instance_norm", "pixel_shuffle", "pixel_unshuffle", "interpolate", "upsample",
         "upsample_nearest", "upsample_bilinear"]


def test_every_name_is_exported_as_a_function():
    assert sorted(set(F.__all__)) == sorted(F.__all__)  # no name twice
    for name in BEFORE_SPLIT + ADDED:
        assert name in F.__all__, name
        assert inspect.isfunction(getattr(F, name)), name


def test_star_import_gives_the_functions():
    namespace = {}
    exec("from distml.nn.functional import *", namespace)
    assert inspect.isfunction(namespace["linear"]) and inspect.isfunction(namespace["dropout"])
    assert inspect.isfunction(namespace["embedding"])
