"""scaled_dot_product_attention, MultiheadAttention and the Transformer modules against
torch (float64 reference, same weights): outputs, attention weights, input and parameter
gradients, masks of both kinds, state_dicts both ways, and errors on bad input."""
import numpy as np
import pytest
from nn_reference import close, compare, dm, rand, torch, tt

import distml
import distml.nn as nn
import distml.nn.functional as F

tnn = torch.nn
TF = torch.nn.functional


def _sdpa_case(kwargs, mask=None):
    q, k, v = rand(2, 3, 4, 5), rand(2, 3, 6, 5, seed=1), rand(2, 3, 6, 7, seed=2)
    qt, kt, vt = (tt(a, requires_grad=True) for a in (q, k, v))
    qd, kd, vd = (dm(a, requires_grad=True) for a in (q, k, v))
    mt = None if mask is None else tt(mask)
    md = None if mask is None else dm(mask)
    yt = TF.scaled_dot_product_attention(qt, kt, vt, attn_mask=mt, **kwargs)
    yd = F.scaled_dot_product_attention(qd, kd, vd, attn_mask=md, **kwargs)
    close(yd, yt, what="forward")
    g = rand(*yt.shape, seed=3)
    (yt * tt(g)).sum().backward()
    (yd * dm(g)).sum().backward()
    for a, b, n in ((qd, qt, "q"), (kd, kt, "k"), (vd, vt, "v")):
        close(a.grad, b.grad, what=f"grad {n}")


def test_sdpa_plain_scale_causal(backend):
    _sdpa_case({})
    _sdpa_case({"scale": 0.3})
    _sdpa_case({"is_causal": True})


def test_sdpa_masks(backend):
    allowed = np.random.RandomState(4).rand(4, 6) > 0.3
    allowed[:, 0] = True  # no fully masked row (torch gives nan there, as we do)
    _sdpa_case({}, allowed)
    _sdpa_case({}, rand(2, 1, 4, 6, seed=5))


def test_sdpa_fully_masked_row_is_nan_as_torch():
    q = distml.randn(1, 2, 3)
    mask = distml.tensor([[False, False], [True, True]])
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
    assert all(np.isnan(out[0, 0].tolist())) and not any(np.isnan(out[0, 1].tolist()))


def test_sdpa_dropout_scales_kept_weights():
    distml.manual_seed(0)
    q = distml.zeros(1, 1, 200, 4)
    v = distml.ones(1, 1, 200, 1)
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    vals = out.reshape(-1).tolist()
    assert 0.7 < sum(vals) / len(vals) < 1.3  # uniform weights, kept ones scaled by 2


def test_sdpa_errors():
    q = distml.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=distml.ones(3, 3),
                                       is_causal=True)
    with pytest.raises(RuntimeError, match="same embedding size"):
        F.scaled_dot_product_attention(q, distml.zeros(2, 3, 5), q)


MHA_CASES = [
    # id, constructor kwargs, (L, N, E) query, key/value (S, N, kdim, vdim), forward kwargs
    ("self", {}, "self", {}),
    ("self_bf", {"batch_first": True}, "self", {}),
    ("cross_kdim_vdim", {"kdim": 3, "vdim": 5}, "cross", {}),
    ("nobias", {"bias": False}, "self", {}),
    ("per_head_weights", {}, "self", {"average_attn_weights": False}),
    ("no_weights", {}, "self", {"need_weights": False}),
    ("bias_kv_zero_attn", {"add_bias_kv": True, "add_zero_attn": True}, "cross", {}),
]


def _mha_inputs(kind, batch_first, kdim=8, vdim=8, n=2, L=4, S=5):
    q = rand(n, L, 8) if batch_first else rand(L, n, 8)
    if kind == "self":
        return [q]
    k = rand(n, S, kdim, seed=1) if batch_first else rand(S, n, kdim, seed=1)
    v = rand(n, S, vdim, seed=2) if batch_first else rand(S, n, vdim, seed=2)
    return [q, k, v]


