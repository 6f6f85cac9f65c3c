package core

// ArrayBound is what a program asks of the matrix unit: its useful
// multiply-accumulates and a lower bound on the cycles the array is busy
// with them.
type ArrayBound struct {
	MACs   int64 // useful MACs: rows × reduction × lanes of every MATMUL and CONVOLVE
	Cycles int64 // lower bound of array-busy cycles
	Ideal  float64
}

// Utilization is the ideal cycles (MACs ÷ (rows × cols)) over the bound:
// the best array utilization the program allows, before host transfers,
// ACTIVATE drains and stalls, which the core overlaps with compute where
// dependencies allow. The RTL's measured utilization can only be lower.
func (b ArrayBound) Utilization() float64 {
	if b.Cycles == 0 {
		return 0
	}
	return b.Ideal / float64(b.Cycles)
}

// Bound computes the ArrayBound of a program for a weight-stationary array
// of the configuration's rows × cols (not yet a cycle model of the RTL
// core, which does not exist yet): per MATMUL or CONVOLVE, ceil(K/rows)
// weight tiles, each occupying max(M, rows) cycles (M activation rows
// stream while the next tile's weights load into the shadow registers),
// plus the first tile's load (rows cycles) and the array's fill and drain
// (rows + cols). A depthwise CONVOLVE reduces over kh·kw taps per lane.
func Bound(c Config, words []Word) (ArrayBound, error) {
	R, C := int64(c.Arch.Rows), int64(c.Arch.Cols)
	var b ArrayBound
	for i, w := range words {
		in, err := Decode(w)
		if err != nil {
			f := err.(*Fault)
			f.PC = i
			return b, f
		}
		var M, K, N int64
		switch in.Op {
		case OpMatMul:
			M, K, N = in.Get("m"), in.Get("k"), in.Get("n")
		case OpConvolve:
			g := in.Get
			oh := int64(ConvOutput(int(g("h")), int(g("kh")), max(1, int(g("sh"))), max(1, int(g("dh"))), int(g("pt")), int(g("pb"))))
			ow := int64(ConvOutput(int(g("w")), int(g("kw")), max(1, int(g("sw"))), max(1, int(g("dw"))), int(g("pl")), int(g("pr"))))
			M, K, N = g("images")*oh*ow, g("kh")*g("kw")*g("c"), g("n")
			if g("depthwise") != 0 {
				K = g("kh") * g("kw")
			}
		default:
			continue
		}
		if M == 0 || K == 0 {
			continue
		}
		tiles := (K + R - 1) / R
		b.MACs += M * K * N
		b.Cycles += R + tiles*max(M, R) + R + C
	}
	b.Ideal = float64(b.MACs) / float64(R*C)
	return b, nil
}
