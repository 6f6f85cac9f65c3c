package verify

import (
	"math/rand/v2"

	"github.com/tpugen/tpugen/core"
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
