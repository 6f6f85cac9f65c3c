// Package blocks holds tpugen's hardware blocks written in hdl: the example
// designs (counter, adder tree, FIFO) and the accelerator's parts. One block
// per file, each with its Config and Validate beside it. Blocks never read
// files and know nothing of Verilog text or simulators.
package blocks
