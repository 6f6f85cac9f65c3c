// Package compile lowers work onto the generated matrix unit: it tiles a
// GEMM into w_in/a_in beats (PlanGEMM), lowers a quantized layer to a GEMM
// (im2col with zero-point padding, the input zero point folded into the
// bias) and packs the pipeline's parameter words by the protocol the
// manifest carries. The network importer and the controller's code
// generator extend it.
//
// compile reads the hardware only through arch (the manifest) and computes
// with quant; it must not import hdl, gen, blocks or verify, which imports
// it: the golden models and the regression check what compile planned.
package compile
