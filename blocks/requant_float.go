package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// requantFloatLayout is the float-scale requantizer's parameter word.
type requantFloatLayout struct {
	l                     layout
	bias, scale           payloadField
	outZP, actMin, actMax payloadField
}

func requantFloatParams() requantFloatLayout {
	var w requantFloatLayout
	w.bias = w.l.add("bias", 32, 1, true)
	w.scale = w.l.add("scale", 32, 1, false)
	w.outZP = w.l.add("out_zp", 8, 1, true)
	w.actMin = w.l.add("act_min", 8, 1, true)
	w.actMax = w.l.add("act_max", 8, 1, true)
	return w
}

// newFloatRequantizer builds the float-scale requantizer: per lane
// clamp(RNE(float32(float32(acc + bias) * scale)) + out_zp, act_min,
// act_max), bit-exact with quant.RequantizeFloat (ONNX Runtime's MLAS on
// x86-64) for every int32 sum and every zero or normal float32 scale. No
// float unit: three integer roundings to nearest even, each at a bit
// position the exponents decide.
//
//	s1   acc                                         bias
//	s2   x = acc + bias: sign, |x| normalized so its leading one is bit 31
//	     (a left shift by its leading zeros), and that position L
//	s3   mx = |x| rounded to 24 significant bits (float32(x) = mx·2^(L-23))
//	                                                 scale (beside s3)
//	s4   P = mx · (1.frac of the scale), 49 bits; the exponent
//	     sh0 = 150 - L - exp, so that float32(x)·scale = P·2^(-sh0-23)
//	s5   P rounded to 24 significant bits: Mq, and sh = sh0 - P[47], so
//	     that the float32 product is Mq·2^-sh
//	s6   Mq·2^-sh rounded to an integer: sh <= 0 means at least 2^23
//	     (saturates), sh > 26 means below 1/2 (zero), else a right shift
//	     by sh rounding half to even                 out_zp, act_min, act_max
//	out  clamp(±r + out_zp), the minimum tested first as quant does
//
// A product below float32's normal range would round differently in a
// float unit (subnormal), but it is below 2^-126 and becomes 0 either way;
// one above its range is Inf there and saturates here, the same result.
func newFloatRequantizer(cfg RequantConfig) *Requantizer {
	lanes, tagBits := cfg.Stage.Lanes, cfg.Stage.TagBits
	m := hdl.NewModule(fmt.Sprintf("requant_l%d_t%d_float", lanes, tagBits))
	m.Comment("Requantizer: int32 accumulators -> int8, %d lanes, %d parameter sets, float32 scale rounded half to even (ONNX Runtime-exact).",
		lanes, cfg.Stage.Sets())
	prm := requantFloatParams()
	p := NewStagePorts(m, cfg.Stage, hdl.S(32), hdl.S(8), max(1, hdl.Clog2(lanes)), prm.l.next)
	r := &Requantizer{Module: m, Config: cfg, Ports: p}
	regs := pipeRegs{m: m, adv: p.Adv}

	const nStages = 7
	valid := []*hdl.Expr{p.In.Valid}
	tag := []*hdl.Expr{p.InTag}
	for s := 1; s < nStages; s++ {
		valid = append(valid, regs.flag(fmt.Sprintf("s%d_valid", s), valid[s-1]))
		tag = append(tag, regs.reg(fmt.Sprintf("s%d_tag", s), tag[s-1]))
	}
	regs.load(p.OutValid, valid[nStages-1])
	outTag := regs.out("out_tag", tag[nStages-1], valid[nStages-1], cfg.Stage.ZeroIdle)
	r.Latency = nStages

	wordA := prm.bias.bits(p.PrmData)
	wordS := prm.scale.bits(p.PrmData)
	wordO := hdl.Cat(prm.actMax.bits(p.PrmData), prm.actMin.bits(p.PrmData), prm.outZP.bits(p.PrmData))
	outLanes := make([]*hdl.Expr, lanes)
	for k := 0; k < lanes; k++ {
		memA := m.Memory(fmt.Sprintf("prm_bias_%d", k), wordA.Shape(), cfg.Stage.Sets(), nil)
		memS := m.Memory(fmt.Sprintf("prm_scale_%d", k), wordS.Shape(), cfg.Stage.Sets(), nil)
		memO := m.Memory(fmt.Sprintf("prm_out_%d", k), wordO.Shape(), cfg.Stage.Sets(), nil)
		m.If(p.PrmWe.And(p.PrmAddr.EqConst(int64(k))), func() {
			memA.Write(p.PrmSet, wordA)
			memS.Write(p.PrmSet, wordS)
			memO.Write(p.PrmSet, wordO)
		})
		bias := memA.Read(fmt.Sprintf("s1_prm_bias_%d", k), tag[0], p.Adv).AsSigned()
		scale := memS.Read(fmt.Sprintf("s3_prm_scale_%d", k), tag[2], p.Adv)
		prmO := memO.Read(fmt.Sprintf("s%d_prm_out_%d", nStages-1, k), tag[nStages-2], p.Adv)
		wire := func(name string, e *hdl.Expr) *hdl.Expr {
			w := m.Wire(fmt.Sprintf("%s_%d", name, k), e.Shape())
			m.Set(w, e)
			return w
		}

		// s1 → s2: the int32 sum (wrapping, as MLAS's integer add), its
		// magnitude (|INT32_MIN| = 2^31 fits 32 unsigned bits) normalized.
		acc := regs.reg(fmt.Sprintf("s1_acc_%d", k), p.InLanes[k])
		x := wire("fx_x", acc.Add(bias).Trunc(32))
		mag := wire("fx_mag", hdl.Mux(x.MSB(), x.Neg(), hdl.SExt(x, 33)).AsUnsigned().Trunc(32))
		lead := m.Const(0, hdl.U(5))
		for i := 1; i < 32; i++ {
			lead = hdl.Mux(mag.Bit(i), m.Const(int64(i), hdl.U(5)), lead)
		}
		lead = wire("fx_lead", lead)
		lz := m.Const(31, hdl.U(5)).Sub(lead).Trunc(5)
		g := regs.group()
		sign2 := g.reg(fmt.Sprintf("s2_sign_%d", k), x.MSB())
		zero2 := g.reg(fmt.Sprintf("s2_zero_%d", k), mag.AnyBits().Not())
		norm2 := g.reg(fmt.Sprintf("s2_norm_%d", k), mag.ShlBy(lz))
		lead2 := g.reg(fmt.Sprintf("s2_lead_%d", k), lead)
		g.end()

		// s2 → s3: float32(x), round to nearest even at bit 8.
		mx := requantRNE(m, fmt.Sprintf("fx_mx_up_%d", k), norm2.Slice(31, 8), norm2.Bit(7), norm2.Slice(6, 0))
		g = regs.group()
		sign3 := g.reg(fmt.Sprintf("s3_sign_%d", k), sign2)
		zero3 := g.reg(fmt.Sprintf("s3_zero_%d", k), zero2)
		mx3 := g.reg(fmt.Sprintf("s3_mx_%d", k), mx)
		lead3 := g.reg(fmt.Sprintf("s3_lead_%d", k), lead2)
		g.end()

		// s3 → s4: the significands' product, registered on both sides
		// (a DSP-friendly 25×24 multiply), and the exponent.
		exp := scale.Slice(30, 23)
		ms := hdl.Cat(exp.AnyBits(), scale.Slice(22, 0))
		sh0 := m.Const(150, hdl.S(10)).Sub(hdl.ZExt(lead3, 10).AsSigned()).Sub(hdl.ZExt(exp, 10).AsSigned()).Trunc(10)
		g = regs.group()
		sign4 := g.reg(fmt.Sprintf("s4_sign_%d", k), sign3.Xor(scale.Bit(31)))
		zero4 := g.reg(fmt.Sprintf("s4_zero_%d", k), zero3.Or(exp.AnyBits().Not()))
		prod4 := g.reg(fmt.Sprintf("s4_prod_%d", k), mx3.Mul(ms))
		sh4 := g.reg(fmt.Sprintf("s4_sh_%d", k), sh0)
		g.end()

		// s4 → s5: the float32 product: P (in [2^46, 2^48)) rounded to 24
		// significant bits.
		top := prod4.Bit(47)
		mqHi := requantRNE(m, fmt.Sprintf("fx_mq_hi_up_%d", k), prod4.Slice(47, 24), prod4.Bit(23), prod4.Slice(22, 0))
		mqLo := requantRNE(m, fmt.Sprintf("fx_mq_lo_up_%d", k), prod4.Slice(46, 23), prod4.Bit(22), prod4.Slice(21, 0))
		g = regs.group()
		sign5 := g.reg(fmt.Sprintf("s5_sign_%d", k), sign4)
		zero5 := g.reg(fmt.Sprintf("s5_zero_%d", k), zero4)
		mq5 := g.reg(fmt.Sprintf("s5_mq_%d", k), hdl.Mux(top, mqHi, mqLo))
		sh5 := g.reg(fmt.Sprintf("s5_sh_%d", k), sh4.Sub(hdl.ZExt(top, 10).AsSigned()).Trunc(10))
		g.end()

		// s5 → s6: Mq·2^-sh to an integer, half to even. With 1 <= sh <=
		// 26, Mq >> (sh-1) holds the integer part above its rounding bit.
		big := sh5.Le(m.Const(0, hdl.S(10)))
		tiny := sh5.Gt(m.Const(26, hdl.S(10)))
		amt := wire("fx_amt", sh5.Sub(m.Const(1, hdl.S(2))).Trunc(5).AsUnsigned())
		t := wire("fx_t", mq5.ShrBy(amt))
		below := m.Const(1<<25-1, hdl.U(25)).ShlBy(amt).Not()
		sticky := mq5.And(below).AnyBits()
		q := t.Slice(24, 1)
		up := wire("fx_int_up", t.Bit(0).And(sticky.Or(q.Bit(0))))
		rounded := hdl.ZExt(q, 25).Add(hdl.ZExt(up, 25)).Trunc(25)
		g = regs.group()
		sign6 := g.reg(fmt.Sprintf("s6_sign_%d", k), sign5)
		big6 := g.reg(fmt.Sprintf("s6_big_%d", k), big.And(zero5.Not()))
		mag6 := g.reg(fmt.Sprintf("s6_mag_%d", k), hdl.Mux(tiny.Or(zero5), m.Const(0, hdl.U(25)), rounded))
		g.end()

		// s6 → out: ± r + out_zp, clamped; a saturated value is past
		// either bound.
		zp, lo, hi := prmO.Slice(7, 0).AsSigned(), prmO.Slice(15, 8).AsSigned(), prmO.Slice(23, 16).AsSigned()
		mv := hdl.ZExt(mag6, 26).AsSigned()
		v := wire("fx_v", hdl.Mux(sign6, mv.Neg(), hdl.SExt(mv, 27)).Add(hdl.SExt(zp, 27)))
		small := hdl.Mux(v.Lt(hdl.SExt(lo, v.Width())), lo, hdl.Mux(v.Gt(hdl.SExt(hi, v.Width())), hi, v.Trunc(8)))
		outLanes[k] = regs.out(fmt.Sprintf("out_lane_%d", k), hdl.Mux(big6, hdl.Mux(sign6, lo, hi), small), valid[nStages-1], cfg.Stage.ZeroIdle)
	}
	m.Set(p.Out.Data, PackLanes(outTag, outLanes))
	return r
}

// requantRNE rounds keep (the kept bits) with the first dropped bit half
// and the rest below to nearest, ties to even, one bit wider for the carry.
// The round-up decision is a wire called name.
func requantRNE(m *hdl.Module, name string, keep, half, below *hdl.Expr) *hdl.Expr {
	up := m.Wire(name, hdl.U(1))
	m.Set(up, half.And(below.AnyBits().Or(keep.Bit(0))))
	n := keep.Width() + 1
	return hdl.ZExt(keep, n).Add(hdl.ZExt(up, n)).Trunc(n)
}
