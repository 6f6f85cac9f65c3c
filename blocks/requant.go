package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/hdl"
)

// RequantConfig sizes the requantizer and picks its rounding arithmetic.
type RequantConfig struct {
	Stage StageConfig
	// Rounding is arch.DoubleRounding (the zero value: gemmlowp's
	// SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, TFLite's
	// reference), arch.SingleRounding (TFLITE_SINGLE_ROUNDING: one 64-bit
	// product, one round-half-up shift) or arch.FloatRounding (a float32
	// scale, ONNX Runtime's arithmetic; see newFloatRequantizer).
	Rounding arch.Rounding
}

// Validate checks the sizes and the rounding mode.
func (c RequantConfig) Validate() error {
	if err := c.Stage.Validate(); err != nil {
		return fmt.Errorf("requantizer: %w", err)
	}
	if c.Rounding != arch.DoubleRounding && c.Rounding != arch.SingleRounding && c.Rounding != arch.FloatRounding {
		return fmt.Errorf("requantizer: unknown rounding %v", c.Rounding)
	}
	return nil
}

// RequantParamBits is the width of a requantizer parameter word.
const RequantParamBits = 94

// RequantParamFields is the layout of a requantizer parameter word (prm_data),
// one word per lane (prm_addr = lane) and parameter set (prm_set). shift is
// the exponent of quant.QuantizeMultiplier (> 0 shifts left) and must be in
// [-31, 30]; the output of a lane whose shift is outside is unspecified.
// Single rounding also wants multiplier >= 0, as TFLite does, though the
// hardware computes the 64-bit form for any multiplier.
func RequantParamFields() []Field { return requantParams().l.fields }

// RequantParamFieldsFor is the parameter word layout of a requantizer that
// rounds as r: RequantParamFields for the fixed-point modes; for
// arch.FloatRounding the multiplier and shift are replaced by scale, the
// float32 scale's IEEE 754 bits (zero or a normal number: a subnormal scale
// is taken as zero).
func RequantParamFieldsFor(r arch.Rounding) []Field {
	if r.IsFloat() {
		return requantFloatParams().l.fields
	}
	return RequantParamFields()
}

// requantParamLayout is the parameter word's layout, field by field.
type requantParamLayout struct {
	l                       layout
	bias, multiplier, shift payloadField
	outZP, actMin, actMax   payloadField
}

func requantParams() requantParamLayout {
	var w requantParamLayout
	w.bias = w.l.add("bias", 32, 1, true)
	w.multiplier = w.l.add("multiplier", 32, 1, true)
	w.shift = w.l.add("shift", 6, 1, true)
	w.outZP = w.l.add("out_zp", 8, 1, true)
	w.actMin = w.l.add("act_min", 8, 1, true)
	w.actMax = w.l.add("act_max", 8, 1, true)
	return w
}

// Requantizer turns int32 accumulators into int8 activations, lane by lane:
// clamp(MultiplyByQuantizedMultiplier(acc + bias, multiplier, shift) +
// out_zp, act_min, act_max), bit-exact with quant.Requantize.
//
// Pipeline (one vector per cycle; every register advances on adv), with the
// parameters registered beside each stage:
//
//	s1   acc                                    bias, left shift (double)
//	s2   x = (acc + bias) << left               multiplier
//	s3   p = x * multiplier (64 bits)           single: right shift 30-shift
//	s4   double: high half of p, rounded        double: right shift -shift
//	     single: p >> (30-shift), low 33 bits
//	s5   double: rounding divide by 2^right     (single has no s5)
//	out  clamp(r + out_zp), the tag             out_zp, act_min, act_max beside
//	                                            the stage before out
//
// Each parameter field lives in its own memory, read with the tag of the
// beat one stage before the field is used, so no parameter is carried down
// the pipeline. A parameter set must therefore not be rewritten while beats
// tagged with it are in flight.
type Requantizer struct {
	*hdl.Module
	Config RequantConfig
	Ports  *StagePorts
	// Latency is the number of register stages from an in beat firing to its
	// out beat being valid, when out_ready stays high.
	Latency int
}

