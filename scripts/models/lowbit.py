"""Trains the low-precision MNIST models and exports them to ONNX.

Two models, each a few CPU-minutes:

- bnn_mnist: a binarized MLP. Its first layer (784->256, float weights, run
  as int8) and its last layer (256->10, float weights, run as int8) are
  ordinary; its two hidden layers (256->256) have weights in {-1,+1} and
  read the signs of the layer before. Training uses the straight-through
  estimator (the gradient of sign is that of hardtanh) on latent float
  weights clipped to [-1, 1]; batch normalization follows every hidden
  layer.

  Export (opset 13): Flatten, Gemm, Sign, Gemm, Sign, Gemm, Sign, Gemm,
  Softmax. Batch normalization is folded: into the weights and bias of the
  first layer; into a per-channel bias of the binary layers, whose rows
  are negated where the BN scale is negative, so their weights stay
  exactly in {-1,+1}. A binary layer is thus a Gemm whose input is a Sign
  and whose weights are all -1 or +1 (tpugen reads it so; no marker).

- lenet5_mnist_qat4: LeNet-5 fine-tuned from models/lenet5_mnist.onnx for
  4-bit weights and activations (quantization-aware training).
  Activations: PACT (Choi et al. 2018), a learnable clipping value alpha
  per layer, y = clip(x, 0, alpha) quantized to 16 levels of alpha/15
  (the input image to 16 levels of 1/15). Weights: DoReFa (Zhou et al.
  2016), t = tanh(w) normalized by its maximum, here per output channel
  and on the symmetric grid -7..7 (int4 with zero point 0, which the
  array's signed 4-bit weights hold; DoReFa's own grid has 16 levels
  without zero). The logits stay unquantized.

  Export: a float LeNet-5 whose weights are already on the 4-bit grid and
  whose ReLUs are Clip(0, alpha): post-training quantization to 4 bits
  with min-max calibration then finds the training's own grids (the
  clipped ranges reach alpha; each channel's largest weight maps to 7).

Writes the ONNX files and a "lowbit" list into models/manifest.json.
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as train_py  # noqa: E402  (the manifest's JSON layout)

OPSET = 13


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(d):
    def imgs(n):
        return torch.from_numpy(read_idx(os.path.join(d, n)).astype(np.float32)).div_(255.0).unsqueeze(1)

    def labels(n):
        return torch.from_numpy(read_idx(os.path.join(d, n)).astype(np.int64))

    return (imgs("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            imgs("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


# ---------------------------------------------------------------- binary MLP

class SignSTE(torch.autograd.Function):
    """sign with sign(0) = +1; the gradient passes where |x| <= 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


def bsign(x):
    return SignSTE.apply(x)


class BinaryLinear(nn.Linear):
    def __init__(self, fin, fout):
        super().__init__(fin, fout, bias=False)

    def forward(self, x):
        return F.linear(x, bsign(self.weight))


class BNN(nn.Module):
    arch = ("Flatten (784); Gemm 784->256 (int8), BN, Sign; Gemm 256->256 (binary), BN, Sign; "
            "Gemm 256->256 (binary), BN, Sign; Gemm 256->10 (int8); Softmax")

    def __init__(self, hidden=256):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = BinaryLinear(hidden, hidden)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.fc3 = BinaryLinear(hidden, hidden)
        self.bn3 = nn.BatchNorm1d(hidden)
        self.fc4 = nn.Linear(hidden, 10)

    def logits(self, x):
        x = x.flatten(1)
        x = bsign(self.bn1(self.fc1(x)))
        x = bsign(self.bn2(self.fc2(x)))
        x = bsign(self.bn3(self.fc3(x)))
        return self.fc4(x)

    def clip_latent(self):
        for m in (self.fc2, self.fc3):
            m.weight.data.clamp_(-1, 1)


def bn_affine(bn):
    s = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    t = bn.bias.detach() - s * bn.running_mean
    return s, t


