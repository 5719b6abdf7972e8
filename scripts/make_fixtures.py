#!/usr/bin/python3
"""Writes, for each reference model, into tests/fixtures/pytorch/:
- <model>.safetensors: a PyTorch state dict and nothing else, a checkpoint
  `nnbench eval` loads as it loads any (seeded PyTorch-default
  initialisation, biases nudged so none is zero); its metadata holds
  PyTorch's accuracy and mean cross-entropy loss of it on Fashion-MNIST's
  test split (`pytorch_test_accuracy`, `pytorch_test_mean_loss`,
  `test_images`), which the tests reproduce through nnbench's evaluation;
- <model>.io.safetensors: `input` (4 images, [4,1,28,28] in [0,1]) and
  `expected_logits` ([4,10]) computed by PyTorch, which the tests must
  reproduce.
The tests need no Python. Run by hand (needs Debian's python3-torch and
dataset-fashion-mnist):  /usr/bin/python3 scripts/make_fixtures.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnb_torch_models import MODELS, save_safetensors, test_accuracy  # noqa: E402

out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pytorch")
os.makedirs(out_dir, exist_ok=True)
for i, (name, cls) in enumerate(MODELS.items()):
    torch.manual_seed(1000 + i)
    model = cls().eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("bias") or pname == "pos" or "norm" in pname:
                p.add_(0.05 * torch.randn_like(p))  # zero-initialised tensors would test nothing
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    made_by = f"torch {torch.__version__}"
    accuracy, loss, n = test_accuracy(model)
    path = os.path.join(out_dir, f"{name}.safetensors")
    save_safetensors(path, dict(model.state_dict()),
                     {"made_by": made_by, "model": name, "pytorch_test_accuracy": f"{accuracy:.4f}",
                      "pytorch_test_mean_loss": f"{loss:.9g}", "test_images": str(n)})
    io_path = os.path.join(out_dir, f"{name}.io.safetensors")
    save_safetensors(io_path, {"input": x, "expected_logits": logits}, {"made_by": made_by, "model": name})
    print(f"{path}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"PyTorch's test accuracy {accuracy:.4f}, mean loss {loss:.4f}")
