#!/usr/bin/python3
"""Loads a checkpoint written by `nnbench train` into the PyTorch model with
load_state_dict(strict=True) and prints its test accuracy and mean
cross-entropy loss on Fashion-MNIST, to compare with `nnbench eval`. Needs Debian's python3-torch:
    /usr/bin/python3 scripts/check_checkpoint.py mlp run.safetensors"""
import gzip
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnb_torch_models import MODELS, load_safetensors  # noqa: E402

if len(sys.argv) != 3 or sys.argv[1] not in MODELS:
    sys.exit(f"usage: {sys.argv[0]} {{{','.join(MODELS)}}} FILE.safetensors")
model = MODELS[sys.argv[1]]()
state = load_safetensors(sys.argv[2])
model.load_state_dict(state, strict=True)
model.eval()
root = "/usr/share/datasets/fashion-mnist"
with gzip.open(f"{root}/t10k-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
with gzip.open(f"{root}/t10k-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read()[8:], np.uint8).astype(np.int64)
with torch.no_grad():
    logits = torch.cat([model(torch.from_numpy(x[i:i + 500])) for i in range(0, len(x), 500)])
    loss = torch.nn.functional.cross_entropy(logits.double(), torch.from_numpy(y)).item()
accuracy = (logits.argmax(1).numpy() == y).mean()
print(f"loaded {len(state)} tensors with load_state_dict(strict=True); "
      f"test accuracy {accuracy:.4f}, mean loss {loss:.4f} on {len(y)} images")