def export_bnn(m):
    """The ONNX graph described in the module doc; returns the model."""
    inits, nodes = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))

    nodes.append(helper.make_node("Flatten", ["input"], ["flat"], axis=1))
    s, t = bn_affine(m.bn1)
    w1 = (m.fc1.weight.detach() * s[:, None]).numpy()
    b1 = (m.fc1.bias.detach() * s + t).numpy()
    init("fc1.weight", w1)
    init("fc1.bias", b1)
    nodes.append(helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1"], transB=1))
    nodes.append(helper.make_node("Sign", ["fc1"], ["sign1"]))
    prev = "sign1"
    for i, (fc, bn) in enumerate(((m.fc2, m.bn2), (m.fc3, m.bn3)), start=2):
        s, t = bn_affine(bn)
        wb = torch.where(fc.weight.detach() >= 0, 1.0, -1.0)
        neg = s < 0
        # sign(s*dot + t) = sign(dot' + t/|s|), dot' with the row negated where s < 0
        wb[neg] = -wb[neg]
        b = (t / s.abs()).numpy()
        init("fc%d.weight" % i, wb.numpy())
        init("fc%d.bias" % i, b)
        nodes.append(helper.make_node("Gemm", [prev, "fc%d.weight" % i, "fc%d.bias" % i], ["fc%d" % i], transB=1))
        nodes.append(helper.make_node("Sign", ["fc%d" % i], ["sign%d" % i]))
        prev = "sign%d" % i
    init("fc4.weight", m.fc4.weight.detach().numpy())
    init("fc4.bias", m.fc4.bias.detach().numpy())
    nodes.append(helper.make_node("Gemm", [prev, "fc4.weight", "fc4.bias"], ["logits"], transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["output"], axis=1))
    g = helper.make_graph(nodes, "bnn_mnist",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tpugen-lowbit")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def onnx_bnn_forward(model, x):
    """Evaluates the exported BNN graph with numpy (ONNX semantics: Sign(0) = 0)."""
    w = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    v = x.reshape(x.shape[0], -1).astype(np.float32)
    for n in model.graph.node:
        if n.op_type == "Gemm":
            v = v @ w[n.input[1]].T + w[n.input[2]]
        elif n.op_type == "Sign":
            v = np.sign(v)
    return v


# ---------------------------------------------------------------- QAT LeNet-5, int4

class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


class PACT(nn.Module):
    """clip(x, 0, alpha) on 2^bits levels; alpha learned (PACT's gradient)."""

    def __init__(self, bits=4, alpha=6.0):
        super().__init__()
        self.levels = 2 ** bits - 1
        self.alpha = nn.Parameter(torch.tensor(alpha))

    def forward(self, x):
        # clamp written so that d/d alpha is 1 where x >= alpha (PACT)
        y = F.relu(x) - F.relu(x - self.alpha)
        step = self.alpha / self.levels
        return RoundSTE.apply(y / step) * step


def dorefa_weight(w, bits=4):
    """DoReFa's tanh normalization, per output channel, on the symmetric grid
    -(2^(b-1)-1)..(2^(b-1)-1), scaled back by the channel's max |w|."""
    q = 2 ** (bits - 1) - 1
    t = torch.tanh(w)
    flat = t.flatten(1)
    m = flat.abs().max(dim=1, keepdim=True)[0].clamp_min(1e-8)
    wmax = w.flatten(1).abs().max(dim=1, keepdim=True)[0].detach()
    wq = RoundSTE.apply(flat / m * q) / q * wmax
    return wq.view_as(w)


class QConv(nn.Conv2d):
    def forward(self, x):
        return self._conv_forward(x, dorefa_weight(self.weight), self.bias)


class QLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, dorefa_weight(self.weight), self.bias)


def quant_input(x, bits=4):
    lv = 2 ** bits - 1
    return RoundSTE.apply(x.clamp(0, 1) * lv) / lv


class LeNetQAT(nn.Module):
    arch = ("Conv 5x5 1->6 pad 2, PACT Clip, MaxPool 2x2; Conv 5x5 6->16, PACT Clip, AveragePool 2x2; "
            "Flatten (400); Gemm 400->120, PACT Clip; Gemm 120->84, PACT Clip; Gemm 84->10; Softmax")

    def __init__(self):
        super().__init__()
        self.conv1 = QConv(1, 6, 5, padding=2)
        self.act1 = PACT()
        self.conv2 = QConv(6, 16, 5)
        self.act2 = PACT()
        self.fc1 = QLinear(400, 120)
        self.act3 = PACT()
        self.fc2 = QLinear(120, 84)
        self.act4 = PACT()
        self.fc3 = QLinear(84, 10)

    def logits(self, x):
        x = quant_input(x)
        x = F.max_pool2d(self.act1(self.conv1(x)), 2)
        x = F.avg_pool2d(self.act2(self.conv2(x)), 2)
        # the average of 4-bit codes is rounded back onto the grid, as the
        # pooling unit does
        step = self.act2.alpha / self.act2.levels
        x = RoundSTE.apply(x / step) * step
        x = x.flatten(1)
        x = self.act3(self.fc1(x))
        x = self.act4(self.fc2(x))
        return self.fc3(x)


def init_from_onnx(m, path, x):
    """Starts QAT from a trained float LeNet-5 (its ONNX initializers, named
    like the modules' parameters), each PACT alpha at the largest value its
    ReLU reaches on x."""
    w = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(path).graph.initializer}
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name in w:
                p.copy_(w[name])
        h1 = F.relu(F.conv2d(x, m.conv1.weight, m.conv1.bias, padding=2))
        h2 = F.relu(F.conv2d(F.max_pool2d(h1, 2), m.conv2.weight, m.conv2.bias))
        h3 = F.relu(F.linear(F.avg_pool2d(h2, 2).flatten(1), m.fc1.weight, m.fc1.bias))
        h4 = F.relu(F.linear(h3, m.fc2.weight, m.fc2.bias))
        maxes = [h.max() for h in (h1, h2, h3, h4)]
        for act, v in zip((m.act1, m.act2, m.act3, m.act4), maxes):
            act.alpha.fill_(float(v))


