package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// Accumulator is the accumulator memory: Depth rows of Cols lanes, AccBits
// each. A write either overwrites a row or adds to it (two's complement
// wrap). Reads are synchronous, so the address arrives Lead cycles ahead
// of the data (in_pre_addr); a bypass forwards a write to the accesses of
// the same row that the memory read would otherwise miss.
type Accumulator struct {
	*hdl.Module
	Adv, PreAddr, Valid, Addr, Acc, Last *hdl.Expr
	Sum                                  []*hdl.Expr
	OutValid, OutAddr                    *hdl.Expr
	Out                                  []*hdl.Expr
	// Lead is how many cycles in_pre_addr comes before the row's in_valid,
	// in_addr and in_sum_*: 1, or 2 with MAC stages. With Lead 2 the
	// accumulate flag comes one cycle before the row too (PreAcc, and Acc
	// is nil), and the results leave OutDelay = 1 cycle after the row
	// (registered); otherwise in the row's cycle (OutDelay 0).
	Lead, OutDelay int
	PreAcc         *hdl.Expr
}

// NewAccumulator builds the memory and its read-modify-write datapath.
func NewAccumulator(cfg MatrixConfig) *Accumulator {
	accShape := shapeOf(cfg.AccBits, cfg.ProductSigned())
	aw := cfg.AccAddrBits()
	name := fmt.Sprintf("accumulator_c%d_d%d_%s", cfg.Cols, cfg.AccDepth, sig(cfg.AccBits, cfg.ProductSigned()))
	if cfg.MACStages > 0 {
		name += "_p"
	}
	m := hdl.NewModule(name)
	m.Comment("Accumulator memory: overwrite or accumulate per row, two's complement wrap.")
	a := &Accumulator{Module: m, Lead: 1,
		Adv:     m.Input("in_adv", hdl.U(1)),
		PreAddr: m.Input("in_pre_addr", hdl.U(aw)),
		Valid:   m.Input("in_valid", hdl.U(1)),
		Addr:    m.Input("in_addr", hdl.U(aw)),
	}
	if cfg.MACStages > 0 {
		a.PreAcc = m.Input("in_pre_acc", hdl.U(1))
	} else {
		a.Acc = m.Input("in_acc", hdl.U(1))
	}
	a.Last = m.Input("in_last", hdl.U(1))
	for j := 0; j < cfg.Cols; j++ {
		a.Sum = append(a.Sum, m.Input(fmt.Sprintf("in_sum_%d", j), accShape))
	}
	a.OutValid = m.Output("out_valid", hdl.U(1))
	a.OutAddr = m.Output("out_addr", hdl.U(aw))
	if cfg.MACStages > 0 {
		a.Lead, a.OutDelay = 2, 1
		a.buildPipelined(cfg)
		return a
	}
	m.Set(a.OutValid, a.Valid.And(a.Last))
	m.Set(a.OutAddr, a.Addr)

	// The bypass advances with the matrix unit (in_adv), like the memory read.
	regs := pipeRegs{m: m, adv: a.Adv}
	g := regs.group()
	bypValid := g.flag("byp_valid", a.Valid)
	bypAddr := g.reg("byp_addr", a.Addr)
	hit := m.Wire("byp_hit", hdl.U(1))
	m.Set(hit, bypValid.And(bypAddr.Eq(a.Addr)))
	g.end()
	for j := 0; j < cfg.Cols; j++ {
		mem := m.Memory(fmt.Sprintf("mem_%d", j), accShape, cfg.AccDepth, nil)
		rd := mem.Read(fmt.Sprintf("rd_%d", j), a.PreAddr, a.Adv)
		byp := m.Reg(fmt.Sprintf("byp_%d", j), accShape)
		old := hdl.Mux(hit, byp, rd)
		next := m.Wire(fmt.Sprintf("next_%d", j), accShape)
		m.Set(next, hdl.Mux(a.Acc, old.Add(a.Sum[j]).Trunc(cfg.AccBits), a.Sum[j]))
		out := m.Output(fmt.Sprintf("out_%d", j), accShape)
		m.Set(out, next)
		a.Out = append(a.Out, out)
		g := regs.group()
		g.set(byp, next)
		g.also(func() { m.If(a.Valid, func() { mem.Write(a.Addr, next) }) })
		g.end()
	}
	return a
}

// buildPipelined builds the read-modify-write in two stages, so that no
// path has both the memory read and the add, and the add has no logic in
// front of it. In the read stage, a row's old value is chosen and
// registered (old_*): 0 when the row overwrites; else the sum being
// computed in the add stage when that is the same row (its write is one
// cycle too late for this row's read); else the last row written (byp_*,
// whose write the read missed by a cycle) when it is the same row; else
// the memory's read data. The add stage then adds the registered old
// value and the sum straight into the result register (byp_*), which is
// also the output.
func (a *Accumulator) buildPipelined(cfg MatrixConfig) {
	m := a.Module
	accShape := shapeOf(cfg.AccBits, cfg.ProductSigned())
	regs := pipeRegs{m: m, adv: a.Adv}
	// The read stage's row: the one whose read data rd_* hold.
	rdAddr := regs.reg("rd_addr", a.PreAddr)
	rdAcc := a.PreAcc
	g := regs.group()
	bypValid := g.flag("byp_valid", a.Valid)
	bypAddr := g.reg("byp_addr", a.Addr)
	outValid := g.flag("out_valid_q", a.Valid.And(a.Last))
	g.end()
	m.Set(a.OutValid, outValid)
	m.Set(a.OutAddr, bypAddr)
	fwdAdd := m.Wire("fwd_add", hdl.U(1)) // the row in the add stage
	m.Set(fwdAdd, rdAcc.And(a.Valid).And(a.Addr.Eq(rdAddr)))
	fwdByp := m.Wire("fwd_byp", hdl.U(1)) // the row written last
	m.Set(fwdByp, rdAcc.And(bypValid).And(bypAddr.Eq(rdAddr)))
	zero := m.Const(0, accShape)
	for j := 0; j < cfg.Cols; j++ {
		mem := m.Memory(fmt.Sprintf("mem_%d", j), accShape, cfg.AccDepth, nil)
		rd := mem.Read(fmt.Sprintf("rd_%d", j), a.PreAddr, a.Adv)
		byp := m.Reg(fmt.Sprintf("byp_%d", j), accShape)
		old := m.Reg(fmt.Sprintf("old_%d", j), accShape)
		next := m.Wire(fmt.Sprintf("next_%d", j), accShape)
		m.Set(next, old.Add(a.Sum[j]).Trunc(cfg.AccBits))
		// The late input (next) goes through the last mux only.
		early := hdl.Mux(fwdByp, byp, hdl.Mux(rdAcc, rd, zero))
		out := m.Output(fmt.Sprintf("out_%d", j), accShape)
		m.Set(out, byp)
		a.Out = append(a.Out, out)
		g := regs.group()
		g.set(old, hdl.Mux(fwdAdd, next, early))
		g.set(byp, next)
		g.also(func() { m.If(a.Valid, func() { mem.Write(a.Addr, next) }) })
		g.end()
	}
}
