"""distml.save/load: safetensors files that torch reads and writes, atomic, checked."""
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import distml


def test_flat_state_dict_interop_with_torch(tmp_path):
    sd = {"w": distml.randn(3, 4), "b": distml.arange(5), "m": distml.tensor([True, False])}
    distml.save(sd, tmp_path / "a.safetensors")
    loaded = load_file(tmp_path / "a.safetensors")
    assert loaded["w"].dtype == torch.float32 and loaded["b"].dtype == torch.int64
    np.testing.assert_array_equal(loaded["w"].numpy(), sd["w"].numpy())
    assert loaded["b"].tolist() == list(range(5)) and loaded["m"].tolist() == [True, False]

    save_file({"x": torch.randn(2, 3), "h": torch.randn(4).half(), "i": torch.arange(3).int()},
              tmp_path / "b.safetensors")
    back = distml.load(tmp_path / "b.safetensors")
    ref = load_file(tmp_path / "b.safetensors")
    np.testing.assert_array_equal(back["x"].numpy(), ref["x"].numpy())
    np.testing.assert_array_equal(back["h"].numpy(), ref["h"].float().numpy())
    assert back["i"].dtype is distml.int64 and back["i"].tolist() == [0, 1, 2]


def test_nested_objects_roundtrip(tmp_path):
    obj = {"epoch": 3, "model": {"w": distml.ones(2)}, "hist": [1.5, None, "x"],
           "state": {0: {"step": 2.0, "buf": distml.zeros(2)}}, "betas": (0.9, 0.99)}
    distml.save(obj, tmp_path / "c.safetensors")
    back = distml.load(tmp_path / "c.safetensors")
    assert back["epoch"] == 3 and back["hist"] == [1.5, None, "x"]
    assert back["model"]["w"].tolist() == [1.0, 1.0]
    assert back["state"][0]["step"] == 2.0 and back["betas"] == (0.9, 0.99)


def test_save_is_atomic_and_rejects_unknown_values(tmp_path):
    path = tmp_path / "d.safetensors"
    distml.save({"w": distml.ones(2)}, path)
    with pytest.raises(TypeError, match="cannot store a value of type function.*pickling"):
        distml.save({"w": distml.ones(2), "bad": lambda: 0}, path)
    assert distml.load(path)["w"].tolist() == [1.0, 1.0]  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["d.safetensors"]


def test_load_rejects_garbage(tmp_path):
    path = tmp_path / "e.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(ValueError):
        distml.load(path)


def test_whole_objects_are_pickled_and_load_only_with_weights_only_false(tmp_path):
    # torch.save(model, f) pickles; torch.load refuses pickles unless weights_only=False
    model = distml.nn.Sequential(distml.nn.Linear(3, 2), distml.nn.ReLU())
    path = tmp_path / "model.pt"
    distml.save(model, path)
    with pytest.raises(ValueError, match="pickled object.*weights_only=False") as err:
        distml.load(path)
    assert "\n" not in str(err.value)
    back = distml.load(path, weights_only=False)
    assert type(back) is distml.nn.Sequential
    assert type(back[0].weight) is distml.nn.Parameter and back[0].weight.requires_grad
    x = distml.randn(4, 3)
    assert back(x).tolist() == model(x).tolist()
