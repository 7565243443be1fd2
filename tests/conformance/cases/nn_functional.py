"""Conformance cases: nn.functional: conv2d, conv_transpose2d, pooling, linear, activations,
dropout, batch_norm, losses, one_hot."""
from .base import add, CHAIN_TOL, CONV_TOL, f, i, lit, M2, MATMUL_TOL, NN, nnf, sz

# ==========================================================================================
# nn.functional (skipped with a reason when the library has no nn.functional yet)
# ==========================================================================================
CONV = dict(NN, **CONV_TOL)
X4 = sz((2, 3, 6, 6), (4, 3, 15, 17))
add("conv2d_basic", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb), f(X4),
    f((4, 3, 3, 3)), f((4,)), **CONV)
add("conv2d_no_bias", lambda lib, x, w: nnf(lib).conv2d(x, w), f(X4), f((2, 3, 2, 2)), **CONV)
add("conv2d_stride", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, stride=2), f(X4),
    f((4, 3, 3, 3)), f((4,)), **CONV)
add("conv2d_padding", lambda lib, x, w: nnf(lib).conv2d(x, w, padding=1), f(X4),
    f((2, 3, 3, 3)), **CONV)
add("conv2d_padding_tuple", lambda lib, x, w: nnf(lib).conv2d(x, w, padding=(1, 2),
                                                             stride=(2, 1)),
    f(X4), f((2, 3, 3, 2)), **CONV)
add("conv2d_dilation", lambda lib, x, w: nnf(lib).conv2d(x, w, dilation=2, padding=1), f(X4),
    f((2, 3, 3, 3)), **CONV)
add("conv2d_groups", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, groups=2),
    f(sz((2, 4, 5, 5), (3, 4, 13, 11))), f((6, 2, 3, 3)), f((6,)), **CONV)
add("conv2d_depthwise", lambda lib, x, w: nnf(lib).conv2d(x, w, groups=3, padding=1), f(X4),
    f((3, 1, 3, 3)), **CONV)
add("conv2d_all", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, stride=(2, 3),
                                                         padding=(2, 1), dilation=(1, 2),
                                                         groups=2),
    f(sz((1, 4, 7, 8), (2, 4, 16, 19))), f((4, 2, 3, 2)), f((4,)), **CONV)
add("conv2d_1x1", lambda lib, x, w: nnf(lib).conv2d(x, w), f(X4), f((5, 3, 1, 1)), **CONV)
add("conv2d_padding_same", lambda lib, x, w: nnf(lib).conv2d(x, w, padding="same"), f(X4),
    f((2, 3, 3, 3)), **CONV)
add("conv2d_noncontig_input", lambda lib, x, w: nnf(lib).conv2d(x.transpose(2, 3), w), f(X4),
    f((2, 3, 2, 2)), **CONV)
# kernel taps that only ever meet padding (a ResNet's 3x3 convs on 1x1 maps)
add("conv2d_taps_on_padding_only", lambda lib, x, w: nnf(lib).conv2d(x, w, padding=1),
    f(sz((2, 4, 1, 1), (4, 16, 1, 1))), f(sz((3, 4, 3, 3), (8, 16, 3, 3))), **CONV)
add("conv2d_taps_on_padding_cols", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, padding=1),
    f(sz((1, 3, 2, 1), (2, 8, 5, 1))), f(sz((2, 3, 3, 3), (4, 8, 3, 3))), f(sz((2,), (4,))),
    **CONV)
add("conv2d_taps_on_padding_dilated",
    lambda lib, x, w: nnf(lib).conv2d(x, w, padding=3, dilation=3),
    f(sz((1, 2, 2, 2), (2, 8, 3, 2))), f(sz((2, 2, 3, 3), (4, 8, 3, 3))), **CONV)
# conv_transpose2d: a Function of its own (conv2d's three primitives with swapped roles)
add("conv_transpose2d_basic", lambda lib, x, w, bb: nnf(lib).conv_transpose2d(x, w, bb),
    f(X4), f((3, 4, 3, 3)), f((4,)), **CONV)
add("conv_transpose2d_stride_outpad",
    lambda lib, x, w: nnf(lib).conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
    f(X4), f((3, 2, 4, 4)), **CONV)
