"""RNN, LSTM, GRU and their cells against torch: outputs, final states, input, state and
parameter gradients, state_dicts both ways, and clear errors on bad input."""
import numpy as np
import pytest
from nn_reference import compare, dm, rand, torch

import distml
import distml.nn as nn

tnn = torch.nn


LAYER_CASES = [
    # id, constructor (torch and distml share the signature), batch_first
    ("rnn_tanh", lambda m: m.RNN(3, 4), False),
    ("rnn_relu_2layers", lambda m: m.RNN(3, 4, 2, nonlinearity="relu"), False),
    ("rnn_nobias_bf", lambda m: m.RNN(3, 4, bias=False, batch_first=True), True),
    ("lstm", lambda m: m.LSTM(3, 5), False),
    ("lstm_2layers_bidir_bf", lambda m: m.LSTM(3, 4, 2, batch_first=True,
                                               bidirectional=True), True),
    ("lstm_proj_2layers_bidir", lambda m: m.LSTM(3, 5, 2, bidirectional=True, proj_size=2),
     False),
    ("lstm_proj_nobias_bf", lambda m: m.LSTM(3, 4, bias=False, batch_first=True,
                                             proj_size=3), True),
    ("gru", lambda m: m.GRU(3, 5), False),
    ("gru_2layers_bidir", lambda m: m.GRU(3, 4, num_layers=2, bidirectional=True), False),
    ("gru_nobias_bf", lambda m: m.GRU(2, 3, bias=False, batch_first=True), True),
]


