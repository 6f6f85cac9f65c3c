// Package core is the instruction set of the tpugen core (a unified buffer,
// a weight memory, the matrix unit with its accumulators and the post-array
// pipeline under a small CISC controller in TPU v1's spirit), its assembler
// and disassembler, and its instruction-level model, Machine, which runs a
// program on Go state with quant's arithmetic: the golden executor the RTL
// core is compared with (one program, two executors).
//
// # Machine state
//
//   - Unified buffer (UB): a flat byte array of int8 activations, byte
//     addressed. A tensor is stored NHWC, contiguous; a batch is images
//     back to back. Every byte has a written bit: reading a byte never
//     written is an error (ErrUnwritten).
//   - Weight memory: a flat byte array of int8 weights. A layer's weights
//     are N rows (output channels) of K bytes (OHWI order for a
//     convolution), row o at waddr + o*K.
//   - Accumulators: acc_depth rows of cols int32 lanes (the configuration's
//     acc_depth and cols); CONVOLVE and MATMUL write rows, overwriting or
//     accumulating, with two's-complement wrap.
//   - Parameter sets: param_sets sets, each loaded by LOAD_PARAMS from the
//     host stream as one parameter block (ParamBlockBytes): per lane the
//     requantizer's bias, multiplier, shift, output zero point and clamp,
//     then the activation control, the pooling control and the 256-entry
//     activation table (layout in params.go); a block of ParamWordBytes
//     leaves the table out (and as it was), for an activation that reads
//     none.
//   - The window generator: CONVOLVE reads NHWC maps in the UB and forms
//     each output pixel's window on chip (stride, dilation, padding that
//     holds the input zero point; depthwise=1 gives lane o input channel
//     c0+o alone), so the host never builds im2col matrices.
//   - Host streams: READ_HOST, READ_WEIGHTS and LOAD_PARAMS consume the
//     host input stream in order; WRITE_HOST appends to the host output
//     stream.
//
// # Encoding
//
// Every instruction is one 256-bit Word (four little-endian 64-bit limbs;
// bit i of the word is bit i%64 of limb i/64). Bits [3:0] hold the opcode;
// the remaining fields of each opcode are listed in Formats: name, least
// significant bit, width and signedness. Formats is the single source of
// truth of the encoding: Encode gives it (with the error codes and the
// parameter block layout) in the form the generator will copy into the
// manifest and the C header, Table as text (tpugen asm -isa), and the RTL
// decoder (blocks.NewCore) is generated from it. 256 bits
// leave every field its natural width (a CONVOLVE carries a whole layer's
// window, addresses and shapes) at a cost that is negligible next to the
// work of one instruction.
//
// # Ordering
//
// Programs have sequential semantics: every instruction sees the effects
// of all earlier ones. The core may overlap instructions on different
// units (host transfers, the array, the pipeline) only where its
// interlocks preserve that; the compiler helps by double-buffering the
// weight memory and using the accumulators in two halves. SYNC waits
// until every earlier instruction has finished (a barrier for the host,
// for example before reading the performance counters); HALT ends a
// program after an implicit SYNC.
//
// # Errors
//
// A bad program stops the machine with a Fault carrying an ErrorCode (the
// value the core's status register will hold) and the program counter:
// an illegal opcode, an address past a buffer, a read of a UB byte never
// written, a parameter set never loaded, an empty host stream, an
// inconsistent field, or the step limit.
//
// core imports arch and quant only; the compiler (package compile) emits
// programs for it.
package core
