package sparse

import (
	"bytes"
	"strings"
	"testing"
)

// fuzzSeeds are real weight matrices: a corner (up to 8 output channels by
// 64 taps) of every hardware layer of the committed models, the same
// corner magnitude-pruned to about 80% zeros, and the small matrices of
// TestLayouts.
func fuzzSeeds(f *testing.F) []Matrix {
	models, err := loadModels()
	if err != nil {
		f.Fatal(err)
	}
	var seeds []Matrix
	for _, md := range models {
		if md.net == nil {
			continue
		}
		for _, op := range md.net.Ops {
			if !op.OnHardware() {
				continue
			}
			w, err := LayerMatrix(op.Layer)
			if err != nil {
				f.Fatal(err)
			}
			corner := Matrix{Rows: min(w.Rows, 8), Cols: min(w.Cols, 64)}
			for r := range corner.Rows {
				corner.Data = append(corner.Data, w.Data[r*w.Cols:r*w.Cols+corner.Cols]...)
			}
			pruned := Matrix{Rows: corner.Rows, Cols: corner.Cols, Data: make([]int8, len(corner.Data))}
			for i, v := range corner.Data {
				if v <= -100 || v >= 100 {
					pruned.Data[i] = v
				}
			}
			seeds = append(seeds, corner, pruned)
		}
	}
	long := Matrix{Rows: 1, Cols: 600, Data: make([]int8, 600)}
	long.Data[300] = 3
	return append(seeds, Matrix{Rows: 2, Cols: 3, Data: []int8{0, 5, 0, -128, 0, 7}}, long, Matrix{})
}

// fuzzDecoder feeds the format's decoder any bytes. It must not panic; an
// error is one line naming the format. A stream it accepts is a valid
// matrix, and re-encoding that matrix gives the same bytes, or fewer where
// the input used wider indices (CSR, CSC), or no more where it split its
// zero runs otherwise (run-length: the encoder's pairs are the fewest).
func fuzzDecoder(f *testing.F, format Format) {
	for _, m := range fuzzSeeds(f) {
		b, err := Encode(format, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	decode := decoders[format]
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := decode(in)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, format.String()+": ") {
				t.Fatalf("error %q: want one line starting %q", msg, format.String()+": ")
			}
			return
		}
		if err := m.Check(); err != nil {
			t.Fatalf("decoded an invalid matrix: %v", err)
		}
		if len(m.Data) > 1<<16 {
			// Re-encoding millions of zeros teaches the fuzzer nothing
			// and slows it a hundredfold.
			return
		}
		out, err := Encode(format, m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decode(out)
		if err != nil || !again.Equal(m) {
			t.Fatalf("re-encoded stream does not round-trip: %v", err)
		}
		switch {
		case bytes.Equal(out, in):
		case format == Bitmask:
			t.Fatalf("bitmask streams are canonical, but the encoder wrote\n%x\nfor\n%x", out, in)
		case (format == CSR || format == CSC) && in[1] == out[1]:
			t.Fatalf("%v with the encoder's index width is canonical, but the encoder wrote\n%x\nfor\n%x", format, out, in)
		case format == RunLength && len(out) > len(in), format != RunLength && len(out) >= len(in):
			t.Fatalf("%v: the encoder wrote %d bytes for a matrix the input holds in %d", format, len(out), len(in))
		}
	})
}

func FuzzDecodeBitmask(f *testing.F)   { fuzzDecoder(f, Bitmask) }
func FuzzDecodeRunLength(f *testing.F) { fuzzDecoder(f, RunLength) }
func FuzzDecodeCSR(f *testing.F)       { fuzzDecoder(f, CSR) }
func FuzzDecodeCSC(f *testing.F)       { fuzzDecoder(f, CSC) }
