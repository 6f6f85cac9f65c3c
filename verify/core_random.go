package verify

import (
	"maps"
	"math/rand/v2"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/quant"
)

// RandomCoreProgram draws a program of host transfers (READ_HOST,
// WRITE_HOST, READ_WEIGHTS, SYNC) ending in HALT, with its host stream,
// for a core of cfg's sizes. Most programs run to HALT; with bad set, some
// carry one fault core.Machine defines (an address past a buffer, a read of
// bytes never written, an illegal word, a short host stream, no HALT).
func RandomCoreProgram(r *rand.Rand, cfg core.Config, n int, bad bool) ([]core.Word, []byte) {
	var insts []core.Inst
	var data []byte
	written := make([]bool, cfg.UBBytes)
	span := func(size int) (int, int) {
		l := 1 + r.IntN(min(size, 40))
		if r.IntN(8) == 0 {
			l = r.IntN(3) // empty and tiny transfers
		}
		return r.IntN(size - l + 1), l
	}
	for i := 0; i < n; i++ {
		switch k := r.IntN(10); {
		case k < 4:
			a, l := span(cfg.UBBytes)
			insts = append(insts, core.MustNew(core.OpReadHost, map[string]int64{"ub": int64(a), "len": int64(l)}))
			for j := 0; j < l; j++ {
				data = append(data, byte(r.IntN(256)))
				written[a+j] = true
			}
		case k < 7:
			// Read back what was written, mostly.
			a, l := span(cfg.UBBytes)
			for t := 0; t < 20 && !allWritten(written, a, l); t++ {
				a, l = span(cfg.UBBytes)
			}
			if !allWritten(written, a, l) {
				continue
			}
			insts = append(insts, core.MustNew(core.OpWriteHost, map[string]int64{"ub": int64(a), "len": int64(l)}))
		case k < 9:
			a, l := span(cfg.WeightBytes)
			insts = append(insts, core.MustNew(core.OpReadWeights, map[string]int64{"waddr": int64(a), "len": int64(l)}))
			for j := 0; j < l; j++ {
				data = append(data, byte(r.IntN(256)))
			}
		default:
			insts = append(insts, core.MustNew(core.OpSync, nil))
		}
	}
	insts = append(insts, core.MustNew(core.OpHalt, nil))
	words := make([]core.Word, len(insts))
	for i, in := range insts {
		w, err := in.Encode()
		if err != nil {
			panic("verify: " + err.Error())
		}
		words[i] = w
	}
	if !bad {
		return words, data
	}
	at := r.IntN(len(words))
	switch r.IntN(7) {
	case 0: // an address past the unified buffer
		w, _ := core.MustNew(core.OpReadHost, map[string]int64{"ub": int64(cfg.UBBytes - r.IntN(4)), "len": int64(4 + r.IntN(4))}).Encode()
		words[at] = w
	case 1: // past the weight memory
		w, _ := core.MustNew(core.OpReadWeights, map[string]int64{"waddr": int64(cfg.WeightBytes - 2), "len": 3}).Encode()
		words[at] = w
	case 2: // a read of bytes never written, after some that were
		a := r.IntN(cfg.UBBytes - 20)
		w, _ := core.MustNew(core.OpWriteHost, map[string]int64{"ub": int64(a), "len": 20}).Encode()
		words[at] = w
	case 3: // an illegal opcode
		words[at] = core.Word{uint64(9 + r.IntN(7))}
	case 4: // reserved bits set
		words[at][3] |= 1 << 63
	case 5: // a short host stream
		data = data[:r.IntN(len(data)+1)]
	case 6: // no halt
		words = words[:len(words)-1]
	}
	return words, data
}

func allWritten(w []bool, a, l int) bool {
	for i := a; i < a+l; i++ {
		if !w[i] {
			return false
		}
	}
	return true
}