@pytest.mark.parametrize("name,make,batch_first", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_matches_torch(backend, name, make, batch_first):
    torch.manual_seed(0)
    t_mod, d_mod = make(tnn), make(nn)
    seq, batch, features = 5, 2, d_mod.input_size
    x = rand(batch, seq, features) if batch_first else rand(seq, batch, features)
    compare(d_mod, t_mod, [x])


def test_lstm_proj_initial_state(backend):
    torch.manual_seed(4)
    t_mod, d_mod = tnn.LSTM(3, 5, 2, proj_size=2), nn.LSTM(3, 5, 2, proj_size=2)
    assert list(d_mod.state_dict()) == list(t_mod.state_dict())
    assert repr(d_mod) == repr(t_mod)
    compare(d_mod, t_mod, [rand(4, 2, 3), (rand(2, 2, 2, seed=1), rand(2, 2, 5, seed=2))])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_initial_state_and_unbatched(backend, kind):
    torch.manual_seed(1)
    t_mod, d_mod = getattr(tnn, kind)(3, 4, 2), getattr(nn, kind)(3, 4, 2)
    x = rand(6, 2, 3)
    h0 = rand(2, 2, 4, seed=2)
    state = (h0, rand(2, 2, 4, seed=3)) if kind == "LSTM" else h0
    compare(d_mod, t_mod, [x, state])
    # unbatched: (L, H_in) input and (layers, H) state
    t_mod.zero_grad()
    d_mod.zero_grad()
    state1 = (h0[:, 0], rand(2, 4, seed=3)) if kind == "LSTM" else h0[:, 0]
    compare(d_mod, t_mod, [x[:, 0], state1], load=False)


@pytest.mark.parametrize("kind,nchunks", [("RNNCell", 1), ("LSTMCell", 4), ("GRUCell", 3)])
def test_cells_match_torch(backend, kind, nchunks):
    torch.manual_seed(2)
    t_cell, d_cell = getattr(tnn, kind)(3, 5), getattr(nn, kind)(3, 5)
    assert tuple(d_cell.weight_ih.shape) == (nchunks * 5, 3)
    x = rand(4, 3)
    h = rand(4, 5, seed=2)
    state = (h, rand(4, 5, seed=3)) if kind == "LSTMCell" else h
    compare(d_cell, t_cell, [x, state])
    t_cell.zero_grad()
    d_cell.zero_grad()
    compare(d_cell, t_cell, [x[0]], load=False)  # unbatched, zero state


def test_relu_cell_and_repr():
    t_cell, d_cell = tnn.RNNCell(2, 3, nonlinearity="relu"), nn.RNNCell(2, 3,
                                                                        nonlinearity="relu")
    compare(d_cell, t_cell, [rand(3, 2)])
    assert repr(nn.LSTM(3, 4, 2, batch_first=True)) == repr(tnn.LSTM(3, 4, 2,
                                                                     batch_first=True))
    assert repr(nn.GRUCell(3, 4, bias=False)) == repr(tnn.GRUCell(3, 4, bias=False))


def test_step_by_step_cell_equals_layer():
    """An LSTM layer is its LSTMCell applied along the sequence (same weights)."""
    lstm, cell = nn.LSTM(3, 4), nn.LSTMCell(3, 4)
    for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, n).data = getattr(lstm, n + "_l0").detach()
    x = distml.tensor(rand(5, 2, 3))
    out, (h, c) = lstm(x)
    hc = None
    for t in range(5):
        hc = cell(x[t], hc)
        np.testing.assert_allclose(hc[0].tolist(), out[t].tolist(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hc[1].tolist(), c[0].tolist(), rtol=1e-5, atol=1e-6)


def test_state_dict_round_trip_and_init():
    torch.manual_seed(3)
    d_mod = nn.GRU(4, 6, num_layers=2, bidirectional=True)
    t_mod = tnn.GRU(4, 6, num_layers=2, bidirectional=True)
    sd = d_mod.state_dict()
    assert list(sd) == list(t_mod.state_dict())
    for k, v in sd.items():
        assert tuple(v.shape) == tuple(t_mod.state_dict()[k].shape), k
        # torch's init: every parameter uniform in +-1/sqrt(hidden_size)
        assert max(abs(a) for a in v.reshape(-1).tolist()) <= 1 / 6 ** 0.5
    t_mod.load_state_dict({k: torch.tensor(np.array(v.tolist(), dtype=np.float32))
                           for k, v in sd.items()})
    x = rand(3, 2, 4)
    out_t, h_t = t_mod(torch.from_numpy(x))
    out_d, h_d = d_mod(distml.tensor(x))
    np.testing.assert_allclose(out_d.tolist(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_d.tolist(), h_t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_between_layers_only_in_training():
    distml.manual_seed(0)
    d_mod = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = distml.tensor(rand(4, 2, 3))
    d_mod.eval()
    a = d_mod(x)[0].tolist()
    assert d_mod(x)[0].tolist() == a        # eval: deterministic
    d_mod.train()
    outs = [d_mod(x)[0].tolist() for _ in range(3)]
    assert any(o != a for o in outs)        # training: dropout on layer 0's output
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        single = nn.LSTM(3, 4, num_layers=1, dropout=0.5)
    assert single(x)[0].tolist() == single(x)[0].tolist()  # no dropout after the last layer


def test_bad_input_errors():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(distml.zeros(5, 2, 7))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        lstm(distml.zeros(5))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        lstm(distml.zeros(5, 2, 3), (distml.zeros(1, 3, 4), distml.zeros(1, 3, 4)))
    with pytest.raises(RuntimeError, match="hx must be a tuple"):
        lstm(distml.zeros(5, 2, 3), distml.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(RuntimeError, match="Expected hidden size \\(1, 2, 2\\)"):
        nn.LSTM(3, 4, proj_size=2)(distml.zeros(5, 2, 3), (distml.zeros(1, 2, 4),
                                                           distml.zeros(1, 2, 4)))
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        nn.GRUCell(3, 4)(distml.zeros(2, 5))
    with pytest.raises(TypeError, match="must be a distml.Tensor"):
        nn.RNN(3, 4)([[1.0, 2.0, 3.0]])


def test_torch_cell_state_dict_loads_into_distml():
    t_cell = tnn.LSTMCell(2, 3)
    d_cell = nn.LSTMCell(2, 3)
    d_cell.load_state_dict(t_cell.state_dict())
    x = torch.randn(4, 2)
    h, c = t_cell(x)
    hd, cd = d_cell(dm(x))
    np.testing.assert_allclose(hd.tolist(), h.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cd.tolist(), c.detach().numpy(), rtol=1e-5, atol=1e-6)