// NewRequantizer builds the requantizer for cfg.
func NewRequantizer(cfg RequantConfig) (*Requantizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Rounding.IsFloat() {
		return newFloatRequantizer(cfg), nil
	}
	double := !cfg.Rounding.IsSingle()
	lanes, tagBits := cfg.Stage.Lanes, cfg.Stage.TagBits
	m := hdl.NewModule(fmt.Sprintf("requant_l%d_t%d_%s", lanes, tagBits, cfg.Rounding))
	m.Comment("Requantizer: int32 accumulators -> int8, %d lanes, %d parameter sets, %s rounding (TFLite-exact).",
		lanes, cfg.Stage.Sets(), cfg.Rounding)
	p := NewStagePorts(m, cfg.Stage, hdl.S(32), hdl.S(8), max(1, hdl.Clog2(lanes)), RequantParamBits)
	r := &Requantizer{Module: m, Config: cfg, Ports: p}

	regs := pipeRegs{m: m, adv: p.Adv}
	prm := requantParams()

	// The valid bit and the tag of the beat in each stage; stage 0 is the
	// input port.
	nStages := 5
	if double {
		nStages = 6
	}
	valid := []*hdl.Expr{p.In.Valid}
	tag := []*hdl.Expr{p.InTag}
	for s := 1; s < nStages; s++ {
		valid = append(valid, regs.flag(fmt.Sprintf("s%d_valid", s), valid[s-1]))
		tag = append(tag, regs.reg(fmt.Sprintf("s%d_tag", s), tag[s-1]))
	}
	regs.load(p.OutValid, valid[nStages-1])
	outTag := regs.out("out_tag", tag[nStages-1], valid[nStages-1], cfg.Stage.ZeroIdle)
	r.Latency = nStages
	// into[s] loads stage s's data, and only with a valid beat (nothing
	// reads it otherwise): a simulator then skips the stage's arithmetic
	// on idle cycles.
	into := []pipeRegs{regs}
	for s := 1; s < nStages; s++ {
		into = append(into, regs.when(valid[s-1]))
	}

	// Write-side decoding keeps the datapath free of it: double rounding
	// stores the left and right shift amounts, single rounding the total
	// right shift 30-shift of the product's rounding step.
	shift := prm.shift.of(p.PrmData)
	var wordA, wordR *hdl.Expr
	if double {
		left := hdl.Mux(shift.Gt(m.Const(0, hdl.S(6))), shift.AsUnsigned().Trunc(5), m.Const(0, hdl.U(5)))
		right := hdl.Mux(shift.Lt(m.Const(0, hdl.S(6))), shift.Neg().Trunc(5).AsUnsigned(), m.Const(0, hdl.U(5)))
		wordA = hdl.Cat(left, prm.bias.bits(p.PrmData))
		wordR = right
	} else {
		wordA = prm.bias.bits(p.PrmData)
		wordR = m.Const(30, hdl.S(7)).Sub(shift).Trunc(6).AsUnsigned()
	}
	wordM := prm.multiplier.bits(p.PrmData)
	wordO := hdl.Cat(prm.actMax.bits(p.PrmData), prm.actMin.bits(p.PrmData), prm.outZP.bits(p.PrmData))
	// A read addressed by the tag of stage s gives data beside the beat in
	// stage s+1. The right shift is used on the way into s4 (single) or s5
	// (double), the output parameters on the way into the out register.
	rdR := 2
	if double {
		rdR = 3
	}
	rdO := nStages - 2

	outLanes := make([]*hdl.Expr, lanes)
	for k := 0; k < lanes; k++ {
		memA := m.Memory(fmt.Sprintf("prm_bias_%d", k), wordA.Shape(), cfg.Stage.Sets(), nil)
		memM := m.Memory(fmt.Sprintf("prm_mul_%d", k), wordM.Shape(), cfg.Stage.Sets(), nil)
		memR := m.Memory(fmt.Sprintf("prm_shift_%d", k), wordR.Shape(), cfg.Stage.Sets(), nil)
		memO := m.Memory(fmt.Sprintf("prm_out_%d", k), wordO.Shape(), cfg.Stage.Sets(), nil)
		m.If(p.PrmWe.And(p.PrmAddr.EqConst(int64(k))), func() {
			memA.Write(p.PrmSet, wordA)
			memM.Write(p.PrmSet, wordM)
			memR.Write(p.PrmSet, wordR)
			memO.Write(p.PrmSet, wordO)
		})
		prmA := memA.Read(fmt.Sprintf("s1_prm_bias_%d", k), tag[0], into[1].adv)
		mul := memM.Read(fmt.Sprintf("s2_prm_mul_%d", k), tag[1], into[2].adv).AsSigned()
		rsh := memR.Read(fmt.Sprintf("s%d_prm_shift_%d", rdR+1, k), tag[rdR], into[rdR+1].adv)
		prmO := memO.Read(fmt.Sprintf("s%d_prm_out_%d", rdO+1, k), tag[rdO], into[rdO+1].adv)

		// s1 → s2: bias add with int32 wrap, then (double) the wrapping
		// left shift TFLite applies before the high multiply.
		acc := into[1].reg(fmt.Sprintf("s1_acc_%d", k), p.InLanes[k])
		x := acc.Add(prmA.Slice(31, 0).AsSigned()).Trunc(32)
		if double {
			x = x.ShlBy(prmA.Slice(36, 32))
		}
		x2 := into[2].reg(fmt.Sprintf("s2_x_%d", k), x)

		// s2 → s3: a plain signed 32×32 multiply, registered on both sides
		// so synthesis can map it onto DSP blocks.
		full := x2.Mul(mul)

		var v *hdl.Expr // the int32 sum MBQM(...) + out_zp, before the clamp
		zp := prmO.Slice(7, 0).AsSigned()
		if double {
			// s3 → s4: SaturatingRoundingDoublingHighMul. The signed nudge
			// and C++ truncation make it floor((p + 2^30) / 2^31); the one
			// overflowing case, INT32_MIN², is the only product >= 2^62.
			// Only bits 63..30 of the product are read: the register keeps
			// those (bit 62 of the product is bit 32 here).
			prod := into[3].reg(fmt.Sprintf("s3_prod_%d", k), full.Shr(30))
			sat := prod.Bit(32).And(prod.Bit(33).Not())
			hm := prod.Add(m.Const(1, hdl.S(2))).Shr(1).Trunc(32)
			hm4 := into[4].reg(fmt.Sprintf("s4_hm_%d", k), hdl.Mux(sat, m.Const(1<<31-1, hdl.S(32)), hm))

			// s4 → s5: RoundingDivideByPOT, ties away from zero:
			// floor((hm + 2^(e-1) - away) / 2^e), away = 1 for negative
			// hm when e > 0 (remainder must exceed the threshold + 1).
			away := m.Wire(fmt.Sprintf("rnd_away_%d", k), hdl.U(1))
			m.Set(away, hm4.MSB().And(rsh.AnyBits()))
			half := m.Const(1, hdl.U(32)).ShlBy(rsh).Shr(1)
			nudge := requantNonNeg(half, 33).Sub(requantNonNeg(away, 33)).Trunc(33)
			y := hdl.SExt(hm4, 33).Add(nudge).Trunc(33)
			r5 := into[5].reg(fmt.Sprintf("s5_r_%d", k), y.ShrBy(rsh).Trunc(32))

			// s5 → out: + out_zp with int32 wrap.
			v = r5.Add(zp).Trunc(32)
		} else {
			// s3 → s4: (p + 2^(t-1)) >> t with t = 31-shift equals
			// ((p >> (t-1)) + 1) >> 1; only the low 33 bits of p >> (t-1)
			// reach the int32 result.
			prod := into[3].reg(fmt.Sprintf("s3_prod_%d", k), full)
			q4 := into[4].reg(fmt.Sprintf("s4_q_%d", k), prod.ShrBy(rsh).Trunc(33))

			// s4 → out: ((q + 1) >> 1) + zp = (q + 2·zp + 1) >> 1, mod 2^32.
			up := m.Wire(fmt.Sprintf("rnd_up_%d", k), hdl.U(1))
			m.Set(up, m.Lit(1, 1))
			sum := q4.AsUnsigned().Add(hdl.Cat(hdl.SExt(zp, 32).AsUnsigned(), up)).Trunc(33)
			v = sum.Slice(32, 1).AsSigned()
		}

		// The clamp tests v twice: one wire, so it is computed once.
		vw := m.Wire(fmt.Sprintf("v_%d", k), hdl.S(32))
		m.Set(vw, v)
		v = vw
		// Clamp exactly as quant does: the minimum is tested first, so
		// min > max gives min below it and max above it.
		lo, hi := prmO.Slice(15, 8).AsSigned(), prmO.Slice(23, 16).AsSigned()
		clamped := hdl.Mux(v.Lt(hdl.SExt(lo, 32)), lo, hdl.Mux(v.Gt(hdl.SExt(hi, 32)), hi, v.Trunc(8)))
		outLanes[k] = regs.out(fmt.Sprintf("out_lane_%d", k), clamped, valid[nStages-1], cfg.Stage.ZeroIdle)
	}
	m.Set(p.Out.Data, PackLanes(outTag, outLanes))
	return r, nil
}

// requantNonNeg zero-extends e to n bits and reads the result as signed: a
// non-negative operand for signed arithmetic.
func requantNonNeg(e *hdl.Expr, n int) *hdl.Expr { return hdl.ZExt(e, n).AsSigned() }
