package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// PEWS is a weight-stationary processing element. Activations flow right;
// partial sums flow down; the column's weight bus is shared by its PEs.
// The weight swap flag and the shadow-load enable move right one PE per
// cycle as well, but on delay lines the array keeps beside the PEs
// (buildWS): a PE only reads them.
//
// The weight is double-buffered: in_wen loads in_w into the shadow register
// while the active weight keeps computing; in_swap copies the shadow into the
// active register at the end of the cycle, so the next activation (one cycle
// behind the flag) already multiplies by the new weight.
type PEWS struct {
	*hdl.Module
	InAct, InSwap, InWen, InW, InSum, Adv *hdl.Expr
	OutAct, OutSum                        *hdl.Expr
}

// NewPEWS builds the PE; top is true for the first row, which has no sum input.
func NewPEWS(cfg MatrixConfig, top bool) *PEWS {
	name := fmt.Sprintf("pe_ws_a%s_w%s_s%d", sig(cfg.InputBits, cfg.InputSigned), sig(cfg.WeightBits, cfg.WeightSigned), cfg.SumBits())
	name += cfg.macSuffix()
	if top {
		name += "_top"
	}
	m := hdl.NewModule(name)
	if cfg.MAC.IsBinary() {
		m.Comment("Binary weight-stationary PE: out_sum = in_sum + 2*popcount(in_act xnor weight) - %d, weights double-buffered.", cfg.InputBits)
	} else {
		m.Comment("Weight-stationary PE: out_sum = in_sum + in_act * weight, weights double-buffered.")
	}
	sumShape := shapeOf(cfg.SumBits(), cfg.ProductSigned())
	pe := &PEWS{Module: m,
		InAct:  m.Input("in_act", shapeOf(cfg.InputBits, cfg.InputSigned)),
		InSwap: m.Input("in_swap", hdl.U(1)),
		InWen:  m.Input("in_wen", hdl.U(1)),
		InW:    m.Input("in_w", shapeOf(cfg.WeightBits, cfg.WeightSigned)),
	}
	if !top {
		pe.InSum = m.Input("in_sum", sumShape)
	}
	pe.OutAct = m.RegOutput("out_act", pe.InAct.Shape())
	// The first row's sum is its product alone. Registered at the sum's
	// width, the bits above the product are copies of its sign bit, and
	// Yosys' iCE40 DSP packing (0.23), taking the register into the DSP
	// as its output register, leaves those bits undriven: the register
	// holds the product at its own width and the sign extension follows it.
	narrowTop := top && !cfg.MAC.IsCSA() && !cfg.MAC.IsBinary() && cfg.ProductBits() < cfg.SumBits()
	switch {
	case narrowTop:
		pe.OutSum = m.Output("out_sum", sumShape)
	case cfg.fused():
		// The whole multiply-add goes into a DSP block with this register
		// as its output register. Kept: Yosys' iCE40 DSP packing (0.23)
		// would also pull it into the DSP below as that one's C/D input
		// register, and leave that input undriven.
		pe.OutSum = m.RegOutput("out_sum", sumShape, hdl.SynthKeep())
	default:
		pe.OutSum = m.RegOutput("out_sum", sumShape)
	}
	pe.Adv = m.Input("in_adv", hdl.U(1))
	adv := pe.Adv

	shadow := m.Reg("shadow", pe.InW.Shape())
	weight := m.Reg("weight", pe.InW.Shape())
	// With MAC stages the product is registered on its way to the add; the
	// sum from the PE above is then as late as this PE's product, since
	// the activations reach every row one cycle after the row above. A
	// binary PE adds the lanes' dot product (pe_binary.go) instead.
	var prod *hdl.Expr
	switch {
	case cfg.MACStages > 0:
		prod = stagedProduct(cfg, pipeRegs{m: m, adv: adv}, pe.InAct, weight)
	case cfg.MAC.IsBinary():
		prod = binaryDot(m, pe.InAct, weight)
	}
	// The carry-save form is gates on wires (mac_csa.go), the whole sum.
	var csaSum *hdl.Expr
	if cfg.MAC.IsCSA() {
		csaSum = csaMAC(m, pe.InSum, pe.InAct, weight, cfg.SumBits())
	}
	var topProd, outProd *hdl.Expr
	if narrowTop {
		topProd = prod
		if topProd == nil {
			topProd = product(pe.InAct, weight)
		}
		// Kept for the reason out_sum is in the fused form: the DSP below
		// must not take it as its input register.
		outProd = m.Reg("out_prod", topProd.Shape(), hdl.SynthKeep())
		m.Set(pe.OutSum, toSum(outProd, cfg.SumBits()))
	}
	m.If(adv, func() {
		m.Set(pe.OutAct, pe.InAct)
		switch {
		case outProd != nil:
			m.Set(outProd, topProd)
		case csaSum != nil:
			m.Set(pe.OutSum, csaSum)
		case prod != nil && top:
			m.Set(pe.OutSum, toSum(prod, cfg.SumBits()))
		case prod != nil:
			m.Set(pe.OutSum, pe.InSum.Add(toSum(prod, cfg.SumBits())).Trunc(cfg.SumBits()))
		case top:
			m.Set(pe.OutSum, toSum(product(pe.InAct, weight), cfg.SumBits()))
		default:
			m.Set(pe.OutSum, macc(cfg, pe.InSum, pe.InAct, weight))
		}
		m.If(pe.InWen, func() { m.Set(shadow, pe.InW) })
		m.If(pe.InSwap, func() { m.Set(weight, shadow) })
	})
	return pe
}

