package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// SoftmaxConfig sizes the softmax unit.
type SoftmaxConfig struct {
	Stage StageConfig
}

// SoftmaxMaxLanes bounds the lanes a row may span: the sum of up to 256
// exponentials (each at most 2^19 in Q12.19) stays below 2^27, so the
// reciprocal's exponent stays within TFLite's [0, 31].
const SoftmaxMaxLanes = 256

// Validate checks the sizes.
func (c SoftmaxConfig) Validate() error {
	if err := c.Stage.Validate(); err != nil {
		return fmt.Errorf("softmax: %w", err)
	}
	if c.Stage.Lanes > SoftmaxMaxLanes {
		return fmt.Errorf("softmax: %d lanes, at most %d", c.Stage.Lanes, SoftmaxMaxLanes)
	}
	return nil
}

// The softmax unit's parameters: per set, the exponential table at
// addresses 0..255 (entry d is exp of the row's difference -d in Q0.31,
// or 0 where -d is below TFLite's diff_min: quant.SoftmaxExpTable) and the
// control word at SoftmaxControlAddr: depth, the number of lanes (from
// lane 0) that form the row; 0 passes every lane through.
const (
	SoftmaxTableSize   = 256
	SoftmaxControlAddr = 256
	SoftmaxPrmAddrBits = 9
	SoftmaxPrmDataBits = 32
)

// SoftmaxControlFields is the control word's layout.
func (c SoftmaxConfig) SoftmaxControlFields() []Field {
	var l layout
	l.add("depth", c.depthBits(), 1, false)
	return l.fields
}

func (c SoftmaxConfig) depthBits() int { return hdl.BitsFor(c.Stage.Lanes + 1) }

// Softmax is TFLite's int8 softmax over the first depth lanes of each beat
// (one row of at most Lanes values per beat), bit-exact with
// quant.SoftmaxInt8: output scale 1/256, zero point -128. Lanes at and
// above depth pass through unchanged.
//
// The row's differences from its maximum take only 256 values, so the
// exponentials come from a per-lane copy of a 256-entry table that the host
// fills from the layer's beta and scale; the rest is the kernel's fixed
// point, one gemmlowp SaturatingRoundingDoublingHighMul per stage:
//
//	s1     the row and its control word
//	s2     e_k = table[max - x_k] (0 for lanes at and above depth)
//	s3     the sum of the e_k rescaled to Q12.19 (rounding shift by 12)
//	s4     the sum normalized (h leading zeros): half the denominator
//	       (1 + a)/2 of TFLite's GetReciprocal, and the output exponent 35-h
//	s5     x0 = 48/17 - 32/17·d (Q2.29)
//	s6-s11 three Newton-Raphson steps x += 4·x·(1 - d·x), two multiplies each
//	s12    the reciprocal 2x in Q0.31, times e_k
//	out    rounding shift by the exponent, less 128, clamped
type Softmax struct {
	*hdl.Module
	Config  SoftmaxConfig
	Ports   *StagePorts
	Latency int
}