// RandomComputeProgram draws a program that computes one layer on the
// core: the inputs and weights come from the host, a parameter set is
// loaded (without its table half the time when the activation reads
// none), one or two MATMULs (the second accumulating) fill accumulator
// rows and ACTIVATE turns them into int8 pixels (requantized, through a
// random activation, pooled or not) that WRITE_HOST sends back.
func RandomComputeProgram(r *rand.Rand, cfg core.Config) ([]core.Word, []byte) {
	a := cfg.Arch
	C := a.Cols
	var insts []core.Inst
	var data []byte
	add := func(op core.Opcode, v map[string]int64) { insts = append(insts, core.MustNew(op, v)) }
	bytes := func(n int) {
		for i := 0; i < n; i++ {
			data = append(data, byte(r.IntN(256)))
		}
	}
	// The layer's shape: pooled frames need whole fh x fw frames of rows.
	p := &core.ParamSet{Lanes: make([]core.LaneParams, C)}
	fh, fw, M := 1, 1, 1+r.IntN(16)
	if a.Pool && r.IntN(2) == 0 {
		p.Pool = core.PoolParams{Enable: true, Kind: arch.PoolKind(r.IntN(2)),
			KH: 1 + r.IntN(a.PoolWindow), KW: 1 + r.IntN(a.PoolWindow), SH: 1 + r.IntN(a.PoolWindow), SW: 1 + r.IntN(a.PoolWindow)}
		fh = p.Pool.KH + r.IntN(3)
		fw = p.Pool.KW + r.IntN(3)
		M = fh * fw * (1 + r.IntN(2))
	}
	K, N := 1+r.IntN(12), 1+r.IntN(C)
	for M*K > cfg.UBBytes/2 {
		K = max(1, K/2)
	}
	acc := r.IntN(a.AccDepth - M + 1)
	add(core.OpReadHost, map[string]int64{"ub": 0, "len": int64(M * K)})
	bytes(M * K)
	add(core.OpReadWeights, map[string]int64{"waddr": 0, "len": int64(N * K)})
	bytes(N * K)
	set := r.IntN(a.ParamSets)
	for j := range p.Lanes {
		mult, shift := quant.QuantizeMultiplier(0.0005 + 0.02*r.Float64())
		lo := int32(r.IntN(64) - 128)
		p.Lanes[j] = core.LaneParams{Bias: int32(r.IntN(2001) - 1000), Multiplier: mult, Shift: int32(shift),
			OutZP: int32(r.IntN(41) - 20), ActMin: lo, ActMax: lo + int32(r.IntN(int(127-lo)+1))}
	}
	switch k := r.IntN(3); {
	case k == 1 && a.Activation.HasLeaky():
		lk, err := quant.PrepareLeakyReLU(quant.Params{Scale: 0.05, ZeroPoint: int32(r.IntN(21) - 10)},
			quant.Params{Scale: 0.04, ZeroPoint: int32(r.IntN(21) - 10)}, 0.1+0.2*r.Float32())
		if err == nil {
			p.Act, p.Leaky = arch.ActLeaky, lk
		}
	case k == 2 && a.Activation.HasTable():
		p.Act = arch.ActTable
		for x := range p.Table {
			p.Table[x] = int8(r.IntN(256) - 128)
		}
	}
	blk := p.Bytes(C)
	if p.Act != arch.ActTable && r.IntN(2) == 0 {
		blk = blk[:core.ParamWordBytes(C)] // the words alone: no table to load
	}
	add(core.OpLoadParams, map[string]int64{"set": int64(set), "len": int64(len(blk))})
	data = append(data, blk...)
	pixels := M
	if p.Pool.Enable {
		pixels = M / (fh * fw) * core.ConvOutput(fh, p.Pool.KH, p.Pool.SH, 1, 0, 0) * core.ConvOutput(fw, p.Pool.KW, p.Pool.SW, 1, 0, 0)
	}
	n := 1 + r.IntN(N)
	pitch := n + r.IntN(3)
	out := cfg.UBBytes - (pixels-1)*pitch - n - r.IntN(8)
	activate := map[string]int64{"acc": int64(acc), "m": int64(M), "n": int64(n), "set": int64(set),
		"out": int64(out), "pitch": int64(pitch), "fh": int64(fh), "fw": int64(fw)}
	// Half the time the activate is fused: it comes before the last
	// matmul, which carries its rows out.
	fuse, second := r.IntN(2) == 0, r.IntN(2) == 0
	if fuse && !second {
		activate["fuse"] = 1
		add(core.OpActivate, activate)
	}
	add(core.OpMatMul, map[string]int64{"ub": 0, "m": int64(M), "k": int64(K), "waddr": 0, "n": int64(N), "acc": int64(acc), "accumulate": int64(r.IntN(2))})
	if second {
		// A second reduction over other inputs, added to the same rows.
		K2 := 1 + r.IntN(8)
		ub2, w2 := cfg.UBBytes/2, N*K
		add(core.OpReadHost, map[string]int64{"ub": int64(ub2), "len": int64(M * K2)})
		bytes(M * K2)
		add(core.OpReadWeights, map[string]int64{"waddr": int64(w2), "len": int64(N * K2)})
		bytes(N * K2)
		if fuse {
			activate["fuse"] = 1
			add(core.OpActivate, activate)
		}
		add(core.OpMatMul, map[string]int64{"ub": int64(ub2), "m": int64(M), "k": int64(K2), "waddr": int64(w2), "n": int64(N), "acc": int64(acc), "accumulate": 1})
	}
	if !fuse {
		add(core.OpActivate, activate)
	}
	if pitch == n {
		add(core.OpWriteHost, map[string]int64{"ub": int64(out), "len": int64(pixels * n)})
	} else {
		for px := 0; px < pixels; px++ {
			add(core.OpWriteHost, map[string]int64{"ub": int64(out + px*pitch), "len": int64(n)})
		}
	}
	add(core.OpHalt, nil)
	words := make([]core.Word, len(insts))
	for i, in := range insts {
		w, err := in.Encode()
		if err != nil {
			panic("verify: " + err.Error())
		}
		words[i] = w
	}
	return words, data
}

