// Package sparse stores int8 weight matrices in four compressed formats
// (bitmask, run-length, CSR and CSC), decodes them back, and reports what
// each format would save on a quantized network's hardware layers. The
// byte layouts below are the contract: a hardware decoder or another
// program reads them without this package.
//
// # The matrix of a layer
//
// A hardware layer's weights are stored as a Matrix with one row per output
// channel and kH·kW·Cin columns in (fy, fx, c) order: compile.Layer's
// Weights as they are (OHWI), row-major (LayerMatrix). That is the
// transpose of the GEMM's B (K×N, one column per output channel, as the
// array sees it): row n of the matrix is column n of B, so the matrix's
// CSR is B's CSC and the other way round. ZeroTiles alone works on B.
//
// # Header
//
// Every stream starts with the same 10 bytes, integers little-endian:
//
//	offset 0  uint8   format: 1 bitmask, 2 run-length, 3 CSR, 4 CSC
//	offset 1  uint8   width in bits of the format's index fields:
//	                  0 bitmask (none), 8 run-length (the run field),
//	                  8, 16 or 32 for CSR and CSC
//	offset 2  uint32  rows
//	offset 6  uint32  cols
//
// A stream ends where its layout says: trailing bytes are an error. Values
// are int8 (two's complement, -128..127), one byte each, and a stored value
// is never zero (a zero is what the format leaves out), but for run-length's
// escape. Elements are
// numbered row-major, i = r·cols + c. rows·cols is at most MaxElements
// (2^24).
//
// # Bitmask (format 1)
//
//	header                         width 0
//	mask    ceil(rows·cols/8) bytes  bit i%8 of byte i/8 (least significant
//	                                 bit first) is 1 when element i is
//	                                 nonzero; the padding bits of the last
//	                                 byte are 0
//	values  one int8 per set bit, in element order, to the end of the stream
//
// Size: 10 + ceil(rows·cols/8) + nnz bytes.
//
// # Run-length (format 2)
//
//	header                         width 8
//	pairs   (run uint8, value int8), to the end of the stream
//
// A pair stands for run zeros followed by value: run+1 elements, in element
// order (runs cross row boundaries). The longest run is 255; value 0 is the
// escape that lets a zero run go on: (255, 0) is 256 zeros. The pairs
// cover rows·cols elements exactly. The encoder writes, for each nonzero v
// after z zeros, ⌊z/256⌋ pairs (255, 0) and then (z mod 256, v); for z > 0
// trailing zeros, (255, 0) while more than 256 remain and then (z'−1, 0)
// for the z' left. That is the fewest pairs any stream can use; a decoder
// accepts any pairs that cover the matrix exactly.
//
// Size: 10 + 2·pairs bytes (2 bytes per nonzero at best).
//
// # CSR (format 3)
//
//	header                         width W = 8, 16 or 32
//	row pointers  rows+1 unsigned W-bit integers: ptr[0] = 0, ptr[r] ≤
//	              ptr[r+1], ptr[rows] = nnz; row r's entries are
//	              ptr[r] .. ptr[r+1]−1
//	col indices   nnz unsigned W-bit integers, each < cols, strictly
//	              increasing within a row
//	values        nnz int8, in the same order
//
// The encoder picks the smallest W that holds every pointer and index it
// writes (nnz and the largest column index); a decoder accepts any W that
// holds them.
//
// Size: 10 + (rows+1+nnz)·W/8 + nnz bytes.
//
// # CSC (format 4)
//
// CSR of the transpose, with the header still giving the matrix's rows and
// cols: cols+1 column pointers, nnz row indices (each < rows, strictly
// increasing within a column), nnz values in column order. W is the
// smallest that holds nnz and the largest row index.
//
// Size: 10 + (cols+1+nnz)·W/8 + nnz bytes.
//
// # Untrusted input
//
// The decoders take any bytes: a short header, a bitmask whose popcount
// disagrees with the values that follow, a run past the end, pointers that
// decrease or pass nnz, an index out of range or out of order, a stored
// zero, truncated or trailing data each give a one-line error naming the
// format ("bitmask: 37 bits set, 36 values follow"), never a panic.
//
// sparse reads compile's network IR and nothing above it: outside its
// tests it must not import nn, hdl, gen, blocks or verify.
package sparse