// NewSoftmax builds the softmax unit.
func NewSoftmax(cfg SoftmaxConfig) (*Softmax, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	L := cfg.Stage.Lanes
	m := hdl.NewModule(fmt.Sprintf("softmax_l%d_t%d", L, cfg.Stage.TagBits))
	m.Comment("Softmax unit: TFLite's int8 softmax over the first depth lanes of each beat (exponential tables, fixed-point reciprocal).")
	p := NewStagePorts(m, cfg.Stage, hdl.S(8), hdl.S(8), SoftmaxPrmAddrBits, SoftmaxPrmDataBits)
	regs := pipeRegs{m: m, adv: p.Adv}
	db := cfg.depthBits()

	isCtrl := p.PrmWe.And(p.PrmAddr.Bit(SoftmaxPrmAddrBits - 1))
	isTable := p.PrmWe.And(p.PrmAddr.Bit(SoftmaxPrmAddrBits - 1).Not())
	ctrl := m.Memory("ctrl", hdl.U(db), cfg.Stage.Sets(), nil)
	m.If(isCtrl, func() { ctrl.Write(p.PrmSet, p.PrmData.Slice(db-1, 0)) })
	depth := ctrl.Read("depth1", p.InTag, p.Adv)

	// s1: the row. The valid bit, tag and the pass-through values travel
	// with every stage; a lane is in the row when its index is below depth.
	const stages = 12
	valid, tag := p.In.Valid, p.InTag
	var validS, tagS []*hdl.Expr
	for s := 1; s <= stages; s++ {
		valid = regs.flag(fmt.Sprintf("v%d", s), valid)
		tag = regs.reg(fmt.Sprintf("tag%d", s), tag)
		validS, tagS = append(validS, valid), append(tagS, tag)
	}
	x1 := make([]*hdl.Expr, L)
	in := make([]*hdl.Expr, L) // lane k is in the row, beside s1
	masked := make([]*hdl.Expr, L)
	for k := range x1 {
		x1[k] = regs.reg(fmt.Sprintf("x1_%d", k), p.InLanes[k])
		in[k] = m.Wire(fmt.Sprintf("in_row_%d", k), hdl.U(1))
		m.Set(in[k], m.Const(int64(k), hdl.U(db)).Lt(depth))
		masked[k] = hdl.Mux(in[k], x1[k], m.Const(-128, hdl.S(8)))
	}
	rowMax := poolMaxTree(m, "row_max", masked)

	// s1 → s2: the table read at max - x (0..255 for the row's lanes).
	tables := make([]*hdl.Memory, L)
	e2 := make([]*hdl.Expr, L)
	in2 := make([]*hdl.Expr, L)
	for k := range tables {
		tables[k] = m.Memory(fmt.Sprintf("exp_table_%d", k), hdl.U(31), cfg.Stage.Sets()*SoftmaxTableSize, nil)
		d := rowMax.Sub(x1[k]).Slice(7, 0)
		e2[k] = tables[k].Read(fmt.Sprintf("e2_%d", k), hdl.Cat(tagS[0], d), p.Adv)
		in2[k] = regs.flag(fmt.Sprintf("in2_%d", k), in[k])
	}
	m.If(isTable, func() {
		for _, t := range tables {
			t.Write(hdl.Cat(p.PrmSet, p.PrmAddr.Slice(7, 0)), p.PrmData.Slice(30, 0))
		}
	})

	// s2 → s3: e in Q0.31, masked to the row; the sum of each rounded to
	// Q12.19 (non-negative: round half up).
	sumBits := 20 + hdl.Clog2(L+1)
	e3 := make([]*hdl.Expr, L)
	var sum *hdl.Expr
	for k := range e2 {
		e := hdl.Mux(in2[k], e2[k], m.Const(0, hdl.U(31)))
		e3[k] = regs.reg(fmt.Sprintf("e3_%d", k), e)
		q := e.Add(m.Const(1<<11, hdl.U(12))).Shr(12) // 20 bits
		if sum == nil {
			sum = hdl.ZExt(q, sumBits)
		} else {
			sum = sum.Add(hdl.ZExt(q, sumBits)).Trunc(sumBits)
		}
	}
	sumW := m.Wire("exp_sum", hdl.U(sumBits))
	m.Set(sumW, sum)
	sum3 := regs.reg("sum3", hdl.ZExt(sumW, 32))

	// s3 → s4: GetReciprocal's normalization. h = leading zeros of the
	// sum (at least 2^19: the maximum's own exponential), a = (sum << h) -
	// 2^31, half the denominator (a + 2^31) / 2, exponent 12 - h + 23.
	lead := m.Const(0, hdl.U(5))
	for i := 1; i < 32; i++ {
		lead = hdl.Mux(sum3.Bit(i), m.Const(int64(i), hdl.U(5)), lead)
	}
	leadW := m.Wire("sum_lead", hdl.U(5))
	m.Set(leadW, lead)
	h := m.Const(31, hdl.U(5)).Sub(leadW).Trunc(5)
	norm := sum3.ShlBy(h) // bit 31 set
	half4 := regs.reg("hd4", hdl.ZExt(norm.Shr(1), 32).AsSigned())
	exp4 := regs.reg("exp4", m.Const(35, hdl.U(6)).Sub(hdl.ZExt(h, 6)).Trunc(6))
	e4 := softmaxDelay(regs, "e4", e3)

	// s4 → s5: x0 = 48/17 + d·(-32/17).
	x := regs.reg("nr_x5", m.Const(1515870810, hdl.S(32)).Add(softmaxMul(m, "nr_x0", half4, m.Const(-1010580540, hdl.S(32)))).Trunc(32))
	hd := regs.reg("hd5", half4)
	ex := regs.reg("exp5", exp4)
	es := softmaxDelay(regs, "e5", e4)

	// s5 → s11: three Newton-Raphson steps, one multiply per stage.
	for i := 0; i < 3; i++ {
		hdx := softmaxMul(m, fmt.Sprintf("nr_hdx_%d", i), hd, x)
		oneMinus := regs.reg(fmt.Sprintf("nr_om_%d", i), m.Const(1<<29, hdl.S(32)).Sub(hdx).Trunc(32))
		xKeep := regs.reg(fmt.Sprintf("nr_xk_%d", i), x)
		if i < 2 { // the last step's denominator is not read again
			hd = regs.reg(fmt.Sprintf("hd_a%d", i), hd)
		}
		ex = regs.reg(fmt.Sprintf("exp_a%d", i), ex)
		es = softmaxDelay(regs, fmt.Sprintf("e_a%d", i), es)
		t := softmaxMul(m, fmt.Sprintf("nr_t_%d", i), xKeep, oneMinus)
		x = regs.reg(fmt.Sprintf("nr_x_%d", i), xKeep.Add(softmaxSatShl(m, fmt.Sprintf("nr_inc_%d", i), t, 2)).Trunc(32))
		if i < 2 {
			hd = regs.reg(fmt.Sprintf("hd_b%d", i), hd)
		}
		ex = regs.reg(fmt.Sprintf("exp_b%d", i), ex)
		es = softmaxDelay(regs, fmt.Sprintf("e_b%d", i), es)
	}

	// s11 → s12: the reciprocal 2x (saturating), times each e.
	scale := softmaxSatShl(m, "recip", x, 1)
	prod := make([]*hdl.Expr, L)
	for k := range es {
		prod[k] = regs.reg(fmt.Sprintf("p12_%d", k), softmaxMul(m, fmt.Sprintf("out_mul_%d", k), scale, hdl.ZExt(es[k], 32).AsSigned()))
	}
	ex = regs.reg("exp12", ex)

	// The pass-through values and the row mask, delayed to s12.
	xs := x1
	ins := in2
	for s := 2; s <= 12; s++ {
		xs = softmaxDelay(regs, fmt.Sprintf("x%d", s), xs)
	}
	for s := 3; s <= 12; s++ {
		ins = softmaxDelayFlags(regs, fmt.Sprintf("in%d", s), ins)
	}

	// s12 → out: rounding shift by the exponent (the product is not
	// negative: round half up), less 128, clamped.
	lanes := make([]*hdl.Expr, L)
	half := m.Wire("out_half", hdl.U(31))
	m.Set(half, m.Const(1, hdl.U(32)).ShlBy(ex.Trunc(5)).Shr(1))
	for k := range prod {
		pk := prod[k].AsUnsigned().Trunc(31) // non-negative
		q := hdl.ZExt(pk, 33).Add(hdl.ZExt(half, 33)).Trunc(33)
		qs := m.Wire(fmt.Sprintf("out_q_%d", k), hdl.U(33))
		m.Set(qs, q.ShrBy(ex.Trunc(5)))
		big := qs.Gt(m.Const(255, hdl.U(33)))
		v := hdl.Mux(big, m.Const(127, hdl.S(8)), qs.Slice(7, 0).AsSigned().Xor(m.Const(-128, hdl.S(8))))
		lanes[k] = regs.out(fmt.Sprintf("out_lane_%d", k), hdl.Mux(ins[k], v, xs[k]), validS[stages-1], cfg.Stage.ZeroIdle)
	}
	regs.load(p.OutValid, validS[stages-1])
	outTag := regs.out("out_tag", tagS[stages-1], validS[stages-1], cfg.Stage.ZeroIdle)
	m.Set(p.Out.Data, PackLanes(outTag, lanes))
	return &Softmax{Module: m, Config: cfg, Ports: p, Latency: stages + 1}, nil
}