// macc returns acc + act*w wrapped to acc's width, fused or split as the
// configuration says.
func macc(cfg MatrixConfig, acc, act, w *hdl.Expr) *hdl.Expr {
	if cfg.fused() {
		a, b := productOperands(act, w)
		return hdl.MulAcc(acc, a, b)
	}
	return acc.Add(toSum(product(act, w), acc.Width())).Trunc(acc.Width())
}

// stagedProduct returns act*w (ProductBits wide) after cfg.MACStages
// register stages. One stage registers the product. Two stages split the
// multiplier at w's middle bit: the two partial products (act times w's
// low half, unsigned, and times its high half, with w's sign) are
// registered, then shifted and added into the registered product, so each
// stage has about half of the multiplier's depth.
func stagedProduct(cfg MatrixConfig, regs pipeRegs, act, w *hdl.Expr) *hdl.Expr {
	pw := cfg.ProductBits()
	if cfg.MACStages < 2 {
		return regs.reg("prod", product(act, w))
	}
	lo := w.Width() / 2
	wLo := w.Slice(lo-1, 0) // unsigned
	wHi := w.Slice(w.Width()-1, lo)
	if w.Signed() {
		wHi = wHi.AsSigned()
	}
	// Each partial product is exact at its own width; extended to the
	// product's width, the sum is exact too (the product fits pw bits).
	g := regs.group()
	pLo := g.reg("prod_lo", product(act, wLo).Ext(pw))
	pHi := g.reg("prod_hi", product(act, wHi))
	g.end()
	hi := hdl.Cat(toSum(pHi, pw-lo).AsUnsigned(), regs.m.Const(0, hdl.U(lo)))
	sum := pLo.AsUnsigned().Add(hi).Trunc(pw)
	if cfg.ProductSigned() {
		sum = sum.AsSigned()
	}
	return regs.reg("prod", sum)
}

// toSum returns a product at the partial sums' width w: extended by its
// sign when the sum is wider, else its low w bits. A sum narrower than a
// product only comes with a narrow accumulator, which wraps modulo 2^w
// anyway, so the dropped bits never reach a result.
func toSum(prod *hdl.Expr, w int) *hdl.Expr {
	if prod.Width() > w {
		return prod.Trunc(w)
	}
	return prod.Ext(w)
}

// product multiplies exactly (an activation by a weight: ProductBits
// wide), widening an unsigned operand by one bit when the other is signed.
func product(a, b *hdl.Expr) *hdl.Expr {
	a, b = productOperands(a, b)
	return a.Mul(b)
}

// productOperands makes both operands signed when either is, by widening
// the unsigned one by a zero bit.
func productOperands(a, b *hdl.Expr) (*hdl.Expr, *hdl.Expr) {
	if a.Signed() != b.Signed() {
		if !a.Signed() {
			a = hdl.ZExt(a, a.Width()+1).AsSigned()
		} else {
			b = hdl.ZExt(b, b.Width()+1).AsSigned()
		}
	}
	return a, b
}

func sig(bits int, signed bool) string {
	if signed {
		return fmt.Sprintf("s%d", bits)
	}
	return fmt.Sprintf("u%d", bits)
}