add("conv_transpose2d_all",
    lambda lib, x, w, bb: nnf(lib).conv_transpose2d(x, w, bb, stride=(2, 1), padding=(1, 0),
                                                    groups=2, dilation=(1, 2)),
    f(sz((1, 4, 4, 5), (2, 4, 9, 8))), f((4, 3, 3, 2)), f((6,)), **CONV)
add("max_pool2d", lambda lib, x: nnf(lib).max_pool2d(x, 2), f(X4), **NN)
add("max_pool2d_stride", lambda lib, x: nnf(lib).max_pool2d(x, 3, stride=2), f(X4), **NN)
add("max_pool2d_padding", lambda lib, x: nnf(lib).max_pool2d(x, 3, 2, padding=1), f(X4), **NN)
add("max_pool2d_ceil", lambda lib, x: nnf(lib).max_pool2d(x, 2, ceil_mode=True),
    f(sz((1, 2, 5, 7), (2, 3, 15, 17))), **NN)
add("max_pool2d_ceil_padding", lambda lib, x: nnf(lib).max_pool2d(x, 3, 2, 1, ceil_mode=True),
    f(sz((1, 2, 6, 5), (2, 3, 16, 15))), **NN)
add("max_pool2d_dilation", lambda lib, x: nnf(lib).max_pool2d(x, 2, 1, dilation=2), f(X4),
    **NN)
add("max_pool2d_rect", lambda lib, x: nnf(lib).max_pool2d(x, (2, 3), (1, 2)), f(X4), **NN)
add("max_pool2d_indices", lambda lib, x: tuple(nnf(lib).max_pool2d(x, 2, return_indices=True)),
    f(X4), **NN)
add("max_pool2d_ties", lambda lib, x: nnf(lib).max_pool2d(x, 2, 1),
    lit([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [0.0, 2.0, 2.0]]]]), **NN)
add("avg_pool2d", lambda lib, x: nnf(lib).avg_pool2d(x, 2), f(X4), **NN)
add("avg_pool2d_stride_pad", lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1), f(X4), **NN)
add("avg_pool2d_no_pad_count", lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1,
                                                                   count_include_pad=False),
    f(X4), **NN)
add("avg_pool2d_ceil", lambda lib, x: nnf(lib).avg_pool2d(x, 2, ceil_mode=True),
    f(sz((1, 2, 5, 7), (2, 3, 15, 17))), **NN)
add("avg_pool2d_ceil_pad", lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    f(sz((1, 2, 6, 5), (2, 3, 16, 15))), **NN)
add("avg_pool2d_ceil_pad_nocount",
    lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    f(sz((1, 2, 6, 5), (2, 3, 16, 15))), **NN)
add("adaptive_avg_pool2d_1", lambda lib, x: nnf(lib).adaptive_avg_pool2d(x, 1), f(X4), **NN)
add("adaptive_avg_pool2d_tuple", lambda lib, x: nnf(lib).adaptive_avg_pool2d(x, (2, 3)),
    f(X4), **NN)
add("adaptive_avg_pool2d_identity", lambda lib, x: nnf(lib).adaptive_avg_pool2d(
    x, tuple(x.shape[-2:])), f(X4), **NN)
add("adaptive_avg_pool2d_uneven", lambda lib, x: nnf(lib).adaptive_avg_pool2d(x, (4, 4)),
    f(sz((1, 2, 7, 5), (2, 3, 15, 17))), **NN)
add("linear", lambda lib, x, w, bb: nnf(lib).linear(x, w, bb), f(sz((3, 5), (31, 127))),
    f(sz((4, 5), (10, 127))), f(sz((4,), (10,))), **dict(NN, **MATMUL_TOL))
add("linear_no_bias", lambda lib, x, w: nnf(lib).linear(x, w), f((3, 5)), f((2, 5)),
    **dict(NN, **MATMUL_TOL))
add("linear_3d", lambda lib, x, w, bb: nnf(lib).linear(x, w, bb), f((2, 3, 5)), f((4, 5)),
    f((4,)), **dict(NN, **MATMUL_TOL))
add("linear_1d", lambda lib, x, w, bb: nnf(lib).linear(x, w, bb), f((5,)), f((4, 5)), f((4,)),
    **dict(NN, **MATMUL_TOL))