// RandomConvProgram draws a program that convolves NHWC maps on the core
// (the window generated on chip: stride, dilation, padding holding the
// input zero point, a third of them depthwise), activates the accumulator
// rows and sends them back: three convolutions of different shapes, so a
// program covers runs of taps across kernel columns, channels and edges,
// each run twice, the second time while (or after) the first's results land.
func RandomConvProgram(r *rand.Rand, cfg core.Config) ([]core.Word, []byte) {
	a := cfg.Arch
	var insts []core.Inst
	var data []byte
	add := func(op core.Opcode, v map[string]int64) { insts = append(insts, core.MustNew(op, v)) }
	p := &core.ParamSet{Lanes: make([]core.LaneParams, a.Cols)}
	for j := range p.Lanes {
		mult, shift := quant.QuantizeMultiplier(0.001 + 0.02*r.Float64())
		p.Lanes[j] = core.LaneParams{Bias: int32(r.IntN(2001) - 1000), Multiplier: mult, Shift: int32(shift), OutZP: int32(r.IntN(21) - 10), ActMin: -128, ActMax: 127}
	}
	blk := p.Bytes(a.Cols)
	add(core.OpLoadParams, map[string]int64{"set": 0, "len": int64(len(blk))})
	data = append(data, blk...)
	for range 3 {
		var imgs, h, w, c, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, oh, ow int
		for {
			imgs, h, w, c = 1+r.IntN(2), 1+r.IntN(8), 1+r.IntN(8), 1+r.IntN(6)
			if r.IntN(3) == 0 {
				c = 1 // one-channel maps
			}
			kh, kw, sh, sw, dh, dw = 1+r.IntN(3), 1+r.IntN(3), 1+r.IntN(2), 1+r.IntN(2), 1+r.IntN(2), 1+r.IntN(2)
			if r.IntN(6) == 0 {
				// Now and then a kernel up to 9 rows by 7 columns.
				kh, kw, dh, dw = 1+r.IntN(9), 1+r.IntN(7), 1, 1
				h, w = max(h, kh-2), max(w, kw-2)
			}
			pt, pb, pl, pr = r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)
			oh, ow = core.ConvOutput(h, kh, sh, dh, pt, pb), core.ConvOutput(w, kw, sw, dw, pl, pr)
			if oh > 0 && ow > 0 && imgs*oh*ow <= a.AccDepth && imgs*h*w*c <= cfg.UBBytes/2 {
				break
			}
		}
		K, N := kh*kw*c, 1+r.IntN(a.Cols)
		N = max(1, min(N, cfg.WeightBytes/K)) // a big kernel's weights fit
		dw1, c0 := r.IntN(3) == 0, 0
		if dw1 {
			// Depthwise: lane o convolves channel c0+o with its kh*kw weights.
			K, N = kh*kw, 1+r.IntN(min(a.Cols, c))
			c0 = r.IntN(c - N + 1)
		}
		M := imgs * oh * ow
		// The map at 0 and the results at the end; or (a third of the
		// time, when it fits) the results from 0 and the map from their
		// last pixel on, so the second convolution's first reads are the
		// first activate's last results.
		in0, out := 0, cfg.UBBytes-M*N
		if r.IntN(3) == 0 && (M-1)*N+imgs*h*w*c <= cfg.UBBytes {
			in0, out = (M-1)*N, 0
		}
		add(core.OpReadHost, map[string]int64{"ub": int64(in0), "len": int64(imgs * h * w * c)})
		for i := 0; i < imgs*h*w*c; i++ {
			data = append(data, byte(r.IntN(256)))
		}
		add(core.OpReadWeights, map[string]int64{"waddr": 0, "len": int64(N * K)})
		for i := 0; i < N*K; i++ {
			data = append(data, byte(r.IntN(255)-127))
		}
		acc := r.IntN(a.AccDepth - M + 1)
		conv := map[string]int64{"ub": int64(in0), "images": int64(imgs), "h": int64(h), "w": int64(w), "c": int64(c),
			"kh": int64(kh), "kw": int64(kw), "sh": int64(sh), "sw": int64(sw), "dh": int64(dh), "dw": int64(dw),
			"pt": int64(pt), "pb": int64(pb), "pl": int64(pl), "pr": int64(pr), "zp": int64(r.IntN(256) - 128),
			"waddr": 0, "n": int64(N), "acc": int64(acc), "accumulate": int64(r.IntN(2)), "depthwise": b2i(dw1), "c0": int64(c0)}
		// The activate's results land while new weights and the second
		// convolution of the same map run, or (results over the map) the
		// convolution right after it waits for them and reads them. Half
		// the time (results apart from the map) it is fused, before the
		// convolution whose last tile reads its rows out.
		activate := map[string]int64{"acc": int64(acc), "m": int64(M), "n": int64(N), "set": 0, "out": int64(out), "pitch": int64(N), "fh": 1, "fw": 1}
		back := -1 // a second fused pair's results
		if out != 0 && r.IntN(2) == 0 {
			activate["fuse"] = 1
			add(core.OpActivate, activate)
			add(core.OpConvolve, conv)
			delete(activate, "fuse")
			if out2 := out - M*N; out2 >= imgs*h*w*c && r.IntN(2) == 0 {
				// Back to back, as the compiler emits them: the second
				// pair's last tile waits for the first's results to land.
				acc2 := int64(r.IntN(a.AccDepth - M + 1))
				a2, c2 := maps.Clone(activate), maps.Clone(conv)
				a2["acc"], a2["out"], a2["fuse"], c2["acc"] = acc2, int64(out2), 1, acc2
				add(core.OpActivate, a2)
				add(core.OpConvolve, c2)
				back = out2
			}
		} else {
			add(core.OpConvolve, conv)
			add(core.OpActivate, activate)
		}
		if out != 0 {
			add(core.OpReadWeights, map[string]int64{"waddr": 0, "len": int64(N * K)})
			for i := 0; i < N*K; i++ {
				data = append(data, byte(r.IntN(255)-127))
			}
		}
		conv["accumulate"] = 0
		add(core.OpConvolve, conv)
		add(core.OpWriteHost, map[string]int64{"ub": int64(out), "len": int64(M * N)})
		add(core.OpActivate, activate)
		add(core.OpWriteHost, map[string]int64{"ub": int64(out), "len": int64(M * N)})
		if back >= 0 {
			add(core.OpWriteHost, map[string]int64{"ub": int64(back), "len": int64(M * N)})
		}
	}
	add(core.OpHalt, nil)
	words := make([]core.Word, len(insts))
	for i, in := range insts {
		w, err := in.Encode()
		if err != nil {
			panic("verify: " + err.Error())
		}
		words[i] = w
	}
	return words, data
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
