#!/usr/bin/python3
"""Writes tests/fixtures/pytorch/<model>.safetensors: a PyTorch state dict of
each reference model (seeded PyTorch-default initialisation, biases nudged so
none is zero) plus `input` (4 images, [4,1,28,28] in [0,1]) and
`expected_logits` ([4,10]) computed by PyTorch. The tests load these and must
reproduce the logits; they need no Python. Run by hand (needs Debian's
python3-torch):  /usr/bin/python3 scripts/make_fixtures.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnb_torch_models import MODELS, save_safetensors  # noqa: E402

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
    tensors = dict(model.state_dict())
    tensors["input"] = x
    tensors["expected_logits"] = logits
    path = os.path.join(out_dir, f"{name}.safetensors")
    save_safetensors(path, tensors, {"made_by": f"torch {torch.__version__}", "model": name})
    print(f"{path}: {sum(p.numel() for p in model.parameters())} parameters")
