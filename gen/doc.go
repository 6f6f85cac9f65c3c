// Package gen turns a tpugen configuration into RTL: it loads and validates
// the JSON configuration, elaborates the blocks into an hdl design and runs
// the back-ends (Verilog, manifest, file list, C header). gen knows blocks
// and hdl; it never imports verify or quant.
package gen
