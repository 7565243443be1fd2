"""Small training programs, written once in torch style and run on torch and on distml
(the model code receives the library as `lib`, the way a script ports by changing its
imports): an LSTM language model, a decoder-only GPT with causal attention, a DCGAN, a
super-resolution net with PixelShuffle and a VAE. Same initial weights (torch's state_dict loaded
into distml) and data; the losses of the first steps must match the float64 torch run to
float32 accuracy."""
import numpy as np
import pytest
from nn_reference import torch

import distml

STEPS = 4


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)  # the reference runs alone; the suite shares 2 cores
    yield
    torch.set_num_threads(prev)


def _tensor(lib, a):
    """numpy data -> a tensor of lib; floats as float64 in torch (the reference)."""
    if lib is torch:
        t = torch.from_numpy(np.array(a))
        return t.double() if t.is_floating_point() else t
    return distml.tensor(np.asarray(a))


def _pair(build, seed=0):
    """(torch model in float64, distml model with the same initial weights)."""
    torch.manual_seed(seed)
    t_model = build(torch)
    d_model = build(distml)
    result = d_model.load_state_dict(t_model.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    return t_model.double(), d_model


def _assert_losses_close(d_losses, t_losses, rtol=1e-4):
    np.testing.assert_allclose(d_losses, t_losses, rtol=rtol, atol=1e-6)


# -- an LSTM language model (word_language_model style) ---------------------------------------

def lstm_lm(lib, ntoken=20, ninp=8, nhid=12, nlayers=2):
    nn = lib.nn

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.0)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers)
            self.decoder = nn.Linear(nhid, ntoken)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            decoded = self.decoder(self.drop(output)).view(-1, ntoken)
            return nn.functional.log_softmax(decoded, dim=1), hidden

    return RNNModel()


def _train_lstm_lm(lib, model, data, bptt=5, batch=3):
    nn = lib.nn
    opt = lib.optim.SGD(model.parameters(), lr=0.5)
    hidden = None
    losses = []
    for i in range(STEPS):
        chunk = data[i * bptt:(i + 1) * bptt + 1]
        x, y = _tensor(lib, chunk[:-1]), _tensor(lib, chunk[1:].reshape(-1))
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)  # truncated BPTT
        opt.zero_grad()
        output, hidden = model(x, hidden)
        loss = nn.functional.nll_loss(output, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
        losses.append(loss.item())
    return losses


def test_lstm_language_model_trains_like_torch():
    data = np.random.RandomState(0).randint(0, 20, size=(STEPS * 5 + 1, 3))
    t_model, d_model = _pair(lstm_lm)
    _assert_losses_close(_train_lstm_lm(distml, d_model, data),
                         _train_lstm_lm(torch, t_model, data))


# -- a small GPT (decoder-only, causal attention) ---------------------------------------------

def gpt(lib, vocab=17, block=8, n_embd=16, n_head=2, n_layer=2):
    nn = lib.nn
    F = nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
            k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
            v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(n_embd)
            self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(),
                                     nn.Linear(4 * n_embd, n_embd))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, n_embd)
            self.wpe = nn.Embedding(block, n_embd)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)
            self.wte.weight = self.lm_head.weight  # weight tying, as nanoGPT

        def forward(self, idx, targets):
            b, t = idx.size()
            pos = lib.arange(0, t, dtype=lib.long)
            x = self.wte(idx) + self.wpe(pos)
            for blk in self.h:
                x = blk(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    return GPT()


def _train_gpt(lib, model, data):
    opt = lib.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for i in range(STEPS):
        x, y = _tensor(lib, data[i, :, :-1]), _tensor(lib, data[i, :, 1:])
        opt.zero_grad()
        loss = model(x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_small_gpt_trains_like_torch():
    data = np.random.RandomState(1).randint(0, 17, size=(STEPS, 4, 9))
    t_model, d_model = _pair(gpt)
    _assert_losses_close(_train_gpt(distml, d_model, data), _train_gpt(torch, t_model, data))


# -- a DCGAN (ConvTranspose2d + BatchNorm generator) ------------------------------------------

def dcgan(lib, nz=6, ngf=4, ndf=4, nc=3):
    nn = lib.nn
    netG = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False), nn.Tanh())       # 16 x 16
    netD = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    return nn.ModuleDict({"G": netG, "D": netD})


