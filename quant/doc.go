// Package quant is the numeric truth of tpugen: affine (scale, zero point)
// quantization, TFLite-exact integer requantization, fp16/bfloat16
// conversion, calibration, and int8 reference kernels (conv, fully
// connected, pooling, activations, softmax, add) with a float reference of
// the same operators.
//
// The integer arithmetic agrees bit for bit with the reference kernels that
// deployed int8 inference uses: TFLite's reference kernels
// (tensorflow/lite/kernels/internal/common.h, reference/integer_ops/*.h),
// gemmlowp's fixedpoint/fixedpoint.h, and, where named so, ONNX operator
// definitions. When generated RTL and this package disagree, the RTL is
// wrong.
//
// Layout is NHWC for activations and OHWI for convolution filters (TFLite's
// layouts); depthwise filters are 1×H×W×(C·M).
//
// quant is a leaf: it must not import hdl, gen, blocks or verify. The golden
// model in verify builds on quant, never the other way round.
package quant
