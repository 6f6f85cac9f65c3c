// Package ptq turns a float ONNX graph (package nn) into a quantized
// network for the matrix unit (package compile), TFLite's way:
// BatchNormalization folded into the convolution before it, zero Pad
// nodes removed or folded into the next convolution's padding, activations
// calibrated on sample inputs with one of quant's observers (min-max,
// percentile, MSE, entropy) into asymmetric int8, weights symmetric int8
// per output channel, biases int32 at the accumulator's scale, ReLU and
// ReLU6 fused into the requantizer's clamp, pooling fused into the layer it
// follows.
//
// A pre-quantized (QDQ) model keeps its own quantization instead
// (qdq.go): constants are folded, the QuantizeLinear/DequantizeLinear
// pairs are stripped into per-tensor parameters (uint8 activations become
// int8 with the zero point less 128) and integer weights and biases, and
// the same matching and lowering run on what is left, with the model's
// parameters in place of calibrated ones.
//
// ptq must not import hdl, gen, blocks or verify.
package ptq
