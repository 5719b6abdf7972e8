#!/usr/bin/python3
"""Loads a checkpoint written by `nnbench train` into the PyTorch model with
load_state_dict(strict=True) and prints its test accuracy and mean
cross-entropy loss on Fashion-MNIST, to compare with `nnbench eval`. Needs Debian's python3-torch:
    /usr/bin/python3 scripts/check_checkpoint.py mlp run.safetensors"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnb_torch_models import MODELS, load_safetensors, test_accuracy  # noqa: E402

if len(sys.argv) != 3 or sys.argv[1] not in MODELS:
    sys.exit(f"usage: {sys.argv[0]} {{{','.join(MODELS)}}} FILE.safetensors")
model = MODELS[sys.argv[1]]()
state = load_safetensors(sys.argv[2])
model.load_state_dict(state, strict=True)
model.eval()
accuracy, loss, n = test_accuracy(model)
print(f"loaded {len(state)} tensors with load_state_dict(strict=True); "
      f"test accuracy {accuracy:.4f}, mean loss {loss:.4f} on {n} images")
