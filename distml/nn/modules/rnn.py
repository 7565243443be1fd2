"""Recurrent layers: RNN (tanh/relu), LSTM, GRU and their single-step cells.

torch's parameter names, shapes, gate order (LSTM i, f, g, o; GRU r, z, n) and
initialisation (every weight and bias uniform in +-1/sqrt(hidden_size)), so state_dicts
load both ways. The input projection of a whole sequence is one matmul per layer and
direction; only the hidden-to-hidden product runs step by step.
"""
import math
import warnings

from ..._tensor import Tensor, cat, empty, stack, zeros
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# -- one time step (gi = W_ih x + b_ih, precomputed) -------------------------------------------

def _rnn_step(gi, h, w_hh, b_hh, relu):
    pre = gi + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(gi, state, w_hh, b_hh, w_hr=None):
    h, c = state
    gates = gi + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else F.linear(h, w_hr)), c    # proj_size: h = W_hr h


def _gru_step(gi, h, w_hh, b_hh):
    gh = F.linear(h, w_hh, b_hh)
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)   # (1 - z) * n + z * h


def _check_state(h, shape, name):
    if tuple(h.shape) != tuple(shape):
        raise RuntimeError(f"Expected {name} size {tuple(shape)}, got {tuple(h.shape)}")


class RNNBase(Module):
    """The shared multi-layer, optionally bidirectional recurrence of RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or \
                not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be a positive integer" if
                             isinstance(hidden_size, int) else
                             f"hidden_size should be of type int, got: "
                             f"{type(hidden_size).__name__}")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than or equal to 1")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        self._all_weights = []
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        real_hidden = proj_size or hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                    names.append(name)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """No-op (cuDNN's contiguous weight buffer does not exist here)."""

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward ---------------------------------------------------------------------------
    def _layer_weights(self, layer, direction):
        """(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr), None for the absent ones."""
        names = self._all_weights[layer * (2 if self.bidirectional else 1) + direction]
        by_kind = {n.split("_l")[0]: getattr(self, n) for n in names}
        return tuple(by_kind.get(k) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                              "weight_hr"))

    def _step(self, gi, state, w_hh, b_hh, w_hr):
        if self.mode == "LSTM":
            return _lstm_step(gi, state, w_hh, b_hh, w_hr)
        if self.mode == "GRU":
            return _gru_step(gi, state, w_hh, b_hh)
        return _rnn_step(gi, state, w_hh, b_hh, self.mode == "RNN_RELU")

    def _run_direction(self, x, state, layer, direction):
        """x (L, N, in) -> outputs (L, N, H) and the final state of one direction."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(layer, direction)
        seq = x.shape[0]
        gi_all = F.linear(x, w_ih, b_ih)                        # (L, N, gates*H), one matmul
        steps = range(seq - 1, -1, -1) if direction == 1 else range(seq)
        outs = [None] * seq
        for t in steps:
            state = self._step(gi_all[t], state, w_hh, b_hh, w_hr)
            outs[t] = state[0] if self.mode == "LSTM" else state
        return stack(outs), state

    def _check_input(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a distml.Tensor, not "
                            f"{type(input).__name__} (packed sequences are not supported)")
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def forward(self, input, hx=None):
        self._check_input(input)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        n = x.shape[1]
        directions = 2 if self.bidirectional else 1
        # h has proj_size features when projecting, c always hidden_size
        shapes = [(self.num_layers * directions, n, self.proj_size or self.hidden_size),
                  (self.num_layers * directions, n, self.hidden_size)]
        lstm = self.mode == "LSTM"
        if hx is None:
            h0, c0 = (zeros(s, dtype=x.dtype, device=x.device) for s in shapes)
            hx = (h0, c0) if lstm else h0
        else:
            if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
            parts = tuple(hx) if lstm else (hx,)
            for part, name, shape in zip(parts, ("hx", "cx"), shapes):
                want = shape if batched else (shape[0], shape[2])
                if part.ndim != len(want):
                    raise RuntimeError(f"For {'batched' if batched else 'unbatched'} "
                                       f"{len(want)}-D input, {name} should also be "
                                       f"{len(want)}-D but got {part.ndim}-D tensor")
                _check_state(part, want, "hidden" if name == "hx" else "cell")
            if not batched:
                parts = tuple(p.unsqueeze(1) for p in parts)
            hx = parts if lstm else parts[0]
        finals_h, finals_c = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                state = (hx[0][k], hx[1][k]) if lstm else hx[k]
                out, state = self._run_direction(layer_in, state, layer, direction)
                outs.append(out)
                finals_h.append(state[0] if lstm else state)
                if lstm:
                    finals_c.append(state[1])
            layer_in = outs[0] if directions == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = stack(finals_h)
        c_n = stack(finals_c) if lstm else None
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        return (output, (h_n, c_n)) if lstm else (output, h_n)


class RNN(RNNBase):
    """Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None,
                 dtype=None):
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory; returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (torch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn)))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# -- cells ------------------------------------------------------------------------------------

class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), device=device,
                                         dtype=dtype))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size),
                                         device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, device=device,
                                           dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, device=device,
                                           dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a distml.Tensor, not "
                            f"{type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D "
                             "instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        if hx is None:
            states = [zeros(shape, dtype=x.dtype, device=x.device) for _ in range(n_states)]
        else:
            states = list(hx) if n_states == 2 else [hx]
            if n_states == 2 and len(states) != 2:
                raise RuntimeError(f"{name}: hx must be a tuple (h_0, c_0)")
            for i, s in enumerate(states):
                if s.ndim != input.ndim:
                    raise ValueError(f"{name}: Expected hidden to be {input.ndim}D, got "
                                     f"{s.ndim}D instead")
                s = s if batched else s.unsqueeze(0)
                _check_state(s, shape, "hidden" if i == 0 else "cell")
                states[i] = s
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        return gi, states, batched


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        gi, (h,), batched = self._prepare(input, hx, 1)
        h = _rnn_step(gi, h, self.weight_hh, self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        gi, (h, c), batched = self._prepare(input, hx, 2)
        h, c = _lstm_step(gi, (h, c), self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        gi, (h,), batched = self._prepare(input, hx, 1)
        h = _gru_step(gi, h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
