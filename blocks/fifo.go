package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// FIFOConfig sizes a valid/ready FIFO.
type FIFOConfig struct {
	Depth int // entries
	Width int // payload bits
}

// Validate checks the sizes.
func (c FIFOConfig) Validate() error {
	if c.Depth < 1 || c.Depth > 256 {
		return fmt.Errorf("fifo: depth %d must be in [1, 256]", c.Depth)
	}
	if c.Width < 1 || c.Width > 4096 {
		return fmt.Errorf("fifo: width %d must be in [1, 4096]", c.Width)
	}
	return nil
}

// FIFO is a first-in first-out queue between two valid/ready streams. Data
// written on one edge can be read from the next cycle. in_ready depends only
// on the FIFO's own state (a full FIFO refuses a write even while it is being
// read), so there is no combinational path from out_ready to in_ready and
// FIFOs chain safely.
type FIFO struct {
	*hdl.Module
	In, Out hdl.Stream
}

// NewFIFO builds a register-based FIFO.
func NewFIFO(cfg FIFOConfig) (*FIFO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := hdl.NewModule(fmt.Sprintf("fifo_d%d_w%d", cfg.Depth, cfg.Width))
	f := &FIFO{Module: m, In: m.InStream("in", hdl.U(cfg.Width)), Out: m.OutStream("out", hdl.U(cfg.Width))}
	pw := max(1, hdl.Clog2(cfg.Depth))
	cw := hdl.BitsFor(cfg.Depth + 1)
	wptr := m.Reg("wptr", hdl.U(pw), hdl.ResetTo(0))
	rptr := m.Reg("rptr", hdl.U(pw), hdl.ResetTo(0))
	count := m.Reg("count", hdl.U(cw), hdl.ResetTo(0))
	slots := make([]*hdl.Expr, cfg.Depth)
	for i := range slots {
		slots[i] = m.Reg(fmt.Sprintf("slot_%d", i), hdl.U(cfg.Width))
	}
	next := func(p *hdl.Expr) *hdl.Expr {
		return hdl.Mux(p.EqConst(int64(cfg.Depth-1)), m.Const(0, hdl.U(pw)), p.Add(m.Lit(1, 1)).Trunc(pw))
	}
	inFire := m.Wire("in_fire", hdl.U(1))
	outFire := m.Wire("out_fire", hdl.U(1))
	m.Set(f.In.Ready, count.Ne(m.Const(int64(cfg.Depth), hdl.U(cw))))
	m.Set(f.Out.Valid, count.Ne(m.Const(0, hdl.U(cw))))
	m.Set(inFire, f.In.Fire())
	m.Set(outFire, f.Out.Fire())

	m.If(inFire, func() {
		m.Set(wptr, next(wptr))
		m.Switch(wptr, func(sw *hdl.SwitchBuilder) {
			for i, s := range slots {
				sw.Case([]int64{int64(i)}, func() { m.Set(s, f.In.Data) })
			}
		})
	})
	m.If(outFire, func() { m.Set(rptr, next(rptr)) })
	m.If(inFire.And(outFire.Not()), func() {
		m.Set(count, count.Add(m.Lit(1, 1)).Trunc(cw))
	}).ElseIf(outFire.And(inFire.Not()), func() {
		m.Set(count, count.Sub(m.Lit(1, 1)).Trunc(cw))
	})

	m.Set(f.Out.Data, slots[0])
	if cfg.Depth > 1 {
		m.Switch(rptr, func(sw *hdl.SwitchBuilder) {
			for i := 1; i < cfg.Depth; i++ {
				sw.Case([]int64{int64(i)}, func() { m.Set(f.Out.Data, slots[i]) })
			}
		})
	}
	return f, nil
}
