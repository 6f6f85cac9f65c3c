package core

import "math/bits"

// WindowRuns is how many runs of taps (consecutive bytes of a kernel row,
// or the channels left at a tap) CONVOLVE's window generator gathers a
// cycle, each on its own read port of the unified buffer: enough that a
// tile of 8 taps of a one-channel 5x5 kernel, which crosses up to three
// kernel rows, enters the array in one cycle.
const WindowRuns = 3

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
// of the configuration's rows × cols (an ideal array; Cycles models the RTL
// core): per MATMUL or CONVOLVE, ceil(K/rows)
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

// Cycles predicts the RTL core's cycle counter for a program that runs to
// HALT on the host stream in, the streams never stalling (drain is the
// manifest's core.drain_cycles). It follows the controller instruction by
// instruction: fetch and decode (2 cycles), host transfers a beat's bytes
// a cycle with the next beat taken in that cycle, write_host three cycles
// a beat, load_params a cycle a word (and a byte of the table). MATMUL and
// CONVOLVE run on the compute engine while the controller goes on with
// transfers and parameter loads that touch none of the engine's operands
// (the RTL's may_go): the weight loader cols+1+rows cycles per tile (a
// lane's taps a read, then a beat a cycle; a tile ahead of the array), a
// beat a cycle for MATMUL rows and a cycle per WindowRuns runs for
// CONVOLVE windows, ACTIVATE's divisions and read-out rows (none when
// fused: the next instruction's last tile waits until the results before
// have landed), and the drain of its results for the instructions that
// wait for them. It is a model, not the RTL: it leaves out the cycles a
// read_host waits for a result to land; its error on the LeNet program is
// measured and reported by tpugen run -target core.
func Cycles(c Config, drain int, words []Word, in []byte) (int64, error) {
	a := c.Arch
	// The host stream, for the parameter sets' pooling (ACTIVATE divides
	// twice more when its set pools, by the pooling window and strides).
	pools := make([]PoolParams, a.ParamSets)
	var pos int64 // bytes of the host stream consumed
	take := func(n int64) []byte {
		pos += n
		n = min(n, int64(len(in)))
		b := in[:n]
		in = in[n:]
		return b
	}
	R, C := int64(a.Rows), int64(a.Cols)
	// div: a division of n (16 bits), a step per significant bit (one at
	// least), and a cycle to check its result.
	div := func(n int64) int64 { return int64(max(1, bits.Len16(uint16(n)))) + 1 }
	tileLoad := C + 1 + R
	// tiles runs the array: per tile t, its beats take beats(t) cycles and
	// the next tile's weights load behind them.
	tiles := func(T int64, beats func(t int64) int64) int64 {
		total := tileLoad
		for t := int64(0); t < T; t++ {
			b := beats(t)
			if t+1 < T {
				b = max(b, tileLoad)
			}
			total += b
		}
		return total
	}
	var cyc int64
	// The compute engine runs each MATMUL and CONVOLVE behind the
	// controller until cycle busy: its UB input [ubLo, ubHi), its weights
	// [wLo, wHi), the set of its fused activate (fset, or -1).
	var busy, ubLo, ubHi, wLo, wHi int64
	fset := int64(-1)
	// An activate's results land until cycle landed, into UB [lo, hi);
	// a fused activate's from its instruction's end.
	var landFrom, landed, lo, hi int64
	// A fused activate (armed): its range [flo, fhi), its set; its
	// instruction's last tile waits until the pipeline's pooling control
	// for it is out (ready), which waits for the results before it to land.
	var armed bool
	var ready, flo, fhi, aset int64
	overlaps := func(a, n, l, h int64) bool { return a < h && l < a+n }
	// launch runs an instruction of t cycles, whose last tile takes last,
	// on the engine; the controller goes on.
	launch := func(t, last, ub, ubN, w, wN int64) {
		busy, ubLo, ubHi, wLo, wHi, fset = cyc+t+1, ub, ub+ubN, w, w+wN, -1
		if armed {
			busy += max(0, ready-(cyc+t+1-last))
			landFrom, landed, lo, hi = busy, busy+int64(drain)+1, flo, fhi
			fset, armed = aset, false
		}
	}
	for pc, w := range words {
		in, err := Decode(w)
		if err != nil {
			f := err.(*Fault)
			f.PC = pc
			return 0, f
		}
		g := in.Get
		cyc += 2
		// What may decode while the engine runs and results land (the
		// RTL's may_go).
		engine := cyc < busy
		switch in.Op {
		case OpReadWeights:
			if engine && overlaps(g("waddr"), g("len"), wLo, wHi) {
				cyc = busy
			}
		case OpReadHost:
			a, n := g("ub"), g("len")
			if engine && overlaps(a, n, ubLo, ubHi) {
				cyc = busy
			}
			if cyc < landed && overlaps(a, n, lo, hi) {
				cyc = landed
			}
		case OpLoadParams:
			// Not into the set whose results are in the pipeline, nor
			// while results land.
			if engine && fset >= 0 && g("set")%int64(a.ParamSets) == fset%int64(a.ParamSets) {
				cyc = busy
			}
			if cyc >= landFrom && cyc < landed {
				cyc = landed
			}
		case OpMatMul, OpConvolve:
			cyc = max(cyc, busy)
			n := g("m") * g("k")
			if in.Op == OpConvolve {
				n = g("images") * g("h") * g("w") * g("c")
			}
			if cyc < landed && overlaps(g("ub"), n, lo, hi) {
				cyc = landed
			}
		case OpActivate:
			cyc = max(cyc, busy)
			if g("fuse") == 0 {
				cyc = max(cyc, landed)
			}
		default:
			cyc = max(cyc, busy, landed)
		}
		switch in.Op {
		case OpHalt:
			return cyc, nil
		case OpReadHost, OpReadWeights:
			// Every byte of a beat the transfer needs in one cycle, the
			// next beat taken in that cycle.
			if n := g("len"); n > 0 {
				first, last := pos/8, (pos+n-1)/8
				cyc += last - first + 1
			}
			cyc++
			take(g("len"))
		case OpWriteHost:
			// A beat a read, a check and a send.
			cyc += 3 * ((g("len") + 7) / 8)
			if g("len") == 0 {
				cyc++
			}
		case OpLoadParams:
			// The words a cycle each, or two when one crosses into the
			// next beat (the next beat comes in the cycle a beat's last
			// byte is taken), then the table a byte a cycle (the pipeline
			// takes a word a cycle).
			n, at := g("len"), pos
			if b := take(n); (len(b) == ParamBlockBytes(a.Cols) || len(b) == ParamWordBytes(a.Cols)) && g("set") < int64(len(pools)) {
				pools[g("set")] = parseParams(b, a.Cols).Pool
			}
			words := func(n int64) int64 {
				pieces := (n + 3) / 4
				if at%4 != 0 {
					pieces += (at+n-1)/8 - at/8 // a word on each beat boundary
				}
				return pieces + 1
			}
			if n == int64(ParamWordBytes(a.Cols)) {
				cyc += words(n) + 1 // and a cycle for the checks
			} else {
				cyc += words(n-256) + 256
			}
		case OpMatMul:
			M, K, N := g("m"), g("k"), g("n")
			launch(tiles((K+R-1)/R, func(int64) int64 { return M }), M, g("ub"), M*K, g("waddr"), N*K)
		case OpConvolve:
			G := func(f string) int64 { return in.Get(f) }
			cyc += div(G("h")+G("pt")+G("pb")-(G("kh")-1)*G("dh")-1) + div(G("w")+G("pl")+G("pr")-(G("kw")-1)*G("dw")-1)
			cyc++ // the checks after the divisions
			t, lastTile := convCycles(in, R, tiles)
			K := G("kh") * G("kw") * G("c")
			if G("depthwise") != 0 {
				K = G("kh") * G("kw")
			}
			launch(t, lastTile, G("ub"), G("images")*G("h")*G("w")*G("c"), G("waddr"), G("n")*K)
		case OpActivate:
			cyc += div(g("m"))
			if set := g("set"); a.Pool && set < int64(len(pools)) && pools[set].Enable {
				p := pools[set]
				cyc += div(g("fh")-int64(p.KH)) + div(g("fw")-int64(p.KW))
			}
			if g("fuse") != 0 {
				// Checked, then the next instruction's last tile reads the
				// rows out once the results before have landed.
				cyc++
				armed, aset = true, g("set")
				ready = max(cyc, landed) + 3
				flo, fhi = g("out"), g("out")+(activatePixels(g, pools, a.Pool)-1)*g("pitch")+g("n")
				continue
			}
			cyc += 2 + g("m")
			landFrom, landed = cyc, cyc+int64(drain)+1
			lo, hi = g("out"), g("out")+(activatePixels(g, pools, a.Pool)-1)*g("pitch")+g("n")
		}
	}
	return cyc, nil
}

