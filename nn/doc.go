// Package nn is tpugen's network front end: it imports ONNX models into one
// graph IR (Graph: named tensors, nodes with typed attributes,
// initializers, inputs and outputs with shapes), validates them against a
// registry of supported operators, runs them on a float reference executor
// with ONNX's NCHW semantics (Run), and rewrites them with small named
// passes (FoldConstants, FoldBatchNorm, FoldPad, RemoveIdentity,
// InferShapes) for the network compiler.
//
// Models are read through Go protobuf types generated from onnx.proto
// (package onnxpb). Loading never panics on bad input: an unsupported
// operator, a truncated file or an attribute out of range is one line
// naming the node, the operator and the opset; errors.Is(err,
// ErrUnsupported) separates what nn does not implement from what is
// malformed.
//
// Operators (default domain, opsets 7 to 17, older opsets where an
// operator's definition is unchanged): Conv, Gemm, MatMul, Add, Relu, Clip,
// Sign, LeakyRelu, Sigmoid, Tanh, Softmax, MaxPool, AveragePool,
// GlobalAveragePool, BatchNormalization (inference), Pad (opsets 2 to 17;
// constant, reflect and edge), Reshape, Flatten, Identity, Dropout
// (inference), Cast (opsets 6 to 17, between the types nn holds),
// ConstantOfShape (opsets 9 to 17), Constant (folded into initializers at
// load), and the pre-quantized QuantizeLinear, DequantizeLinear,
// QLinearConv, QLinearMatMul, ConvInteger and MatMulInteger. Each family lives in its
// own file; registry.go lists them as data.
//
// Float operators compute in float64 and round once to float32; the
// quantized ones accumulate in int32 and requantize as ONNX Runtime does
// (float32 scale, round half to even, saturate). QuantizeLinear and the
// activations reuse quant's reference functions. The ONNX backend node
// tests (Debian's libonnx-testdata) are the conformance suite.
//
// nn sits below the compiler: it may import quant, never hdl, gen, blocks
// or verify.
package nn
