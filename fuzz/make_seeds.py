#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the
repository's fixtures and suites, small enough to fuzz quickly. Rerun after
changing a fixture; the files it writes are committed."""
import gzip
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, meta=None):
    header, blob = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for name, shape, values in tensors:
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def idx(magic, dims, body):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + body


def idx_input(flags, limit, images, labels):
    return bytes([flags, limit]) + struct.pack("<H", len(images)) + images + labels


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    # safetensors: small files of the layouts the checkpoints use, and the
    # real header of a fixture with its data cut short.
    put("fuzz_safetensors", "two.safetensors",
        safetensors([("w", [2, 3], [0.5] * 6), ("b", [3], [1, 2, 3])], {"format": "pt"}))
    put("fuzz_safetensors", "scalar.safetensors", safetensors([("s", [], [7.0])]))
    put("fuzz_safetensors", "rank4.safetensors", safetensors([("k", [1, 1, 2, 2], [1, 2, 3, 4])]))
    with open(os.path.join(ROOT, "tests/fixtures/pytorch/mlp.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        f.seek(0)
        put("fuzz_safetensors", "mlp-cut.safetensors", f.read(8 + n + 64))
    # IDX: 3 images of 4x4 and their labels, raw and gzip.
    images = idx(0x803, [3, 4, 4], bytes(range(48)))
    labels = idx(0x801, [3], bytes([1, 2, 9]))
    for flags in (0, 1, 3, 4):
        put("fuzz_idx", "flags%d" % flags, idx_input(flags, 0, images, labels))
    put("fuzz_idx", "limit2", idx_input(0, 2, images, labels))
    put("fuzz_idx", "gz-bytes", idx_input(4, 0, gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
    # CIFAR-10: two records (label, then 3x32x32 bytes).
    rec = bytes([3]) + bytes(i % 256 for i in range(3072))
    put("fuzz_cifar", "two", bytes([0]) + rec + rec)
    put("fuzz_cifar", "limit1", bytes([1]) + rec + rec[:100])
    # Suites: the shipped ones and the forms the parser takes.
    for name in sorted(n for n in os.listdir(os.path.join(ROOT, "suites")) if n.endswith(".ini")):
        with open(os.path.join(ROOT, "suites", name), "rb") as f:
            put("fuzz_suite", name, f.read())
    put("fuzz_suite", "continued.ini",
        "[suite]\nname = c\ndescription = a\n  b\nseed = 3\nweights = w\n[g]\n"
        "models = mlp transformer:d=8,heads=2\nbackends = reference\nmode = infer train\n"
        "batch = 1, 2\n  4\nthreads = 1\nmin_time = 0\nmin_iters = 1\nwarmup = 0\ntimeout = 5\n")
    # Model specs.
    for i, spec in enumerate(["mlp", "cnn:large", "lstm:preset=large,hidden=256",
                              "transformer:d=256,layers=4,heads=8,ffn=128", "mlp:hidden=8,layers=2",
                              "cnn:c1=4,c2=8,c3=8,fc=16"]):
        put("fuzz_model_spec", "spec%d" % i, spec)
    # Dataset specs (byte 0: the split).
    for i, spec in enumerate(["synthetic:c=1,h=28,w=28,classes=10,n=1024,seed=1", "synthetic:n=4",
                              "fashion-mnist", "mnist:/nonexistent", "cifar10:/nonexistent"]):
        put("fuzz_dataset_spec", "spec%d" % i, bytes([i & 1]) + spec.encode())
    # results.json: the plot fixture cut to one model, short sample lists.
    with open(os.path.join(ROOT, "tests/fixtures/results/small/results.json")) as f:
        doc = json.load(f)
    doc["cases"] = [c for c in doc["cases"] if c["model"] == "mlp"]
    for c in doc["cases"]:
        for k in ("samples_s", "loss"):
            if isinstance(c.get(k), list):
                c[k] = c[k][:6]
    put("fuzz_results", "small.json", json.dumps(doc, indent=1))
    doc["cases"] = doc["cases"][:2]
    put("fuzz_results", "two.json", json.dumps(doc))
    # Command lines (argv items separated by NUL).
    for i, argv in enumerate([["compare", "r", "r", "--json"],
                              ["compare", "r", "r", "--threshold", "5%", "--fail-on-regression"],
                              ["report", "r", "--no-plots", "--json"], ["plot", "r"],
                              ["list", "backends", "--json"], ["list", "models"], ["list", "ops"],
                              ["version"], ["--help"]]):
        put("fuzz_cli", "argv%d" % i, "\0".join(argv))
    # The option parser, against fuzz_options.c's table.
    for i, argv in enumerate([["a", "--str", "x", "--choice", "sgd", "--u64", "7"],
                              ["a", "b", "--int", "5", "--pos-int", "2", "--num", "0.25"],
                              ["--pos-num", "1e-3", "--pct", "5%", "--flag", "a"],
                              ["--help"], ["a", "--num", "-1"], ["a", "--choice", "x"]]):
        put("fuzz_options", "argv%d" % i, "\0".join(argv))


if __name__ == "__main__":
    main()
