// Package fpga drives the open-source FPGA tools on Verilog designs and
// reads their reports: Yosys synthesis for Lattice iCE40 (synth_ice40),
// Xilinx 7-series (synth_xilinx) and Lattice ECP5 (synth_ecp5) and Yosys'
// generic gates; nextpnr-ice40 place and route with timing; and the device
// tables that turn cell counts into shares of a part.
//
// A Design is files, a top module and parameter overrides, so hand-written
// RTL goes through the same flow as tpugen's: Flow.Run synthesizes the
// design on its own for its resources and, on iCE40, inside a pin-light
// wrapper (Wrapper: every input from an LFSR-fed register, every output
// into a registered XOR tree ending in one pin) that nextpnr times register
// to register, with several seeds and their median Fmax.
//
// The parsers (ParseStat, ParsePorts, ParseReport, ParseUtilization,
// ParseNames) are plain functions of the tools' output, tested on captured
// logs in testdata. fpga imports nothing else of tpugen: configurations,
// manifests and advice about what to shrink belong to the caller.
package fpga