@pytest.mark.parametrize("name,ctor,kind,fwd", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_mha_matches_torch(backend, name, ctor, kind, fwd):
    torch.manual_seed(0)
    t_mod, d_mod = tnn.MultiheadAttention(8, 2, **ctor), nn.MultiheadAttention(8, 2, **ctor)
    inputs = _mha_inputs(kind, ctor.get("batch_first", False), ctor.get("kdim", 8),
                         ctor.get("vdim", 8))

    def call(m, *xs):
        q, k, v = (xs[0],) * 3 if len(xs) == 1 else xs
        return m(q, k, v, **fwd)
    yd, _ = compare(d_mod, t_mod, inputs, call)
    if fwd.get("need_weights", True):
        # S keys, plus bias_k and the zero key when asked for
        s = (5 if kind == "cross" else 4) + (2 if ctor.get("add_bias_kv") else 0)
        heads = () if fwd.get("average_attn_weights", True) else (2,)
        assert tuple(yd[1].shape) == (2,) + heads + (4, s)


@pytest.mark.parametrize("mask_kind", ["bool", "float", "bool3d", "padding_bool",
                                       "padding_and_attn"])
def test_mha_masks(backend, mask_kind):
    torch.manual_seed(1)
    t_mod, d_mod = tnn.MultiheadAttention(8, 2), nn.MultiheadAttention(8, 2)
    r = np.random.RandomState(7)
    kw = {}
    if mask_kind in ("bool", "padding_and_attn"):
        m = r.rand(4, 4) > 0.6
        np.fill_diagonal(m, False)
        kw["attn_mask"] = m
    elif mask_kind == "float":
        kw["attn_mask"] = rand(4, 4, seed=8)
    elif mask_kind == "bool3d":
        m = r.rand(4, 4, 4) > 0.6
        m[:, :, 0] = False
        kw["attn_mask"] = m
    if mask_kind.startswith("padding"):
        kp = np.zeros((2, 4), dtype=bool)
        kp[1, 3] = kp[0, 2] = True
        kw["key_padding_mask"] = kp

    def call(m, x):
        conv = tt if m is t_mod else dm
        return m(x, x, x, **{k: conv(v) for k, v in kw.items()})
    compare(d_mod, t_mod, [rand(4, 2, 8)], call)


def test_mha_unbatched_and_state_dict(backend):
    torch.manual_seed(2)
    t_mod, d_mod = tnn.MultiheadAttention(6, 3), nn.MultiheadAttention(6, 3)
    assert list(d_mod.state_dict()) == list(t_mod.state_dict())
    compare(d_mod, t_mod, [rand(4, 6)], lambda m, x: m(x, x, x))
    # distml -> torch
    t2 = tnn.MultiheadAttention(6, 3)
    t2.load_state_dict({k: torch.tensor(np.array(v.tolist(), dtype=np.float32))
                        for k, v in d_mod.state_dict().items()})
    x = rand(4, 1, 6)
    close(d_mod(dm(x), dm(x), dm(x))[0], t2(tt(x).float(), tt(x).float(), tt(x).float())[0])


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    x = distml.zeros(4, 2, 8)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8"):
        m(distml.zeros(4, 2, 6), x, x)
    with pytest.raises(RuntimeError, match="shape of the 2D attn_mask"):
        m(x, x, x, attn_mask=distml.zeros(3, 3))
    with pytest.raises(AssertionError, match="key_padding_mask shape"):
        m(x, x, x, key_padding_mask=distml.zeros(2, 3).bool())
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        m(x, x, x, is_causal=True)


# -- transformer ---------------------------------------------------------------------------

LAYER_CASES = [
    ("post_norm", {}),
    ("pre_norm_gelu_bf", {"norm_first": True, "activation": "gelu", "batch_first": True}),
    ("nobias", {"bias": False}),
]


@pytest.mark.parametrize("name,kw", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_encoder_layer_matches_torch(backend, name, kw):
    torch.manual_seed(3)
    args = (8, 2, 16, 0.0)
    t_mod = tnn.TransformerEncoderLayer(*args, **kw)
    d_mod = nn.TransformerEncoderLayer(*args, **kw)
    x = rand(2, 5, 8) if kw.get("batch_first") else rand(5, 2, 8)
    mask = tnn.Transformer.generate_square_subsequent_mask(5)

    def call(m, x):
        if m is t_mod:
            return m(x, src_mask=mask.double(), is_causal=True)
        return m(x, src_mask=nn.Transformer.generate_square_subsequent_mask(5), is_causal=True)
    compare(d_mod, t_mod, [x], call)


@pytest.mark.parametrize("name,kw", LAYER_CASES[:2], ids=[c[0] for c in LAYER_CASES[:2]])
def test_decoder_layer_matches_torch(backend, name, kw):
    torch.manual_seed(4)
    t_mod = tnn.TransformerDecoderLayer(8, 2, 16, 0.0, **kw)
    d_mod = nn.TransformerDecoderLayer(8, 2, 16, 0.0, **kw)
    bf = kw.get("batch_first")
    tgt = rand(2, 4, 8) if bf else rand(4, 2, 8)
    mem = rand(2, 5, 8, seed=1) if bf else rand(5, 2, 8, seed=1)
    kp = np.zeros((2, 5), dtype=bool)
    kp[0, 4] = True

    def call(m, tgt, mem):
        conv = tt if m is t_mod else dm
        mask = tnn.Transformer.generate_square_subsequent_mask(4).double() if m is t_mod \
            else nn.Transformer.generate_square_subsequent_mask(4)
        return m(tgt, mem, tgt_mask=mask, memory_key_padding_mask=conv(kp))
    compare(d_mod, t_mod, [tgt, mem], call)


def test_full_transformer_matches_torch(backend):
    torch.manual_seed(5)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=12, dropout=0.0)
    t_mod, d_mod = tnn.Transformer(**kw), nn.Transformer(**kw)
    assert list(d_mod.state_dict()) == list(t_mod.state_dict())

    def call(m, src, tgt):
        mask = m.generate_square_subsequent_mask(3)
        return m(src, tgt, tgt_mask=mask.double() if m is t_mod else mask)
    compare(d_mod, t_mod, [rand(5, 2, 8), rand(3, 2, 8, seed=1)], call)


def test_encoder_stack_with_norm_and_padding(backend):
    torch.manual_seed(6)
    t_layer = tnn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
    d_layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
    t_mod = tnn.TransformerEncoder(t_layer, 2, norm=tnn.LayerNorm(8),
                                   enable_nested_tensor=False)
    d_mod = nn.TransformerEncoder(d_layer, 2, norm=nn.LayerNorm(8))
    kp = np.zeros((2, 5), dtype=bool)
    kp[1, 3:] = True

    def call(m, x):
        return m(x, src_key_padding_mask=(tt if m is t_mod else dm)(kp))
    compare(d_mod, t_mod, [rand(2, 5, 8)], call)


def test_square_subsequent_mask_and_errors():
    m = nn.Transformer.generate_square_subsequent_mask(4)
    ref = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert m.tolist() == ref.tolist()
    t = nn.Transformer(8, 2, 1, 1, 16, 0.0)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        t(distml.zeros(3, 2, 8), distml.zeros(3, 3, 8))
    with pytest.raises(RuntimeError, match="feature number of src and tgt"):
        t(distml.zeros(3, 2, 6), distml.zeros(3, 2, 6))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")


def test_sdpa_grouped_query_attention(backend):
    q, k, v = rand(1, 4, 3, 5), rand(1, 2, 6, 5, seed=1), rand(1, 2, 6, 5, seed=2)
    qt, kt, vt = (tt(a, requires_grad=True) for a in (q, k, v))
    qd, kd, vd = (dm(a, requires_grad=True) for a in (q, k, v))
    yt = TF.scaled_dot_product_attention(qt, kt, vt, enable_gqa=True, is_causal=True)
    yd = F.scaled_dot_product_attention(qd, kd, vd, enable_gqa=True, is_causal=True)
    close(yd, yt, what="forward")
    yt.sum().backward()
    yd.sum().backward()
    close(kd.grad, kt.grad, what="grad k")
    close(vd.grad, vt.grad, what="grad v")
