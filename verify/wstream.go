package verify

import (
	"fmt"
	"math/big"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
)

// weightStream is what goes on w_in for a plan's dense weight rows: the
// rows themselves, or the compressed beats when the configuration puts a
// weight decoder in front of the array.
func weightStream(man *arch.Manifest, dense []*big.Int) ([]*big.Int, error) {
	if !man.Config.WeightCompression.IsCompressed() {
		return dense, nil
	}
	beats, _, _, err := compile.CompressWeights(man, dense)
	if err != nil {
		return nil, fmt.Errorf("w_in: %w", err)
	}
	return beats, nil
}

// predictCompressed is the cycle model of a WS GEMM whose weights cross
// w_in as bitmask beats (the streams never stall, as in predict): the
// weight decoder and the array's weight handshake are stepped cycle by
// cycle, since when a tile's last row reaches the shadow registers
// depends on how its bytes fall into beats. It returns what predict
// returns for a dense stream: the cycles until the last activation beat
// is in and lastRow's result (of the last column tile) has left, extra
// cycles after c_out. hold is the cycles the parameter words keep
// activations waiting.
func predictCompressed(man *arch.Manifest, g *compile.GEMMPlan, hold, lastRow, extra int) (int, error) {
	cfg := man.Config
	R, C := cfg.Rows, cfg.Cols
	beats, _, _, err := compile.CompressWeights(man, g.W)
	if err != nil {
		return 0, err
	}
	wl, al := man.Stream(arch.StreamW), man.Stream(arch.StreamA)
	type wbeat struct {
		bytes []byte
		last  bool
	}
	in := make([]wbeat, len(beats))
	for i, p := range beats {
		b, err := wl.Unpack(p, "bytes")
		if err != nil {
			return 0, err
		}
		n, err := wl.Unpack(p, "count")
		if err != nil {
			return 0, err
		}
		l, err := wl.Unpack(p, "last")
		if err != nil {
			return 0, err
		}
		for _, v := range b[:min(int(n[0]), len(b))] {
			in[i].bytes = append(in[i].bytes, byte(v))
		}
		in[i].last = l[0] != 0
	}
	first := make([]bool, len(g.A))
	for i, p := range g.A {
		f, err := al.Unpack(p, "first")
		if err != nil {
			return 0, err
		}
		first[i] = f[0] != 0
	}
	// The a_in beat that carries lastRow in the last column tile's final
	// K tile, in compile.PlanGEMM's order.
	target, idx := -1, 0
	for n0, t := 0, 0; n0 < g.N; n0, t = n0+C, t+1 {
		for mc := 0; mc < g.M; mc += cfg.AccDepth {
			m := min(g.M-mc, cfg.AccDepth)
			kt := g.KTiles[t]
			for li := 0; li < kt; li++ {
				if n0+C >= g.N && li == kt-1 && lastRow >= mc && lastRow < mc+m {
					target = idx + lastRow - mc
				}
				idx += m
			}
		}
	}
	if idx != len(g.A) || target < 0 {
		return 0, fmt.Errorf("cycle model: the plan's %d activation beats do not follow its tiles", len(g.A))
	}

	mb, B := (C+7)/8, C
	S := mb + 2*B
	var buf []byte // the decoder's buffer: fill = len(buf)
	tileEnd, rows, outValid := false, 0, false
	wrow, shadowFull := 0, false
	wi, ai := 0, 0
	fired := make([]int, len(g.A))
	for c := 0; ai < len(g.A); c++ {
		if c > 1_000_000+100*(len(g.A)+len(beats)) {
			return 0, fmt.Errorf("cycle model: the compressed weight stream does not drain")
		}
		// The array: activations wait for the parameters and, on a tile's
		// first beat, for the shadow registers; weights enter while the
		// shadow registers are free or being swapped in.
		aFire := c >= hold && (!first[ai] || shadowFull)
		swap := aFire && first[ai]
		wReady := !shadowFull || swap
		// The decoder.
		need, complete := mb, false
		if len(buf) >= mb {
			for j := 0; j < C; j++ {
				if buf[j/8]>>(j%8)&1 != 0 {
					need++
				}
			}
			complete = len(buf) >= need
		}
		outFree := !outValid || wReady
		wFire := outValid && wReady
		emit := complete && rows < R && outFree
		drop := complete && rows == R && !tileEnd
		pad := !complete && tileEnd && rows < R && outFree
		finish := tileEnd && rows == R
		consume := 0
		switch {
		case emit || drop:
			consume = need
		case pad || finish:
			consume = len(buf)
		}
		inFire := wi < len(in) && !tileEnd && len(buf) <= S-B
		// End of the cycle.
		buf = buf[consume:]
		if inFire {
			buf = append(append([]byte(nil), buf...), in[wi].bytes...)
		}
		switch {
		case finish:
			tileEnd, rows = false, 0
		case inFire && in[wi].last:
			tileEnd = true
		}
		if inFire {
			wi++
		}
		if emit || pad {
			rows++
		}
		if outFree {
			outValid = emit || pad
		}
		if wFire {
			if wrow == R-1 {
				shadowFull = true
			}
			wrow = (wrow + 1) % R
		}
		if swap && !(wFire && wrow == 0) {
			shadowFull = false
		}
		if aFire {
			fired[ai] = c
			ai++
		}
	}
	return max(fired[len(fired)-1], fired[target]+man.Derived.Latency+extra) + 1, nil
}