// softmaxMul is gemmlowp's SaturatingRoundingDoublingHighMul of two int32:
// floor((a·b + 2^30) / 2^31), and INT32_MAX for INT32_MIN².
func softmaxMul(m *hdl.Module, name string, a, b *hdl.Expr) *hdl.Expr {
	p := m.Wire(name+"_p", hdl.S(64))
	m.Set(p, a.Mul(b))
	sat := p.Bit(62).And(p.Bit(63).Not())
	w := m.Wire(name, hdl.S(32))
	m.Set(w, hdl.Mux(sat, m.Const(1<<31-1, hdl.S(32)), p.Shr(30).Add(m.Const(1, hdl.S(2))).Shr(1).Trunc(32)))
	return w
}

// softmaxSatShl is gemmlowp's SaturatingRoundingMultiplyByPOT by 2^n: x·2^n,
// saturated to the int32 range.
func softmaxSatShl(m *hdl.Module, name string, x *hdl.Expr, n int) *hdl.Expr {
	lim := int64(1)<<(31-n) - 1
	w := m.Wire(name, hdl.S(32))
	m.Set(w, hdl.Mux(x.Gt(m.Const(lim, hdl.S(32))), m.Const(1<<31-1, hdl.S(32)),
		hdl.Mux(x.Lt(m.Const(-lim, hdl.S(32))), m.Const(-1<<31, hdl.S(32)), x.Shl(n).Trunc(32))))
	return w
}

func softmaxDelay(regs pipeRegs, name string, v []*hdl.Expr) []*hdl.Expr {
	out := make([]*hdl.Expr, len(v))
	for k, e := range v {
		out[k] = regs.reg(fmt.Sprintf("%s_%d", name, k), e)
	}
	return out
}

func softmaxDelayFlags(regs pipeRegs, name string, v []*hdl.Expr) []*hdl.Expr {
	out := make([]*hdl.Expr, len(v))
	for k, e := range v {
		out[k] = regs.flag(fmt.Sprintf("%s_%d", name, k), e)
	}
	return out
}
