package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// PEOS is an output-stationary processing element: it accumulates one output
// element over K while activations (with the first/last flags) flow right and
// weights flow down. On the last step it copies the finished sum into a
// result register, which holds it while the next tile accumulates. With
// MAC stages the accumulate happens that many cycles after the operands
// pass, with flags delayed alike, so results are ready as much later.
type PEOS struct {
	*hdl.Module
	InAct, InW, InValid, InFirst, InLast, Adv *hdl.Expr
	OutAct, OutW, OutValid, OutFirst, OutLast *hdl.Expr
	Result                                    *hdl.Expr
}

// NewPEOS builds the PE.
func NewPEOS(cfg MatrixConfig) *PEOS {
	m := hdl.NewModule(fmt.Sprintf("pe_os_a%s_w%s_s%d%s", sig(cfg.InputBits, cfg.InputSigned), sig(cfg.WeightBits, cfg.WeightSigned), cfg.SumBits(), cfg.macSuffix()))
	if cfg.MAC.IsBinary() {
		m.Comment("Binary output-stationary PE: acc += 2*popcount(in_act xnor in_w) - %d; the finished sum moves to out_result.", cfg.InputBits)
	} else {
		m.Comment("Output-stationary PE: acc += in_act * in_w; the finished sum moves to out_result.")
	}
	sumShape := shapeOf(cfg.SumBits(), cfg.ProductSigned())
	pe := &PEOS{Module: m,
		InAct:   m.Input("in_act", shapeOf(cfg.InputBits, cfg.InputSigned)),
		InW:     m.Input("in_w", shapeOf(cfg.WeightBits, cfg.WeightSigned)),
		InValid: m.Input("in_valid", hdl.U(1)),
		InFirst: m.Input("in_first", hdl.U(1)),
		InLast:  m.Input("in_last", hdl.U(1)),
	}
	pe.Adv = m.Input("in_adv", hdl.U(1))
	adv := pe.Adv
	pe.OutAct = m.RegOutput("out_act", pe.InAct.Shape())
	pe.OutW = m.RegOutput("out_w", pe.InW.Shape())
	pe.OutValid = m.RegOutput("out_valid", hdl.U(1), hdl.ResetTo(0))
	pe.OutFirst = m.RegOutput("out_first", hdl.U(1), hdl.ResetTo(0))
	pe.OutLast = m.RegOutput("out_last", hdl.U(1), hdl.ResetTo(0))
	pe.Result = m.RegOutput("out_result", sumShape)
	acc := m.Reg("acc", sumShape)
	next := m.Wire("next", sumShape)
	// The flags that say what to do with a product: the inputs', or, with
	// MAC stages, as late as the registered product.
	valid, first, last := pe.InValid, pe.InFirst, pe.InLast
	switch {
	case cfg.MAC.IsBinary():
		prod := toSum(binaryDot(m, pe.InAct, pe.InW), cfg.SumBits())
		m.Set(next, hdl.Mux(first, prod, acc.Add(prod).Trunc(cfg.SumBits())))
	case cfg.MAC.IsCSA():
		// The first product of a sum adds to zero: one gated addend
		// instead of a second multiplier path.
		addend := m.Wire("addend", sumShape)
		keep := first.Repl(cfg.SumBits()).Not()
		if sumShape.Signed {
			keep = keep.AsSigned()
		}
		m.Set(addend, acc.And(keep))
		m.Set(next, csaMAC(m, addend, pe.InAct, pe.InW, cfg.SumBits()))
	case cfg.MACStages == 0:
		prod := toSum(product(pe.InAct, pe.InW), cfg.SumBits())
		m.Set(next, hdl.Mux(first, prod, macc(cfg, acc, pe.InAct, pe.InW)))
	default:
		regs := pipeRegs{m: m, adv: adv}
		prod := toSum(stagedProduct(cfg, regs, pe.InAct, pe.InW), cfg.SumBits())
		// The flags' first stage is the outputs passed right.
		valid, first, last = pe.OutValid, pe.OutFirst, pe.OutLast
		for k := 2; k <= cfg.MACStages; k++ {
			g := regs.group()
			valid = g.flag(fmt.Sprintf("valid_d%d", k), valid)
			first = g.flag(fmt.Sprintf("first_d%d", k), first)
			last = g.flag(fmt.Sprintf("last_d%d", k), last)
			g.end()
		}
		m.Set(next, hdl.Mux(first, prod, acc.Add(prod).Trunc(cfg.SumBits())))
	}
	m.If(adv, func() {
		m.Set(pe.OutAct, pe.InAct)
		m.Set(pe.OutW, pe.InW)
		m.Set(pe.OutValid, pe.InValid)
		m.Set(pe.OutFirst, pe.InFirst)
		m.Set(pe.OutLast, pe.InLast)
		// Bubbles carry no data: only real beats touch the accumulator.
		m.If(valid, func() {
			m.Set(acc, next)
			m.If(last, func() { m.Set(pe.Result, next) })
		})
	})
	return pe
}