add("f_relu_sigmoid_tanh", lambda lib, x: [nnf(lib).relu(x), nnf(lib).sigmoid(x),
                                           nnf(lib).tanh(x)], f(M2), **NN)
add("gelu", lambda lib, x: nnf(lib).gelu(x), f(M2), **dict(NN, **CHAIN_TOL))
add("gelu_tanh", lambda lib, x: nnf(lib).gelu(x, approximate="tanh"), f(M2),
    **dict(NN, **CHAIN_TOL))
add("gelu_extreme", lambda lib, x: nnf(lib).gelu(x), lit([-20.0, -5.0, 0.0, 5.0, 20.0]),
    **dict(NN, **CHAIN_TOL))
add("leaky_relu", lambda lib, x: nnf(lib).leaky_relu(x), f(M2), **NN)
add("leaky_relu_slope", lambda lib, x: nnf(lib).leaky_relu(x, 0.2), f(M2), **NN)
add("leaky_relu_zero", lambda lib, x: nnf(lib).leaky_relu(x, negative_slope=0.1),
    lit([-1.0, 0.0, 1.0]), **NN)
add("dropout_p0", lambda lib, x: nnf(lib).dropout(x, p=0.0), f(M2), **NN)
add("dropout_eval", lambda lib, x: nnf(lib).dropout(x, 0.5, training=False), f(M2), **NN)
add("dropout_eval_positional", lambda lib, x: nnf(lib).dropout(x, 0.3, False), f(M2), **NN)
add("softmax_functional", lambda lib, x: [nnf(lib).softmax(x, dim=1),
                                          nnf(lib).log_softmax(x, dim=1)], f(M2),
    **dict(NN, **CHAIN_TOL))
BNT = dict(NN, **CHAIN_TOL)
add("batch_norm_train", lambda lib, x, w, bb: _bn(lib, x, w, bb, True), f(sz((4, 3), (32, 7))),
    f(sz((3,), (7,))), f(sz((3,), (7,))), **BNT)
add("batch_norm_train_4d", lambda lib, x, w, bb: _bn(lib, x, w, bb, True, momentum=0.3,
                                                     eps=1e-3),
    f(sz((2, 3, 3, 2), (4, 5, 7, 6))), f(sz((3,), (5,))), f(sz((3,), (5,))), **BNT)
add("batch_norm_eval", lambda lib, x, w, bb: _bn(lib, x, w, bb, False), f(sz((4, 3), (32, 7))),
    f(sz((3,), (7,))), f(sz((3,), (7,))), **BNT)
add("batch_norm_eval_4d", lambda lib, x: _bn(lib, x, None, None, False),
    f(sz((2, 3, 3, 2), (4, 5, 7, 6))), **BNT)
add("batch_norm_no_running", lambda lib, x, w: nnf(lib).batch_norm(x, None, None, w,
                                                                   training=True),
    f((4, 3, 2)), f((3,)), **BNT)
add("batch_norm_no_affine_train", lambda lib, x: _bn(lib, x, None, None, True), f((5, 2)),
    **BNT)
# conv -> BatchNorm -> ReLU as in ResNet (the fused batch-norm primitives), and a batch of
# 1x1 maps (4 values per channel: the statistics amplify rounding differences)
add("batch_norm_train_relu", lambda lib, x, w, bb: nnf(lib).relu(_bn(lib, x, w, bb, True)[0]),
    f(sz((2, 3, 3, 2), (8, 6, 5, 5))), f(sz((3,), (6,))), f(sz((3,), (6,))), **BNT)
add("batch_norm_train_1x1", lambda lib, x, w, bb: _bn(lib, x, w, bb, True),
    f(sz((4, 3, 1, 1), (4, 16, 1, 1))), f(sz((3,), (16,))), f(sz((3,), (16,))), **BNT)


def _bn(lib, x, w, bb, training, **kw):
    c = x.shape[1]
    rm = lib.linspace(-0.5, 0.5, c)
    rv = lib.linspace(0.5, 2.0, c)
    out = nnf(lib).batch_norm(x, rm, rv, w, bb, training=training, **kw)
    return out, rm, rv


