"""Attention: scaled_dot_product_attention and multi_head_attention_forward (torch's math).

Composed from matmul, softmax and where, so every backend has them. Masks follow torch:
in scaled_dot_product_attention a bool mask is True where attention is allowed; in
multi_head_attention_forward bool masks are True where it is NOT allowed (torch's
historical convention). Float masks are added to the scores in both.
"""
import math
import warnings

from ...dtypes import bool_
from ..._tensor import arange, cat, zeros
from ._utils import _check_tensor
from .dropout import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _causal_allowed(L, S, device):
    """(L, S) bool, True on and below the diagonal (torch's tril(ones(L, S)))."""
    return arange(L, device=device).unsqueeze(1) >= arange(S, device=device).unsqueeze(0)


def _as_additive(mask, like):
    """A bool 'not allowed' mask as 0 / -inf scores; a float mask unchanged."""
    if mask.dtype is bool_:
        return zeros(mask.shape, dtype=like.dtype, device=like.device).masked_fill(
            mask, float("-inf"))
    return mask


def _repeat_heads(x, heads):
    """(..., Hk, S, E) -> (..., heads, S, E), each key/value head repeated in place (GQA)."""
    hk = x.shape[-3]
    if heads % hk:
        raise RuntimeError(f"scaled_dot_product_attention: number of query heads ({heads}) "
                           f"must be divisible by number of key/value heads ({hk})")
    lead, tail = tuple(x.shape[:-3]), tuple(x.shape[-2:])
    return x.unsqueeze(-3).expand(lead + (hk, heads // hk) + tail).reshape(
        lead + (heads,) + tail)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q @ k^T * scale + mask) @ v over the last two dims of (..., L, E) inputs."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, name)
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must be at least 2-D, "
                               f"got shape {list(t.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same "
                           f"embedding size, got {query.shape[-1]} and {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length, got {key.shape[-2]} and {value.shape[-2]}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        key, value = _repeat_heads(key, query.shape[-3]), _repeat_heads(value, query.shape[-3])
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        scores = scores.masked_fill(~_causal_allowed(L, S, query.device), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype is bool_:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


def _allow_one_more_key(attn_mask, key_padding_mask, like):
    """The masks extended by one unmasked key (bias_k or the zero key of add_zero_attn)."""
    def extend(mask):
        if mask is None:
            return None
        mask = _as_additive(mask, like)
        return cat([mask, zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype,
                                device=mask.device)], -1)
    return extend(attn_mask), extend(key_padding_mask)


def _check_mask_types(key_padding_mask, attn_mask):
    if key_padding_mask is not None and attn_mask is not None and \
            (key_padding_mask.dtype is bool_) != (attn_mask.dtype is bool_):
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. "
                      "Use same type for both instead.", stacklevel=4)


def _project_qkv(query, key, value, E, in_proj_weight, in_proj_bias, separate, q_w, k_w, v_w):
    if not separate and in_proj_weight is None:
        raise RuntimeError("use_separate_proj_weight is False but in_proj_weight is None")
    if not separate and query is key and key is value:
        # self-attention: one (L*N, E) @ (E, 3E) product, as torch
        qkv = linear(query, in_proj_weight, in_proj_bias)
        return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
    weights = (q_w, k_w, v_w) if separate else \
        (in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:])
    biases = (None,) * 3 if in_proj_bias is None else \
        (in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:])
    return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """torch's multi-head attention on sequence-first input: query (L, N, E) or (L, E),
    key/value (S, N, kdim/vdim) or (S, kdim/vdim). Returns (output, weights or None)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, name)
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k/static_v are not "
                                  "supported in distml")
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"query, key and value must all be 2-D (unbatched) or 3-D "
                             f"(batched), got {query.ndim}-D, {key.ndim}-D and "
                             f"{value.ndim}-D")
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    S = key.shape[0]
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {E}")
    if E % num_heads:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    if key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"key shape {list(key.shape)} does not match value shape "
                             f"{list(value.shape)}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    _check_mask_types(key_padding_mask, attn_mask)
    head_dim = E // num_heads
    q, k, v = _project_qkv(query, key, value, E, in_proj_weight, in_proj_bias,
                           use_separate_proj_weight, q_proj_weight, k_proj_weight,
                           v_proj_weight)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)},"
                                   f" but should be {(L, S)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (N * num_heads, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)},"
                                   f" but should be {(N * num_heads, L, S)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
        attn_mask = _as_additive(attn_mask, q)
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.expand(1, N, E)])
        v = cat([v, bias_v.expand(1, N, E)])
        attn_mask, key_padding_mask = _allow_one_more_key(attn_mask, key_padding_mask, q)
    # (L, N, E) -> (N, heads, L, head_dim)
    q = q.reshape(L, N * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], N * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], N * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        k = cat([k, zeros((N * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)], 1)
        v = cat([v, zeros((N * num_heads, 1, head_dim), dtype=v.dtype, device=v.device)], 1)
        attn_mask, key_padding_mask = _allow_one_more_key(attn_mask, key_padding_mask, q)
    S = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (N, S):
            raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = _as_additive(key_padding_mask, q).reshape(N, 1, 1, S).expand(
            N, num_heads, 1, S).reshape(N * num_heads, 1, S)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    scores = (q * (1.0 / math.sqrt(head_dim))) @ k.transpose(-2, -1)     # (N*h, L, S)
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = scores.softmax(-1)
    if training and dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    out = (weights @ v).transpose(0, 1).reshape(L * N, E)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(L, N, E)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(N, num_heads, L, S)
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        weights = weights.squeeze(0)
    return out, weights
