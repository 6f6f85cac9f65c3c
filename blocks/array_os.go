package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// OSGap is the minimum spacing, in cycles, between the last beats of two OS
// tiles: a tile's results must be read out of the array (one row per
// cycle) before the next tile overwrites them.
func (c MatrixConfig) OSGap() int { return max(c.Rows, c.Cols) }

// osTile is the control of an OS tile as stage 0 registered it, for the
// readout.
type osTile struct {
	last, addr, acc *hdl.Expr
}

// buildOS builds the output-stationary array: a_in and w_in beats enter
// together, activations (with the valid, first and last flags) flow right,
// weights flow down, and every PE accumulates its output over K. The
// finished tile is then read out one row per cycle (readoutOS).
func (b *mxuBuilder) buildOS() mxuResult {
	cfg, m := b.cfg, b.m
	R, C := cfg.Rows, cfg.Cols
	a := b.ain.Data
	last := b.al.last.of(a)

	// a_in and w_in fire together. A last beat waits until the previous
	// tile's readout can no longer be disturbed (OSGap).
	gapBits := hdl.BitsFor(cfg.OSGap())
	gap := m.Reg("gap", hdl.U(gapBits), hdl.ResetTo(0))
	ok := m.Wire("beat_ok", hdl.U(1))
	fire := m.Wire("fire", hdl.U(1))
	m.Set(ok, b.adv.And(last.Not().Or(gap.EqConst(0))).And(b.paramsIdle()))
	m.Set(b.ain.Ready, ok.And(b.win.Valid))
	m.Set(b.win.Ready, ok.And(b.ain.Valid))
	m.Set(fire, ok.And(b.ain.Valid).And(b.win.Valid))
	m.If(fire.And(last), func() {
		m.Set(gap, m.Const(int64(cfg.OSGap()-1), hdl.U(gapBits)))
	}).ElseIf(gap.EqConst(0).Not().And(b.adv), func() {
		m.Set(gap, gap.Sub(m.Lit(1, 1)).Trunc(gapBits))
	})

	s0Valid := b.flag("s0_valid", fire)
	s0First := b.flag("s0_first", fire.And(b.al.first.of(a)))
	tile := osTile{last: b.flag("s0_last", fire.And(last))}
	tile.addr = b.reg("s0_addr", b.al.addr.of(a))
	tile.acc = b.reg("s0_acc", b.al.acc.of(a))

	pe := NewPEOS(cfg)
	wdown := b.skewWeights("s0_w")
	results := make([][]*hdl.Expr, R)
	for i := 0; i < R; i++ {
		act := b.skewAct(i, 0)
		valid := b.delayFlag(fmt.Sprintf("vskew_%d", i), s0Valid, i)
		first := b.delayFlag(fmt.Sprintf("fskew_%d", i), s0First, i)
		lastF := b.delayFlag(fmt.Sprintf("lskew_%d", i), tile.last, i)
		for j := 0; j < C; j++ {
			inst := m.Instance(fmt.Sprintf("pe_%d_%d", i, j), pe.Module)
			inst.In(pe.InAct, act)
			inst.In(pe.InW, wdown[j])
			inst.In(pe.InValid, valid)
			inst.In(pe.InFirst, first)
			inst.In(pe.InLast, lastF)
			inst.In(pe.Adv, b.adv)
			if j < C-1 {
				act, valid, first, lastF = inst.Out(pe.OutAct), inst.Out(pe.OutValid), inst.Out(pe.OutFirst), inst.Out(pe.OutLast)
			}
			if i < R-1 {
				wdown[j] = inst.Out(pe.OutW)
			}
			results[i] = append(results[i], inst.Out(pe.Result))
		}
	}
	return b.readoutOS(tile, results)
}

