package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// buildWS builds the weight-stationary array: the weight tile sequencing
// (shadow registers loaded row by row, swapped in by the first activation
// beat of the next tile), the skewed inputs, the grid of PEs (activations,
// swap and load flags flow right, partial sums down) and the control that
// travels beside the data to the accumulator.
func (b *mxuBuilder) buildWS() mxuResult {
	cfg, m := b.cfg, b.m
	R, C := cfg.Rows, cfg.Cols
	a := b.ain.Data
	first := b.al.first.of(a)

	// Weight tile sequencing: rows beats fill the shadow registers; the
	// first activation beat of the next tile swaps them in. A new tile may
	// start loading in the cycle its predecessor is swapped in.
	rowBits := max(1, hdl.Clog2(R))
	wrow := m.Reg("w_row", hdl.U(rowBits), hdl.ResetTo(0))
	shadowFull := m.Reg("shadow_full", hdl.U(1), hdl.ResetTo(0))
	aFire := m.Wire("a_fire", hdl.U(1))
	swapNow := m.Wire("swap_now", hdl.U(1))
	wFire := m.Wire("w_fire", hdl.U(1))
	m.Set(b.ain.Ready, b.creditOk(b.al.last.of(a), b.adv.And(first.Not().Or(shadowFull)).And(b.paramsIdle())))
	m.Set(aFire, b.ain.Valid.And(b.ain.Ready))
	m.Set(swapNow, aFire.And(first))
	m.Set(b.win.Ready, b.adv.And(shadowFull.Not().Or(swapNow)))
	m.Set(wFire, b.win.Valid.And(b.win.Ready))
	wLast := wrow.EqConst(int64(R - 1))
	m.If(wFire, func() {
		m.Set(wrow, hdl.Mux(wLast, m.Const(0, hdl.U(rowBits)), wrow.Add(m.Lit(1, 1)).Trunc(rowBits)))
	})
	m.If(wFire.And(wLast), func() { m.Set(shadowFull, m.Lit(1, 1)) }).
		ElseIf(swapNow, func() { m.Set(shadowFull, m.Lit(0, 1)) })

	// Stage 0: register the accepted beats.
	s0Valid := b.flag("s0_valid", aFire)
	s0Swap := b.flag("s0_swap", swapNow)
	s0Addr := b.reg("s0_addr", b.al.addr.of(a))
	s0Acc := b.reg("s0_acc", b.al.acc.of(a))
	s0Last := b.reg("s0_last", b.al.last.of(a))
	// The load enable of row i reaches column j j cycles after column 0,
	// with the column's skewed weight; the swap flag reaches PE (i, j) i+j
	// cycles after stage 0, so every PE on an anti-diagonal shares one tap.
	wen := make([][]*hdl.Expr, R)
	for i := 0; i < R; i++ {
		wen0 := b.flag(fmt.Sprintf("w0_wen_%d", i), wFire.And(wrow.EqConst(int64(i))))
		wen[i] = b.flagTaps(fmt.Sprintf("wen_%d", i), wen0, C-1)
	}
	swaps := b.flagTaps("swap", s0Swap, R+C-2)
	wbus := b.skewWeights("w0_w")

	peTop := NewPEWS(cfg, true)
	var peMid *PEWS
	if R > 1 {
		peMid = NewPEWS(cfg, false)
	}
	sums := make([]*hdl.Expr, C) // out_sum of the PE above, per column
	for i := 0; i < R; i++ {
		// The activation trails its row's swap flag by one cycle, so the swap
		// (end of cycle) lands exactly before the new tile's first product.
		act := b.skewAct(i, 1)
		for j := 0; j < C; j++ {
			pe := peMid
			if i == 0 {
				pe = peTop
			}
			inst := m.Instance(fmt.Sprintf("pe_%d_%d", i, j), pe.Module)
			inst.In(pe.InAct, act)
			inst.In(pe.InSwap, swaps[i+j])
			inst.In(pe.InWen, wen[i][j])
			inst.In(pe.InW, wbus[j])
			inst.In(pe.Adv, b.adv)
			if i > 0 {
				inst.In(pe.InSum, sums[j])
			}
			if j < C-1 { // the last column's activations go nowhere
				act = inst.Out(pe.OutAct)
			}
			sums[j] = inst.Out(pe.OutSum)
		}
	}

	// The beat's control reaches the accumulator with its row's sums: T
	// cycles after stage 0 (each MAC stage delays the sums by one), the
	// address earlier for the read (the accumulator's lead).
	T := R + C + 1 + cfg.MACStages
	lead := cfg.accLead()
	res := mxuResult{latency: T, sums: b.deskew(sums)}
	res.valid = b.flagTaps("ctl_valid", s0Valid, T-1)[T-1]
	// The other fields travel packed, one register per stage (addr in the
	// low bits): a simulator moves one word per stage instead of one per
	// field.
	fields := []*hdl.Expr{s0Addr, s0Acc, s0Last}
	if cfg.Pipeline.Enabled() {
		fields = append(fields, b.reg("s0_tag", b.al.tag.of(a)), b.reg("s0_raw", b.al.raw.of(a)))
	}
	var at []int // each field's low bit
	packed := make([]*hdl.Expr, len(fields))
	w := 0
	for k, f := range fields {
		at = append(at, w)
		w += f.Width()
		packed[len(fields)-1-k] = f.AsUnsigned()
	}
	line := []*hdl.Expr{hdl.Cat(packed...)}
	for k := 1; k < T; k++ {
		line = append(line, b.reg(fmt.Sprintf("ctl_d%d", k), line[k-1]))
	}
	field := func(k, d int) *hdl.Expr { return line[d].Slice(at[k]+fields[k].Width()-1, at[k]) }
	res.preAddr = field(0, T-1-lead)
	res.addr = field(0, T-1)
	if lead > 1 {
		res.preAcc = field(1, T-2)
	} else {
		res.acc = field(1, T-1)
	}
	res.last = field(2, T-1)
	if cfg.Pipeline.Enabled() {
		res.tag = field(3, T-1)
		res.raw = field(4, T-1)
	}
	return res
}
