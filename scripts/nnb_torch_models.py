"""The four reference models in PyTorch, exactly as MODELS.md defines them
(the seed preset by default; any size through the constructors' arguments,
named as in nnbench's model specs),
and safetensors read/write in plain Python (Debian ships no safetensors
module), and a model's accuracy on Fashion-MNIST's test split. Used by
make_fixtures.py and check_checkpoint.py; needs Debian's python3-torch."""
import gzip
import json
import struct

import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, hidden=128, layers=1, c=1, h=28, w=28, classes=10):
        super().__init__()
        width, self.n = c * h * w, layers + 1
        for i in range(1, layers + 1):
            setattr(self, f"fc{i}", nn.Linear(width, hidden))
            width = hidden
        setattr(self, f"fc{self.n}", nn.Linear(width, classes))

    def forward(self, x):
        x = x.flatten(1)
        for i in range(1, self.n):
            x = torch.relu(getattr(self, f"fc{i}")(x))
        return getattr(self, f"fc{self.n}")(x)


class CNN(nn.Module):
    def __init__(self, c1=32, c2=64, c3=64, fc=64, c=1, h=28, w=28, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c1, 3)
        self.conv2 = nn.Conv2d(c1, c2, 3)
        self.conv3 = nn.Conv2d(c2, c3, 3)
        side = lambda n: ((n - 2) // 2 - 2) // 2 - 2  # noqa: E731 (two conv+pool, one conv)
        self.fc1 = nn.Linear(c3 * side(h) * side(w), fc)
        self.fc2 = nn.Linear(fc, classes)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.conv3(x)).flatten(1)
        return self.fc2(torch.relu(self.fc1(x)))


class LSTM(nn.Module):
    """Rows as time steps: [B, 1, H, W] -> H steps of W features."""

    def __init__(self, hidden=128, layers=2, c=1, h=28, w=28, classes=10):
        super().__init__()
        self.lstm = nn.LSTM(input_size=c * w, hidden_size=hidden, num_layers=layers,
                            batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.lstm(x.squeeze(1))
        return self.fc(out[:, -1])


class Transformer(nn.Module):
    """7x7 patches as tokens, a pre-norm encoder, mean over tokens."""

    def __init__(self, d=64, layers=2, heads=4, ffn=128, c=1, h=28, w=28, classes=10):
        super().__init__()
        self.tokens = (h // 7) * (w // 7)
        self.embed = nn.Linear(49, d)
        self.pos = nn.Parameter(torch.zeros(1, self.tokens, d))
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=ffn, dropout=0.0,
                                           activation="relu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.fc = nn.Linear(d, classes)

    def forward(self, x):
        b = x.shape[0]
        x = x.unfold(2, 7, 7).unfold(3, 7, 7).reshape(b, self.tokens, 49)
        x = self.encoder(self.embed(x) + self.pos)
        return self.fc(self.norm(x).mean(1))


MODELS = {"mlp": MLP, "cnn": CNN, "lstm": LSTM, "transformer": Transformer}


def save_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}")
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


FASHION_MNIST = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist


def test_accuracy(model):
    """(accuracy, mean cross-entropy loss, images) of model on the test split."""
    import numpy as np
    with gzip.open(f"{FASHION_MNIST}/t10k-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    with gzip.open(f"{FASHION_MNIST}/t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read()[8:], np.uint8).astype(np.int64)
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(x[i:i + 500])) for i in range(0, len(x), 500)])
        loss = torch.nn.functional.cross_entropy(logits.double(), torch.from_numpy(y)).item()
    return float((logits.argmax(1).numpy() == y).mean()), loss, len(y)