class LeNetClip(nn.Module):
    """The float graph exported for the QAT model."""

    def __init__(self, alphas):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.alphas = alphas

    def forward(self, x):
        a = self.alphas
        x = F.max_pool2d(torch.clamp(self.conv1(x), 0, a[0]), 2)
        x = F.avg_pool2d(torch.clamp(self.conv2(x), 0, a[1]), 2)
        x = x.flatten(1)
        x = torch.clamp(self.fc1(x), 0, a[2])
        x = torch.clamp(self.fc2(x), 0, a[3])
        return torch.softmax(self.fc3(x), dim=1)


def export_qat(m, path):
    alphas = [float(p.alpha.detach()) for p in (m.act1, m.act2, m.act3, m.act4)]
    f = LeNetClip(alphas)
    with torch.no_grad():
        for name in ("conv1", "conv2", "fc1", "fc2", "fc3"):
            src, dst = getattr(m, name), getattr(f, name)
            dst.weight.copy_(dorefa_weight(src.weight))
            dst.bias.copy_(src.bias)
    f.eval()
    torch.onnx.export(f, torch.zeros(1, 1, 28, 28), path, opset_version=OPSET, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True)
    return f, alphas


# ---------------------------------------------------------------- training

def train(model, x, y, epochs, lr, seed, batch=100, after_step=None):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    total = epochs * math.ceil(n / batch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        tot, seen = 0.0, 0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model.logits(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if after_step:
                after_step()
            tot += loss.item() * idx.shape[0]
            seen += idx.shape[0]
        log("  epoch %d/%d  loss %.4f  %.0f s" % (ep + 1, epochs, tot / seen, time.time() - t0))
    model.eval()
    return time.time() - t0


@torch.no_grad()
def top1(fn, x, y, batch=1000):
    p = torch.cat([fn(x[i:i + batch]) for i in range(0, x.shape[0], batch)])
    return float((p.argmax(1) == y).float().mean())


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def entry(name, fname, data, arch, train_cfg, acc, extra):
    e = dict(name=name, file=fname, sha256=sha256(data), bytes=len(data), dataset="mnist",
             input=dict(name="input", shape=["batch", 1, 28, 28], dtype="float32", layout="NCHW"),
             preprocessing=dict(formula="x = pixel / 255 (float32), pixel in 0..255; no mean or std",
                                scale=1 / 255, mean=0.0, std=1.0),
             architecture=arch, opset=OPSET, train=train_cfg, accuracy=acc)
    e.update(extra)
    return e


def tpugen_golden(tpugen, name, path, n):
    """The golden-model accuracy tpugen prints for the model on its unit:
    tpugen bnn for the binarized MLP, tpugen run on configs/int4.json for
    the 4-bit LeNet-5."""
    if name == "bnn_mnist":
        cmd = [tpugen, "bnn", "-model", path, "-n", str(n), "-sim", "golden"]
        pat = r"^top-1: float ([\d.]+)%, golden ([\d.]+)%"
    else:
        cmd = [tpugen, "run", "-model", path, "-config", "configs/int4.json", "-n", str(n), "-sim", "golden"]
        pat = None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    except (OSError, subprocess.TimeoutExpired) as e:
        return dict(error=str(e).splitlines()[0])
    if pat:
        m = re.search(pat, out.stdout, re.M)
        f, g = (m.group(1), m.group(2)) if m else (None, None)
    else:
        m = re.search(r"^int8 golden\s+([\d.]+)%", out.stdout, re.M)
        fm = re.search(r"^float\s+([\d.]+)%", out.stdout, re.M)
        f, g = (fm.group(1) if fm else None), (m.group(1) if m else None)
    if out.returncode != 0 or g is None:
        err = (out.stderr.strip() or out.stdout.strip()).splitlines()
        return dict(error="exit %d: %s" % (out.returncode, err[-1] if err else ""))
    return dict(evaluated_by=" ".join(["tpugen"] + cmd[1:]).replace(path, os.path.basename(path)),
                test_images=n, top1=round(float(g) / 100, 4),
                float_top1_same_images=round(float(f) / 100, 4) if f else None)


README_HEADING = "## Low-bit models"


def write_readme_section(manifest, path):
    """Writes (or replaces) this script's section of models/README.md, before
    the pruned models' section (which prune.py keeps last)."""
    with open(path) as fh:
        text = fh.read()
    i = text.find("\n" + README_HEADING)
    if i >= 0:
        j = text.find("\n## ", i + 1)
        text = text[:i + 1] + (text[j + 1:] if j >= 0 else "")
    L = [README_HEADING + "\n",
         "Generated by `scripts/models/make-lowbit.sh` (`scripts/models/lowbit.py`); listed under "
         "`\"lowbit\"` in `manifest.json`; see `docs/lowbit.md`. Input, preprocessing and opset as "
         "`lenet5_mnist.onnx`. Accuracies on the 10,000 MNIST test images: PyTorch, and tpugen's golden "
         "model (`tpugen bnn` with the binary layers on a binary unit; `tpugen run` on `configs/int4.json`).\n",
         "| file | architecture | top-1 (PyTorch) | top-1 (tpugen golden) | bytes | sha256 (first 12) |",
         "|---|---|---|---|---|---|"]
    for e in manifest.get("lowbit", []):
        g = e.get("tpugen", {})
        L.append("| `%s` | %s | %.2f%% | %s | %d | `%s` |" % (
            e["file"], e["architecture"], 100 * e["accuracy"]["top1"],
            "%.2f%%" % (100 * g["top1"]) if "top1" in g else "—", e["bytes"], e["sha256"][:12]))
    section = "\n".join(L) + "\n\n"
    k = text.find("\n## Pruned")
    if k >= 0:
        text = text[:k + 1] + section + text[k + 1:]
    else:
        text = text.rstrip() + "\n\n" + section
    with open(path, "w") as fh:
        fh.write(text.rstrip() + "\n")


def verify(out_dir):
    """Checks the committed low-bit models against the manifest's sha256."""
    with open(os.path.join(out_dir, "manifest.json")) as fh:
        entries = json.load(fh).get("lowbit", [])
    bad = 0
    for e in entries:
        with open(os.path.join(out_dir, e["file"]), "rb") as fh:
            data = fh.read()
        ok = sha256(data) == e["sha256"] and len(data) == e["bytes"]
        bad += not ok
        log("%s: %s" % (e["file"], "ok" if ok else "DOES NOT MATCH manifest.json"))
    if bad or not entries:
        raise SystemExit("%d low-bit model(s) do not match manifest.json" % max(bad, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bnn-epochs", type=int, default=6)
    ap.add_argument("--qat-epochs", type=int, default=3)
    ap.add_argument("--qat-init", help="float LeNet-5 to fine-tune (default: OUT/lenet5_mnist.onnx)")
    ap.add_argument("--models", default="bnn_mnist,lenet5_mnist_qat4", help="which models to train (comma-separated)")
    ap.add_argument("--verify", action="store_true", help="only check the files against manifest.json")
    ap.add_argument("--tpugen", help="tpugen binary: record its golden-model accuracy of each model")
    ap.add_argument("--tpugen-n", type=int, default=10000, help="test images for --tpugen")
    ap.add_argument("--record-only", action="store_true", help="no training: record --tpugen's accuracy of the committed models")
    args = ap.parse_args()
    if args.verify:
        verify(args.out)
        return
    if args.record_only:
        record(args)
        return
    if not args.mnist:
        ap.error("--mnist DIR is required for training")
    todo = set(args.models.split(","))
    args.qat_init = args.qat_init or os.path.join(args.out, "lenet5_mnist.onnx")
    torch.set_num_threads(1)
    tx, ty, vx, vy = load_mnist(args.mnist)
    entries = []

    if "bnn_mnist" in todo:
        entries.append(build_bnn(args, tx, ty, vx, vy))
    if "lenet5_mnist_qat4" in todo:
        entries.append(build_qat(args, tx, ty, vx, vy))

    if args.tpugen:
        for e in entries:
            log("%s: tpugen's golden model on %d test images" % (e["name"], args.tpugen_n))
            e["tpugen"] = tpugen_golden(args.tpugen, e["name"], os.path.join(args.out, e["file"]), args.tpugen_n)
    mpath = os.path.join(args.out, "manifest.json")
    with open(mpath) as fh:
        manifest = json.load(fh)
    manifest["lowbit_info"] = "scripts/models/lowbit.py (scripts/models/make-lowbit.sh); see docs/lowbit.md"
    # Entries of models not retrained this time stay as they are.
    kept = [e for e in manifest.get("lowbit", []) if e["name"] not in {x["name"] for x in entries}]
    order = ["bnn_mnist", "lenet5_mnist_qat4"]
    manifest["lowbit"] = sorted(kept + entries, key=lambda e: order.index(e["name"]) if e["name"] in order else 99)
    train_py.write_json(manifest, mpath)
    write_readme_section(manifest, os.path.join(args.out, "README.md"))


def record(args):
    """Adds --tpugen's accuracy to the committed models' manifest entries."""
    if not args.tpugen:
        raise SystemExit("--record-only needs --tpugen")
    mpath = os.path.join(args.out, "manifest.json")
    with open(mpath) as fh:
        manifest = json.load(fh)
    for e in manifest.get("lowbit", []):
        log("%s: tpugen's golden model on %d test images" % (e["name"], args.tpugen_n))
        e["tpugen"] = tpugen_golden(args.tpugen, e["name"], os.path.join(args.out, e["file"]), args.tpugen_n)
    train_py.write_json(manifest, mpath)
    write_readme_section(manifest, os.path.join(args.out, "README.md"))


def build_bnn(args, tx, ty, vx, vy):
    log("bnn_mnist: training")
    torch.manual_seed(11)
    bnn = BNN()
    secs = train(bnn, tx, ty, args.bnn_epochs, 1e-3, 11, after_step=bnn.clip_latent)
    acc_torch = top1(bnn.logits, vx, vy)
    model = export_bnn(bnn)
    data = model.SerializeToString()
    fname = "bnn_mnist.onnx"
    with open(os.path.join(args.out, fname), "wb") as f:
        f.write(data)
    ref = onnx_bnn_forward(model, vx.numpy())
    acc_onnx = float((ref.argmax(1) == vy.numpy()).mean())
    log("bnn_mnist: top-1 %.4f (PyTorch), %.4f (ONNX semantics), %.0f s" % (acc_torch, acc_onnx, secs))
    return (entry("bnn_mnist", fname, data, BNN.arch,
                         dict(seed=11, epochs=args.bnn_epochs, batch=100, optimizer="Adam", lr=1e-3,
                              schedule="cosine to 0 per step", estimator="straight-through (hardtanh gradient)",
                              latent_weights="float, clipped to [-1, 1]", train_images=60000, seconds=round(secs)),
                         dict(evaluated_by="PyTorch", test_images=10000, top1=round(acc_torch, 4),
                              onnx_semantics_top1=round(acc_onnx, 4)),
                         dict(representation="binary layer = Gemm fed by Sign with weights all in {-1,+1}; "
                                             "BN folded into a per-channel bias (rows negated where its scale < 0)")))


def build_qat(args, tx, ty, vx, vy):
    log("lenet5_mnist_qat4: fine-tuning %s" % args.qat_init)
    torch.manual_seed(12)
    qat = LeNetQAT()
    init_from_onnx(qat, args.qat_init, tx[:2000])
    secs = train(qat, tx, ty, args.qat_epochs, 5e-4, 12)
    acc_qat = top1(qat.logits, vx, vy)
    fname = "lenet5_mnist_qat4.onnx"
    path = os.path.join(args.out, fname)
    f, alphas = export_qat(qat, path)
    acc_float = top1(lambda b: f(b), vx, vy)
    with open(path, "rb") as fh:
        data = fh.read()
    log("lenet5_mnist_qat4: top-1 %.4f (fake-quantized), %.4f (exported float graph), alphas %s, %.0f s"
        % (acc_qat, acc_float, alphas, secs))
    return (entry("lenet5_mnist_qat4", fname, data, LeNetQAT.arch,
                         dict(seed=12, epochs=args.qat_epochs, batch=100, optimizer="Adam", lr=5e-4,
                              init="fine-tuned from lenet5_mnist.onnx (PACT alphas start at each ReLU's maximum on 2000 training images)",
                              schedule="cosine to 0 per step", train_images=60000, seconds=round(secs),
                              activations="PACT, 4 bits (16 levels of alpha/15), alpha learned per layer",
                              weights="DoReFa tanh normalization per output channel, symmetric 4-bit grid -7..7",
                              input="16 levels of 1/15"),
                         dict(evaluated_by="PyTorch", test_images=10000, top1=round(acc_qat, 4),
                              exported_float_graph_top1=round(acc_float, 4)),
                         dict(pact_alphas=[round(a, 6) for a in alphas])))


if __name__ == "__main__":
    main()
