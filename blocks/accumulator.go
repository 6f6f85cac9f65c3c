package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// Accumulator is the accumulator memory: Depth rows of Cols lanes, AccBits
// each. A write either overwrites a row or adds to it (two's complement
// wrap). Reads are synchronous, so the address arrives one cycle ahead of
// the data (in_pre_*); a one-entry bypass forwards a write to the very next
// access of the same row, which the memory read would otherwise miss.
type Accumulator struct {
	*hdl.Module
	Adv, PreAddr, Valid, Addr, Acc, Last *hdl.Expr
	Sum                                  []*hdl.Expr
	OutValid, OutAddr                    *hdl.Expr
	Out                                  []*hdl.Expr
}

// NewAccumulator builds the memory and its read-modify-write datapath.
func NewAccumulator(cfg MatrixConfig) *Accumulator {
	accShape := shapeOf(cfg.AccBits, cfg.ProductSigned())
	aw := cfg.AccAddrBits()
	m := hdl.NewModule(fmt.Sprintf("accumulator_c%d_d%d_%s", cfg.Cols, cfg.AccDepth, sig(cfg.AccBits, cfg.ProductSigned())))
	m.Comment("Accumulator memory: overwrite or accumulate per row, two's complement wrap.")
	a := &Accumulator{Module: m,
		Adv:     m.Input("in_adv", hdl.U(1)),
		PreAddr: m.Input("in_pre_addr", hdl.U(aw)),
		Valid:   m.Input("in_valid", hdl.U(1)),
		Addr:    m.Input("in_addr", hdl.U(aw)),
		Acc:     m.Input("in_acc", hdl.U(1)),
		Last:    m.Input("in_last", hdl.U(1)),
	}
	for j := 0; j < cfg.Cols; j++ {
		a.Sum = append(a.Sum, m.Input(fmt.Sprintf("in_sum_%d", j), accShape))
	}
	a.OutValid = m.Output("out_valid", hdl.U(1))
	a.OutAddr = m.Output("out_addr", hdl.U(aw))
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
