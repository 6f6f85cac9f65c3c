// Package arch is the accelerator's shared vocabulary: the typed modes of a
// configuration (dataflow, MAC form, rounding, activation and pooling) and
// the manifest schema, which carries the hardware protocol (stream payload
// layouts, parameter targets and addresses, mode encodings, timing facts) as
// data.
//
// The generator writes a manifest; every driver, golden model, cycle model
// and compiler reads the protocol from it, so no encoding is written twice.
// arch imports only the standard library: hand-written tools, the
// simulators' drivers and the compiler all depend on it, and it depends on
// none of them.
package arch
