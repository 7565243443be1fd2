"""Device selection as scripts write it: accelerator, cuda, backends flags, nn.parallel."""
import numpy as np
import pytest
import torch

import distml


def test_accelerator_answers_like_torch_without_one():
    # on CPython there is no WebGL: the same answers torch gives on a GPU-less machine
    assert distml.accelerator.is_available() is torch.accelerator.is_available() is False
    assert distml.accelerator.current_accelerator() is None
    assert distml.accelerator.device_count() == 0
    for fn in (distml.accelerator.synchronize, distml.accelerator.current_device_index,
               distml.accelerator.empty_cache):
        with pytest.raises(RuntimeError, match="none is available"):
            fn()


def test_accelerator_names_webgl_where_it_works(monkeypatch):
    monkeypatch.setattr(distml.webgl, "is_available", lambda: True)
    dev = distml.accelerator.current_accelerator()
    assert isinstance(dev, distml.device) and dev.type == "webgl"
    assert distml.accelerator.device_count() == 1
    assert distml.accelerator.current_device_index() == 0
    distml.accelerator.synchronize()
    distml.accelerator.set_device_index(0)
    distml.accelerator.synchronize("webgl:0")
    for bad in (1, "webgl:1", "cpu"):
        with pytest.raises(ValueError, match="webgl:0"):
            distml.accelerator.set_device_index(bad)


def test_mnist_example_device_pattern():
    # pytorch/examples mnist, imports changed only
    no_accel = False
    use_accel = not no_accel and distml.accelerator.is_available()
    device = distml.accelerator.current_accelerator() if use_accel else distml.device("cpu")
    model = distml.nn.Linear(4, 2).to(device)
    x = distml.ones(3, 4).to(device)
    assert model(x).device == distml.device("cpu")
    assert x.to(None) is x


def test_cuda_is_honestly_absent():
    assert distml.cuda.is_available() is False and distml.cuda.device_count() == 0
    distml.cuda.manual_seed(1)
    distml.cuda.manual_seed_all(1)
    distml.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="no CUDA device"):
        distml.cuda.current_device()
    t = distml.ones(2)
    assert t.is_cuda is False and t.is_cpu is True
    assert torch.ones(2).is_cuda is False and torch.ones(2).is_cpu is True


def test_backend_flags_read_and_set():
    cudnn = distml.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == \
        (torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark,
         torch.backends.cudnn.deterministic)
    assert cudnn.is_available() is False and cudnn.version() is None
    before = cudnn.benchmark, cudnn.deterministic
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert distml.backends.cudnn.benchmark and distml.backends.cudnn.deterministic
    finally:
        cudnn.benchmark, cudnn.deterministic = before
    assert distml.backends.mps.is_available() is False


def test_data_parallel_calls_the_module_with_torch_keys():
    distml.manual_seed(0)
    inner = distml.nn.Linear(3, 2)
    tinner = torch.nn.Linear(3, 2)
    tinner.load_state_dict({k: torch.tensor(v.numpy()) for k, v in inner.state_dict().items()})
    dp, tdp = distml.nn.DataParallel(inner), torch.nn.DataParallel(tinner)
    assert list(dp.state_dict()) == list(tdp.state_dict()) == ["module.weight", "module.bias"]
    assert dp.device_ids == tdp.device_ids == []
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(dp(distml.tensor(x)).detach().numpy(),
                               tdp(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    assert distml.nn.parallel.DataParallel is distml.nn.DataParallel
    with pytest.raises(RuntimeError, match="distml.distributed"):
        distml.nn.parallel.DistributedDataParallel(inner)


NO_NUMPY = """
import sys
sys.modules["numpy"] = None  # any `import numpy` now raises ImportError
import distml
from distml.distributions import Bernoulli, Categorical, Normal
from distml.utils.data.distributed import DistributedSampler
from distml.utils.data.sampler import RandomSampler
assert distml.accelerator.current_accelerator() is None and not distml.cuda.is_available()
distml.backends.cudnn.benchmark = True
c = Categorical(logits=distml.tensor([0.0, 1.0]))
assert c.sample((5,)).shape == (5,) and c.entropy().item() > 0
assert Normal(0.0, 1.0).log_prob(distml.tensor(0.0)).item() < 0
assert Bernoulli(probs=distml.tensor([0.5])).sample().shape == (1,)
w = distml.tensor([1.0, -1.0], requires_grad=True)
for name in ("RMSprop", "Adagrad", "Adadelta", "LBFGS"):
    opt = getattr(distml.optim, name)([w])
    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    opt.step(closure)
assert len(list(RandomSampler(range(3), replacement=True, num_samples=7))) == 7
assert list(DistributedSampler(range(4), 2, 1, shuffle=False)) == [1, 3]
assert "numpy" not in [m for m in sys.modules if sys.modules[m] is not None]
"""


def test_new_modules_work_without_numpy():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", NO_NUMPY], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def test_nanogpt_style_precision_settings_run_in_float32():
    # karpathy/nanoGPT's train.py on a machine without CUDA, imports changed only
    torch_ = distml
    torch_.backends.cuda.matmul.allow_tf32 = True
    torch_.backends.cudnn.allow_tf32 = True
    assert torch_.backends.cuda.matmul.allow_tf32 and not torch_.backends.cuda.is_built()
    torch_.backends.cuda.matmul.allow_tf32 = False
    assert not torch_.cuda.is_bf16_supported()
    dtype = "bfloat16" if torch_.cuda.is_available() and torch_.cuda.is_bf16_supported() \
        else "float16"
    with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
        scaler = torch_.cuda.amp.GradScaler(enabled=(dtype == "float16"))
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0
    with pytest.warns(UserWarning, match="float32 only"):
        ctx = torch_.amp.autocast(device_type="cpu", dtype=None)
    w = distml.tensor([1.0, 2.0], requires_grad=True)
    opt = distml.optim.SGD([w], lr=0.5)
    with ctx:
        loss = (w * w).sum()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [0.0, 0.0]
    assert distml.amp.GradScaler(enabled=False).state_dict() == {}


def test_other_torch_modules_scripts_import_say_what_is_missing():
    t = distml.ones(2)
    assert (t.is_xpu, t.is_mps) == (False, False) == (torch.ones(2).is_xpu,
                                                       torch.ones(2).is_mps)
    onnx = distml.onnx  # loaded on first use, as torch.onnx
    assert onnx.is_in_onnx_export() is False
    with pytest.raises(NotImplementedError, match="does not export ONNX"):
        onnx.export(distml.nn.Linear(2, 2), t, "m.onnx")
    from distml.distributed import destroy_process_group, init_process_group, is_initialized
    assert is_initialized() is False and distml.distributed.is_available() is False
    for call in (lambda: init_process_group(backend="gloo"), destroy_process_group,
                 distml.distributed.get_rank):
        with pytest.raises(RuntimeError, match="process group") as err:
            call()
        assert "\n" not in str(err.value)