// activatePixels is how many output pixels an ACTIVATE writes: its rows,
// or the pooled frames' outputs when its set pools.
func activatePixels(g func(string) int64, pools []PoolParams, pool bool) int64 {
	set := g("set")
	if !pool || set >= int64(len(pools)) || !pools[set].Enable {
		return g("m")
	}
	return pooledPixels(g("m"), g("fh"), g("fw"), pools[set])
}

// pooledPixels is how many output pixels pooling m rows in frames of
// fh x fw rows with p's window and strides gives.
func pooledPixels(m, fh, fw int64, p PoolParams) int64 {
	oh := (fh-int64(p.KH))/int64(max(1, p.SH)) + 1
	ow := (fw-int64(p.KW))/int64(max(1, p.SW)) + 1
	return m / max(1, fh*fw) * oh * ow
}

// convCycles counts the window generator's cycles over every output pixel
// and tile (a beat's runs do not depend on the pixel: a run that meets the
// map's edge is read with its padding lanes replaced); it returns the
// cycles and those of the last tile.
func convCycles(in Inst, R int64, tiles func(T int64, beats func(t int64) int64) int64) (int64, int64) {
	g := in.Get
	C := g("c")
	kh, kw, dw := g("kh"), g("kw"), g("dw")
	OH := int64(ConvOutput(int(g("h")), int(kh), int(g("sh")), int(g("dh")), int(g("pt")), int(g("pb"))))
	OW := int64(ConvOutput(int(g("w")), int(kw), int(g("sw")), int(dw), int(g("pl")), int(g("pr"))))
	pixels := g("images") * OH * OW
	K, cEff, passes := kh*kw*C, C, int64(1)
	if g("depthwise") != 0 {
		// One pass per lane, each over kh*kw taps of one channel.
		K, cEff, passes = kh*kw, 1, g("n")
	}
	// With dilation 1 a kernel row's taps are consecutive bytes (unless a
	// depthwise pass picks one channel of many): a run spans columns.
	wide := dw == 1 && (g("depthwise") == 0 || C == 1)
	C = cEff
	T := (K + R - 1) / R
	var last int64
	total := passes * tiles(T, func(t int64) int64 {
		k0 := t * R
		kv := min(R, K-k0)
		fx, c := k0/C%kw, k0%C
		runs := int64(0)
		for f := int64(0); f < kv; runs++ {
			span := C - c
			if wide {
				span = (kw-fx)*C - c // to the kernel row's end
			}
			cnt := min(kv-f, span)
			f += cnt
			fx += (c + cnt) / C
			c = (c + cnt) % C
			if fx == kw {
				fx = 0
			}
		}
		beats := pixels * ((runs + WindowRuns - 1) / WindowRuns)
		if t == T-1 {
			last = beats
		}
		return beats
	})
	return total, last
}
