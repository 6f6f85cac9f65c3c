package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// pipeRegs is how every pipelined block (matrix unit, requantizer,
// activation and pooling units) registers its values. A pipeline's
// registers all load on the cycles its advance signal adv is 1 and hold
// otherwise, so a stalled output freezes the whole pipeline and no beat is
// lost or repeated. Datapath registers have no reset (they are cheaper);
// flags (valid and control bits) reset to 0, so a restarted pipeline never
// sees a stale one.
type pipeRegs struct {
	m   *hdl.Module
	adv *hdl.Expr
}

// reg returns a register called name that loads e on every advance.
func (p pipeRegs) reg(name string, e *hdl.Expr) *hdl.Expr {
	g := p.group()
	r := g.reg(name, e)
	g.end()
	return r
}

// out is reg for a stage's output register, the value of the beat whose
// valid is valid: with zero (StageConfig.ZeroIdle) it is zero whenever
// valid is (zeroIdleLoad).
func (p pipeRegs) out(name string, e, valid *hdl.Expr, zero bool) *hdl.Expr {
	g := p.group()
	r := g.out(name, e, valid, zero)
	g.end()
	return r
}

// flag is reg for a valid or control bit: it resets to 0.
func (p pipeRegs) flag(name string, e *hdl.Expr) *hdl.Expr {
	g := p.group()
	r := g.flag(name, e)
	g.end()
	return r
}

// load makes a register declared elsewhere (a stage's out_valid_q) load e
// on every advance.
func (p pipeRegs) load(r, e *hdl.Expr) {
	g := p.group()
	g.set(r, e)
	g.end()
}

// delay returns e delayed by n advances (n may be 0), through registers
// called name_d1 to name_dn.
func (p pipeRegs) delay(name string, e *hdl.Expr, n int) *hdl.Expr {
	return delayLine(name, e, n, p.reg)
}

// delayFlag is delay for a flag: every register of the line resets to 0.
func (p pipeRegs) delayFlag(name string, e *hdl.Expr, n int) *hdl.Expr {
	return delayLine(name, e, n, p.flag)
}

// flagTaps returns the 1-bit flag e delayed by 0 to n advances (taps[k] is
// e delayed k), like n chained flags, but packed into shift registers
// name_v0, name_v1, ... of at most 64 bits: a simulator then shifts a whole
// line with one machine operation instead of moving n separate registers
// (Verilator keeps signals up to 64 bits in one native word). Every bit
// resets to 0, as a flag does.
func (p pipeRegs) flagTaps(name string, e *hdl.Expr, n int) []*hdl.Expr {
	taps := []*hdl.Expr{e}
	in := e
	for c := 0; len(taps) <= n; c++ {
		w := min(64, n+1-len(taps))
		r := p.m.Reg(fmt.Sprintf("%s_v%d", name, c), hdl.U(w), hdl.ResetTo(0))
		next := in
		if w > 1 {
			next = hdl.Cat(r.Slice(w-2, 0), in)
		}
		p.load(r, next)
		for k := 0; k < w; k++ {
			taps = append(taps, r.Bit(k))
		}
		in = r.Bit(w - 1)
	}
	return taps
}

func delayLine(name string, e *hdl.Expr, n int, reg func(string, *hdl.Expr) *hdl.Expr) *hdl.Expr {
	for k := 1; k <= n; k++ {
		e = reg(fmt.Sprintf("%s_d%d", name, k), e)
	}
	return e
}

// when returns the registers of a part that advances only when en is 1 as
// well (a history that shifts on valid beats only).
func (p pipeRegs) when(en *hdl.Expr) pipeRegs { return pipeRegs{m: p.m, adv: p.adv.And(en)} }

// group starts a set of registers that load together: end writes all their
// loads as one clocked block, so that a pipeline stage reads as one unit in
// the Verilog.
func (p pipeRegs) group() *regGroup { return &regGroup{p: p} }

// regGroup collects the loads of a group of pipeline registers.
type regGroup struct {
	p     pipeRegs
	loads []func()
}

// reg declares a register called name that loads e.
func (g *regGroup) reg(name string, e *hdl.Expr) *hdl.Expr {
	r := g.p.m.Reg(name, e.Shape())
	g.set(r, e)
	return r
}

// out declares a stage's output register (pipeRegs.out).
func (g *regGroup) out(name string, e, valid *hdl.Expr, zero bool) *hdl.Expr {
	if !zero {
		return g.reg(name, e)
	}
	r := g.p.m.Reg(name, e.Shape())
	zeroIdleLoad(g.p.m, g.p.adv, r, e, valid)
	return r
}

// zeroIdleLoad makes r load e where en is 1 and valid is 1, and 0 where en
// is 1 and valid is 0 or in reset: r is zero whenever the valid that goes
// with it is, from the first cycle after reset. Written so, it maps onto a
// flip-flop's enable and synchronous reset (two gates for all bits: en or
// rst, and valid and not rst); a register loaded with valid alone and reset
// apart keeps a gate per bit. The module must have a reset (a flag).
func zeroIdleLoad(m *hdl.Module, en, r, e, valid *hdl.Expr) {
	rst := m.ResetSignal().Expr()
	m.If(en.Or(rst), func() {
		m.Set(r, hdl.Mux(valid.And(rst.Not()), e, m.Const(0, e.Shape())))
	})
}

// flag declares a flag register (reset to 0) that loads e.
func (g *regGroup) flag(name string, e *hdl.Expr) *hdl.Expr {
	r := g.p.m.Reg(name, e.Shape(), hdl.ResetTo(0))
	g.set(r, e)
	return r
}

// set adds a load of a register declared elsewhere: one whose input can only
// be built once the group's other registers exist.
func (g *regGroup) set(r, e *hdl.Expr) { g.also(func() { g.p.m.Set(r, e) }) }

// also adds other clocked work (a memory write) to the group's block.
func (g *regGroup) also(f func()) { g.loads = append(g.loads, f) }

// end writes the group's loads, in the order they were added, under the
// advance.
func (g *regGroup) end() {
	g.p.m.If(g.p.adv, func() {
		for _, f := range g.loads {
			f()
		}
	})
}

// gated returns data where valid is 1 and zero elsewhere: what a top-level
// stream port drives, so that no output of the generated top is ever x,
// even before the first beat (datapath registers have no reset, and the
// valid/ready contract alone would let a payload be x while valid is 0).
func gated(m *hdl.Module, valid, data *hdl.Expr) *hdl.Expr {
	return hdl.Mux(valid, data, m.Const(0, hdl.U(data.Width())))
}