// readoutOS reads a finished tile out of the PEs' result registers, one row
// per cycle, into the accumulator. Row i of a tile is complete
// Cols+1+MACStages+i cycles after its last beat was registered, so reading
// row 0 at Cols+MACStages cycles after stage 0 never overtakes the array.
func (b *mxuBuilder) readoutOS(tile osTile, results [][]*hdl.Expr) mxuResult {
	cfg, m := b.cfg, b.m
	R, C := cfg.Rows, cfg.Cols
	a := b.ain.Data
	D := C + cfg.MACStages // stage 0 to the readout of row 0
	trig := b.delayFlag("rd_trig", tile.last, D)
	trigAddr := b.delay("rd_trig_addr", tile.addr, D)
	trigAcc := b.delay("rd_trig_acc", tile.acc, D)
	rowBits := max(1, hdl.Clog2(R))
	rowsW := hdl.BitsFor(R + 1)
	trigRows := b.delay("rd_trig_rows", b.reg("s0_rows", b.al.rows.of(a)), D)
	// The readout stops after row rows-1 (rows 0 is treated as 1).
	lastRow := m.Wire("rd_last_row", hdl.U(rowBits))
	rowsQ := m.Reg("rd_rows", hdl.U(rowsW))
	var trigTag, trigRaw, tagQ, rawQ *hdl.Expr
	if cfg.Pipeline.Enabled() {
		trigTag = b.delay("rd_trig_tag", b.reg("s0_tag", b.al.tag.of(a)), D)
		trigRaw = b.delay("rd_trig_raw", b.reg("s0_raw", b.al.raw.of(a)), D)
		tagQ = m.Reg("rd_tag", trigTag.Shape())
		rawQ = m.Reg("rd_raw", hdl.U(1))
	}
	busy := m.Reg("rd_busy", hdl.U(1), hdl.ResetTo(0))
	row := m.Reg("rd_row", hdl.U(rowBits), hdl.ResetTo(0))
	base := m.Reg("rd_base", hdl.U(b.aw))
	accQ := m.Reg("rd_acc", hdl.U(1))
	curRow := m.Wire("rd_cur_row", hdl.U(rowBits))
	curValid := m.Wire("rd_cur_valid", hdl.U(1))
	curAddr := m.Wire("rd_cur_addr", hdl.U(b.aw))
	curAcc := m.Wire("rd_cur_acc", hdl.U(1))
	m.Set(curRow, hdl.Mux(trig, m.Const(0, hdl.U(rowBits)), row))
	m.Set(curValid, trig.Or(busy))
	m.Set(curAddr, hdl.Mux(trig, trigAddr, base).Add(hdl.ZExt(curRow, b.aw)).Trunc(b.aw))
	m.Set(curAcc, hdl.Mux(trig, trigAcc, accQ))
	rowsNow := hdl.Mux(trig, trigRows, rowsQ)
	// last row = max(rows, 1) - 1 < Rows, so it fits the row counter's width
	m.Set(lastRow, hdl.Mux(rowsNow.EqConst(0), m.Const(0, hdl.U(rowsW)), rowsNow.Sub(m.Lit(1, 1)).Trunc(rowsW)).Trunc(rowBits))
	m.If(b.adv, func() {
		m.If(trig, func() {
			if R > 1 { // a one-row array never reads out more than one row
				m.Set(busy, trigRows.Gt(m.Const(1, hdl.U(rowsW))))
			} else {
				m.Set(busy, m.Lit(0, 1))
			}
			m.Set(rowsQ, trigRows)
			m.Set(row, m.Const(int64(1%(1<<rowBits)), hdl.U(rowBits)))
			m.Set(base, trigAddr)
			m.Set(accQ, trigAcc)
			if tagQ != nil {
				m.Set(tagQ, trigTag)
				m.Set(rawQ, trigRaw)
			}
		}).ElseIf(busy, func() {
			m.Set(row, row.Add(m.Lit(1, 1)).Trunc(rowBits))
			m.If(row.Eq(lastRow), func() { m.Set(busy, m.Lit(0, 1)) })
		})
	})

	// The selected row is registered (rd_*_q, rd_sum_*), and registered
	// once more (rd_*_q2, rd_sum_*2) when the accumulator wants its read address two cycles
	// ahead.
	twice := cfg.accLead() > 1
	stage := func(name string, e *hdl.Expr, reg func(string, *hdl.Expr) *hdl.Expr) *hdl.Expr {
		e = reg(name, e)
		if twice {
			e = reg(name+"2", e)
		}
		return e
	}
	res := mxuResult{latency: D + 1 + cfg.accLead()}
	res.preAddr = curAddr
	res.valid = stage("rd_valid_q", curValid, b.flag)
	res.addr = stage("rd_addr_q", curAddr, b.reg)
	if twice {
		res.preAcc = b.reg("rd_acc_q", curAcc)
	} else {
		res.acc = b.reg("rd_acc_q", curAcc)
	}
	res.last = m.Lit(1, 1)
	if tagQ != nil {
		res.tag = stage("rd_tag_q", hdl.Mux(trig, trigTag, tagQ), b.reg)
		res.raw = stage("rd_raw_q", hdl.Mux(trig, trigRaw, rawQ), b.reg)
	}
	sumS := shapeOf(cfg.SumBits(), cfg.ProductSigned())
	for j := 0; j < C; j++ {
		sel := m.Wire(fmt.Sprintf("rd_sel_%d", j), sumS)
		m.Set(sel, results[0][j])
		if R > 1 {
			m.Switch(curRow, func(sw *hdl.SwitchBuilder) {
				for i := 1; i < R; i++ {
					sw.Case([]int64{int64(i)}, func() { m.Set(sel, results[i][j]) })
				}
			})
		}
		res.sums = append(res.sums, stage(fmt.Sprintf("rd_sum_%d", j), sel, b.reg)) // OS sums are AccBits wide
	}
	return res
}
