"""A small ONNX interpreter for the graphs in models/, used to check the exports.

It implements only the operators that PyTorch emits for these models, with the
ONNX operator semantics (opset 13): QuantizeLinear rounds half to even and
saturates to the zero point's type, DequantizeLinear computes
(x - zero_point) * scale in float32, per axis when the scale is a 1-D tensor.
Float arithmetic (Conv, Gemm, pooling) is float32 through torch's functional
ops. It is a reference for accuracy figures, not a runtime: anything outside
that set raises.
"""

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F

_INT_RANGE = {
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.int32): (-(2**31), 2**31 - 1),
}


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _np_dtype(onnx_type):
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[onnx_type]


def _per_axis(v, x, axis):
    """Broadcast a scale or zero point v against x along axis (scalar stays scalar)."""
    v = np.asarray(v)
    if v.size == 1:
        # A scalar, or a 1-element 1-D tensor: per tensor (PyTorch writes [1]
        # for per-tensor weights and biases; ONNX Runtime reads it the same way).
        return v.reshape(())
    if v.ndim != 1:
        raise ValueError("quantization parameter must be a scalar or 1-D")
    axis = axis % x.ndim
    shape = [1] * x.ndim
    shape[axis] = v.shape[0]
    return v.reshape(shape)


def _sym_pads(pads):
    n = len(pads) // 2
    if list(pads[:n]) != list(pads[n:]):
        raise ValueError("asymmetric pads are not supported here: %s" % (pads,))
    return list(pads[:n])


def _t(x):
    return torch.from_numpy(np.require(x, requirements=["C", "W"]))


def _op(node, ins, a):
    op = node.op_type
    if op == "Constant":
        return onnx.numpy_helper.to_array(a["value"])
    if op == "Identity":
        return ins[0]
    if op == "Cast":
        return ins[0].astype(_np_dtype(a["to"]))
    if op == "ConstantOfShape":
        v = onnx.numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return np.full(tuple(int(d) for d in ins[0]), v.reshape(-1)[0], dtype=v.dtype)
    if op == "QuantizeLinear":
        x, scale = ins[0].astype(np.float32), ins[1].astype(np.float32)
        zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), np.uint8)
        axis = a.get("axis", 1)
        q = np.rint(x / _per_axis(scale, x, axis)) + _per_axis(zp, x, axis).astype(np.float32)
        lo, hi = _INT_RANGE[zp.dtype]
        return np.clip(q, lo, hi).astype(zp.dtype)
    if op == "DequantizeLinear":
        x, scale = ins[0], ins[1].astype(np.float32)
        zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), x.dtype)
        axis = a.get("axis", 1)
        d = x.astype(np.int64) - _per_axis(zp, x, axis).astype(np.int64)
        return (d.astype(np.float32) * _per_axis(scale, x, axis)).astype(np.float32)
    if op == "Conv":
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ValueError("auto_pad is not supported here")
        b = _t(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        return F.conv2d(_t(ins[0]), _t(ins[1]), b, stride=a.get("strides", [1, 1]),
                        padding=_sym_pads(a.get("pads", [0, 0, 0, 0])),
                        dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1)).numpy()
    if op == "BatchNormalization":
        if a.get("training_mode", 0):
            raise ValueError("training-mode BatchNormalization")
        x, s, b, m, v = ins
        eps = np.float32(a.get("epsilon", 1e-5))
        sh = (1, -1) + (1,) * (x.ndim - 2)
        return ((x - m.reshape(sh)) / np.sqrt(v.reshape(sh) + eps) * s.reshape(sh) + b.reshape(sh)).astype(np.float32)
    if op == "Relu":
        return np.maximum(ins[0], np.float32(0))
    if op == "Clip":
        x = ins[0]
        if len(ins) > 1 and ins[1] is not None:
            x = np.maximum(x, ins[1])
        if len(ins) > 2 and ins[2] is not None:
            x = np.minimum(x, ins[2])
        return x
    if op == "Add":
        return (ins[0] + ins[1]).astype(np.result_type(ins[0], ins[1]))
    if op == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise ValueError("MaxPool indices output is not supported here")
        return F.max_pool2d(_t(ins[0]), a["kernel_shape"], a.get("strides", a["kernel_shape"]),
                            _sym_pads(a.get("pads", [0, 0, 0, 0])), a.get("dilations", [1, 1]),
                            ceil_mode=bool(a.get("ceil_mode", 0))).numpy()
    if op == "AveragePool":
        return F.avg_pool2d(_t(ins[0]), a["kernel_shape"], a.get("strides", a["kernel_shape"]),
                            _sym_pads(a.get("pads", [0, 0, 0, 0])), ceil_mode=bool(a.get("ceil_mode", 0)),
                            count_include_pad=bool(a.get("count_include_pad", 0))).numpy()
    if op == "GlobalAveragePool":
        return ins[0].mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True, dtype=np.float32)
    if op == "Pad":
        mode = a.get("mode", b"constant")
        if mode not in (b"constant", "constant"):
            raise ValueError("Pad mode %r is not supported here" % (mode,))
        pads = [int(p) for p in ins[1]]
        n = len(pads) // 2
        if any(p < 0 for p in pads):
            raise ValueError("negative pads are not supported here")
        cv = ins[2].reshape(-1)[0] if len(ins) > 2 and ins[2] is not None else 0
        return np.pad(ins[0], list(zip(pads[:n], pads[n:])), constant_values=cv)
    if op == "Flatten":
        axis = a.get("axis", 1) % max(ins[0].ndim, 1)
        return ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)
    if op == "Reshape":
        shape = [int(s) for s in ins[1]]
        shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return ins[0].reshape(shape)
    if op == "Gemm":
        A, B = ins[0], ins[1]
        if a.get("transA", 0):
            A = A.T
        if a.get("transB", 0):
            B = B.T
        y = np.float32(a.get("alpha", 1.0)) * (_t(A) @ _t(B)).numpy()
        if len(ins) > 2 and ins[2] is not None:
            y = y + np.float32(a.get("beta", 1.0)) * ins[2]
        return y.astype(np.float32)
    if op == "Softmax":
        return torch.softmax(_t(ins[0]), dim=a.get("axis", -1)).numpy()
    raise ValueError("operator %s is not supported by this reference" % op)


class Graph:
    """A loaded ONNX model that can be run on float32 input batches."""

    def __init__(self, model):
        if isinstance(model, str):
            model = onnx.load(model)
        self.model = model
        g = model.graph
        self.inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
        self.input = [i.name for i in g.input if i.name not in self.inits][0]
        self.outputs = [o.name for o in g.output]

    def run(self, x, keep=()):
        env = dict(self.inits)
        env[self.input] = np.asarray(x, dtype=np.float32)
        for node in self.model.graph.node:
            ins = [env[n] if n else None for n in node.input]
            out = _op(node, ins, _attrs(node))
            env[node.output[0]] = out
        if keep:
            return {k: env[k] for k in keep}
        return env[self.outputs[0]]