def _train_dcgan(lib, model, real, noise):
    nn = lib.nn
    G, D = model["G"], model["D"]
    criterion = nn.BCELoss()
    optD = lib.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optG = lib.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    losses = []
    for i in range(STEPS):
        x, z = _tensor(lib, real[i]), _tensor(lib, noise[i])
        ones, zeros = lib.full((x.size(0),), 1.0), lib.full((x.size(0),), 0.0)
        if lib is torch:
            ones, zeros = ones.double(), zeros.double()
        D.zero_grad()
        err_real = criterion(D(x).view(-1), ones)
        err_real.backward()
        fake = G(z)
        err_fake = criterion(D(fake.detach()).view(-1), zeros)
        err_fake.backward()
        optD.step()
        G.zero_grad()
        errG = criterion(D(fake).view(-1), ones)
        errG.backward()
        optG.step()
        losses += [(err_real + err_fake).item(), errG.item()]
    return losses


def test_dcgan_trains_like_torch():
    r = np.random.RandomState(2)
    real = np.tanh(r.randn(STEPS, 4, 3, 16, 16)).astype(np.float32)
    noise = r.randn(STEPS, 4, 6, 1, 1).astype(np.float32)
    t_model, d_model = _pair(dcgan)
    d_losses, t_losses = _train_dcgan(distml, d_model, real, noise), \
        _train_dcgan(torch, t_model, real, noise)
    np.testing.assert_allclose(d_losses, t_losses, rtol=2e-4, atol=1e-6)


# -- a super-resolution net (PixelShuffle) ----------------------------------------------------

def super_resolution(lib, upscale=2):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 16, 5, 1, 2)
            self.conv2 = nn.Conv2d(16, 16, 3, 1, 1)
            self.conv3 = nn.Conv2d(16, 8, 3, 1, 1)
            self.conv4 = nn.Conv2d(8, upscale ** 2, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(upscale)

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            return self.pixel_shuffle(self.conv4(x))

    return Net()


def _train_sr(lib, model, low, high):
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    criterion = lib.nn.MSELoss()
    losses = []
    for i in range(STEPS):
        opt.zero_grad()
        loss = criterion(model(_tensor(lib, low[i])), _tensor(lib, high[i]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_super_resolution_trains_like_torch():
    r = np.random.RandomState(3)
    high = r.rand(STEPS, 2, 1, 12, 12).astype(np.float32)
    low = high.reshape(STEPS, 2, 1, 6, 2, 6, 2).mean((4, 6))
    t_model, d_model = _pair(super_resolution)
    _assert_losses_close(_train_sr(distml, d_model, low, high),
                         _train_sr(torch, t_model, low, high))


# -- a variational autoencoder (pytorch/examples' vae style) ---------------------------------

def vae(lib, n_in=36, n_hidden=20, n_latent=4):
    nn = lib.nn

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(n_in, n_hidden)
            self.fc21 = nn.Linear(n_hidden, n_latent)
            self.fc22 = nn.Linear(n_hidden, n_latent)
            self.fc3 = nn.Linear(n_latent, n_hidden)
            self.fc4 = nn.Linear(n_hidden, n_in)

        def forward(self, x, eps):
            h = nn.functional.relu(self.fc1(x.view(-1, n_in)))
            mu, logvar = self.fc21(h), self.fc22(h)
            z = mu + eps * lib.exp(0.5 * logvar)  # the reparameterisation trick
            recon = lib.sigmoid(self.fc4(nn.functional.relu(self.fc3(z))))
            return recon, mu, logvar

    return VAE()


def _train_vae(lib, model, data, noise):
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for i in range(STEPS):
        x = _tensor(lib, data[i])
        opt.zero_grad()
        recon, mu, logvar = model(x, _tensor(lib, noise[i]))
        bce = lib.nn.functional.binary_cross_entropy(recon, x.view(-1, 36), reduction="sum")
        kld = -0.5 * lib.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_vae_trains_like_torch():
    r = np.random.RandomState(4)
    data = r.rand(STEPS, 5, 1, 6, 6).astype(np.float32)  # pixel intensities in [0, 1)
    noise = r.randn(STEPS, 5, 4).astype(np.float32)  # the eps of reparameterisation
    t_model, d_model = _pair(vae)
    _assert_losses_close(_train_vae(distml, d_model, data, noise),
                         _train_vae(torch, t_model, data, noise))


@pytest.mark.parametrize("build", [lstm_lm, gpt, dcgan, super_resolution, vae])
def test_state_dict_round_trip_to_torch(build):
    """distml's freshly initialised weights load into the torch model and back."""
    distml.manual_seed(4)
    d_model = build(distml)
    t_model = build(torch)
    t_model.load_state_dict({k: torch.tensor(np.array(v.tolist(), dtype=np.float32))
                             for k, v in d_model.state_dict().items()})
    back = build(distml)
    back.load_state_dict(t_model.state_dict())
    for k, v in d_model.state_dict().items():
        assert back.state_dict()[k].tolist() == v.tolist(), k