LOSS = dict(NN, **CHAIN_TOL)
LOGITS = sz((4, 5), (64, 10))
TARGET = i(sz((4,), (64,)), sz("index<5>", "index<10>"))
add("cross_entropy", lambda lib, x, t: nnf(lib).cross_entropy(x, t), f(LOGITS), TARGET, **LOSS)
add("cross_entropy_sum", lambda lib, x, t: nnf(lib).cross_entropy(x, t, reduction="sum"),
    f(LOGITS), TARGET, **LOSS)
add("cross_entropy_none", lambda lib, x, t: nnf(lib).cross_entropy(x, t, reduction="none"),
    f(LOGITS), TARGET, **LOSS)
add("cross_entropy_label_smoothing",
    lambda lib, x, t: nnf(lib).cross_entropy(x, t, label_smoothing=0.1), f(LOGITS), TARGET,
    **LOSS)
add("cross_entropy_weight", lambda lib, x, t, w: nnf(lib).cross_entropy(x, t, weight=w),
    f(LOGITS), TARGET, f(sz((5,), (10,)), "positive", False), **LOSS)
add("cross_entropy_weight_smoothing",
    lambda lib, x, t, w: nnf(lib).cross_entropy(x, t, weight=w, label_smoothing=0.2),
    f(LOGITS), TARGET, f(sz((5,), (10,)), "positive", False), **LOSS)
add("cross_entropy_ignore_index",
    lambda lib, x, t: nnf(lib).cross_entropy(x, t, ignore_index=-100), f((5, 4)),
    lit([1, -100, 3, 0, -100], "int64"), **LOSS)
add("cross_entropy_ignore_custom",
    lambda lib, x, t, w: nnf(lib).cross_entropy(x, t, weight=w, ignore_index=2,
                                                reduction="none"),
    f((5, 4)), lit([1, 2, 3, 0, 2], "int64"), f((4,), "positive", False), **LOSS)
add("cross_entropy_ignore_smoothing",
    lambda lib, x, t: nnf(lib).cross_entropy(x, t, ignore_index=0, label_smoothing=0.1),
    f((5, 4)), lit([1, 0, 3, 0, 2], "int64"), **LOSS)
add("cross_entropy_4d", lambda lib, x, t: nnf(lib).cross_entropy(x, t), f((2, 3, 2, 2)),
    i((2, 2, 2), "index<3>"), **LOSS)
add("cross_entropy_probs", lambda lib, x, p: nnf(lib).cross_entropy(x, p.softmax(1)),
    f((3, 4)), f((3, 4), grad=False), **LOSS)
add("cross_entropy_extreme", lambda lib, x, t: nnf(lib).cross_entropy(x, t),
    lit([[1000.0, 0.0, -1000.0], [-50.0, 50.0, 0.0]]), lit([2, 1], "int64"), **LOSS)
add("nll_loss", lambda lib, x, t: nnf(lib).nll_loss(x.log_softmax(1), t), f(LOGITS), TARGET,
    **LOSS)
add("nll_loss_weight_none", lambda lib, x, t, w: nnf(lib).nll_loss(x, t, weight=w,
                                                                   reduction="none"),
    f((5, 4)), i((5,), "index<4>"), f((4,), "positive", False), **LOSS)
add("nll_loss_weight_mean", lambda lib, x, t, w: nnf(lib).nll_loss(x, t, weight=w),
    f((5, 4)), i((5,), "index<4>"), f((4,), "positive", False), **LOSS)
add("nll_loss_ignore", lambda lib, x, t: nnf(lib).nll_loss(x, t, ignore_index=1,
                                                            reduction="sum"),
    f((5, 4)), lit([1, 2, 3, 1, 0], "int64"), **LOSS)
add("mse_loss", lambda lib, x, y: nnf(lib).mse_loss(x, y), f(M2), f(M2), **LOSS)
add("mse_loss_sum", lambda lib, x, y: nnf(lib).mse_loss(x, y, reduction="sum"), f(M2), f(M2),
    **LOSS)
add("mse_loss_none", lambda lib, x, y: nnf(lib).mse_loss(x, y, reduction="none"), f(M2),
    f(M2, grad=False), **LOSS)
add("one_hot", lambda lib, t: nnf(lib).one_hot(t), lit([0, 3, 1, 1], "int64"), **NN)
add("one_hot_num_classes", lambda lib, t: nnf(lib).one_hot(t, num_classes=6),
    i(sz((2, 3), (8, 9)), "index<4>"), **NN)
