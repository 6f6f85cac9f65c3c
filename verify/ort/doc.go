// Package ort runs ONNX models on ONNX Runtime, the independent reference
// for tpugen's float-scale requantizer (rounding "float"): its tests run
// the committed QDQ models and synthetic QLinearConv and QLinearMatMul
// models on ONNX Runtime and on tpugen's golden model and RTL, and compare
// every int8 output.
//
// Everything but this comment needs the build tag ort, cgo and ONNX
// Runtime's shared library (scripts/ort-check.sh installs the npm package
// onnxruntime-node, which ships it, and runs the tests), so that ordinary
// builds need neither.
package ort
