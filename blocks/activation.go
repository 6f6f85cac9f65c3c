package blocks

import (
	"fmt"
	"math"

	"github.com/tpugen/tpugen/hdl"
)

// ActivationMode selects what the activation unit does to a beat; it is
// the mode field of a parameter set's control word.
type ActivationMode int

const (
	// ActivationNone passes values through unchanged. ReLU, ReLU6 and other
	// clamps need no mode of their own: the requantizer's clamp does them,
	// as TFLite fuses them into the preceding op.
	ActivationNone ActivationMode = 0
	// ActivationLeaky is TFLite's int8 LeakyRelu (two quantized
	// multipliers, double rounding). Pass-through when the unit is built
	// without the LeakyReLU datapath.
	ActivationLeaky ActivationMode = 1
	// ActivationTable looks each value up in the set's 256-entry table
	// (sigmoid, tanh or any int8 → int8 function). Pass-through when the
	// unit is built without tables. Mode 3 is reserved and passes through.
	ActivationTable ActivationMode = 2
)

// Parameter addresses of the activation unit (prm_addr is
// ActivationPrmAddrBits wide). Addresses 0..255 hold the table: entry a is
// the output for the input whose two's-complement bit pattern is a (x maps
// to entry uint8(x)), written from prm_data[7:0] into every lane's table at
// once. Address 256 holds the control word (ActivationControlFields).
// Other addresses are ignored.
const (
	ActivationTableAddr   = 0
	ActivationTableSize   = 256
	ActivationControlAddr = 256
	ActivationPrmAddrBits = 9
)

// ActivationControlFields returns the layout of the control word, LSB
// first. The multipliers and shifts are TFLite's LeakyRelu parameters
// (quant.LeakyReLUParams): the identity pair scales x − in_zp ≥ 0, the
// alpha pair x − in_zp < 0, as x·mult·2^(shift−31) with double rounding.
// Shifts must be in [−31, 31]; −32 is not a valid shift.
func ActivationControlFields() []Field { return activationControl().l.fields }

// ActivationControlBits is the width of the control word and of prm_data.
func ActivationControlBits() int { return activationControl().l.next }

// actControlLayout is the control word's layout, field by field.
type actControlLayout struct {
	l                           layout
	mode, inZP, outZP           payloadField
	multIdentity, shiftIdentity payloadField
	multAlpha, shiftAlpha       payloadField
}

func activationControl() actControlLayout {
	var c actControlLayout
	c.mode = c.l.add("mode", 2, 1, false)
	c.inZP = c.l.add("in_zp", 8, 1, true)
	c.outZP = c.l.add("out_zp", 8, 1, true)
	c.multIdentity = c.l.add("mult_identity", 32, 1, true)
	c.shiftIdentity = c.l.add("shift_identity", 6, 1, true)
	c.multAlpha = c.l.add("mult_alpha", 32, 1, true)
	c.shiftAlpha = c.l.add("shift_alpha", 6, 1, true)
	return c
}

// ActivationConfig sizes an activation unit and says which datapaths it has.
type ActivationConfig struct {
	Stage StageConfig
	Leaky bool // generate the LeakyReLU datapath
	Table bool // generate the 256-entry lookup tables
}

// Validate checks the configuration.
func (c ActivationConfig) Validate() error {
	if err := c.Stage.Validate(); err != nil {
		return fmt.Errorf("activation: %w", err)
	}
	return nil
}

// Activation is the activation unit, a post-array pipeline stage with the
// ports of NewStagePorts: in_data is {tag, Lanes × int8}, out_data the same
// after the activation, prm_addr is ActivationPrmAddrBits wide and prm_data
// ActivationControlBits wide. Each parameter set holds a control word and,
// with tables, a 256-entry table. Without Leaky and Table it is a
// one-register pass-through that ignores its parameters.
//
// A beat reads its set's parameters on the clock edge that accepts it (a
// write on that same edge is not seen), so parameters may be rewritten
// while earlier beats are still in the stage.
type Activation struct {
	*hdl.Module
	Config ActivationConfig
	Ports  *StagePorts
	// Latency is the number of register stages from in fire to out valid
	// when never stalled: 1 (pass-through only), 2 (tables only) or 4
	// (with LeakyReLU).
	Latency int
}

// NewActivation builds the activation unit for cfg.
//
// Pipeline: stage A issues the synchronous reads of the beat's control word
// (by tag) and table entries (by {tag, x}); with LeakyReLU, stage B removes
// the input zero point and picks the branch's multiplier and shift, stage C
// multiplies, stage D rounds, adds the output zero point and clamps. The
// last stage selects by mode into the output register.
func NewActivation(cfg ActivationConfig) (*Activation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("activation_l%d_t%d", cfg.Stage.Lanes, cfg.Stage.TagBits)
	if cfg.Leaky {
		name += "_leaky"
	}
	if cfg.Table {
		name += "_table"
	}
	m := hdl.NewModule(name)
	m.Comment("tpugen activation unit: %d int8 lanes, %d parameter sets, LeakyReLU %v, tables %v.",
		cfg.Stage.Lanes, cfg.Stage.Sets(), cfg.Leaky, cfg.Table)
	p := NewStagePorts(m, cfg.Stage, hdl.S(8), hdl.S(8), ActivationPrmAddrBits, ActivationControlBits())
	b := &actBuilder{pipeRegs: pipeRegs{m: m, adv: p.Adv}, cfg: cfg, p: p}
	b.build()
	return &Activation{Module: m, Config: cfg, Ports: p, Latency: b.latency}, nil
}

type actBuilder struct {
	pipeRegs // every register advances with the stage (p.Adv)
	cfg      ActivationConfig
	p        *StagePorts
	latency  int
}

// actBeat is what a pipeline stage holds of a beat.
type actBeat struct {
	valid, tag, mode *hdl.Expr
	x, tbl           []*hdl.Expr // per lane; tbl nil without tables
}

// carry moves a beat's pass-along fields one stage down.
func (b *actBuilder) carry(s string, in actBeat) actBeat {
	data := b.when(in.valid) // only a valid beat's values are read
	out := actBeat{
		valid: b.flag("valid_"+s, in.valid),
		tag:   b.reg("tag_"+s, in.tag),
		mode:  data.reg("mode_"+s, in.mode),
	}
	for k := range in.x {
		out.x = append(out.x, data.reg(fmt.Sprintf("x_%s_%d", s, k), in.x[k]))
		if in.tbl != nil {
			out.tbl = append(out.tbl, data.reg(fmt.Sprintf("tbl_%s_%d", s, k), in.tbl[k]))
		}
	}
	return out
}

func (b *actBuilder) build() {
	m, p, cfg := b.m, b.p, b.cfg
	if !cfg.Leaky && !cfg.Table {
		b.passThrough()
		return
	}
	isCtrl := p.PrmWe.And(p.PrmAddr.EqConst(ActivationControlAddr))
	// The control word is stored only as wide as the datapaths need: the
	// mode (its first field) for tables alone.
	ctl := activationControl()
	ctrlBits := ctl.mode.Width
	if cfg.Leaky {
		ctrlBits = ctl.l.next
	}
	ctrl := m.Memory("ctrl", hdl.U(ctrlBits), cfg.Stage.Sets(), nil)
	m.If(isCtrl, func() { ctrl.Write(p.PrmSet, p.PrmData.Slice(ctrlBits-1, 0)) })
	// A stage's data registers load only with a valid beat (nothing reads
	// them otherwise): a simulator then skips their logic on idle cycles.
	take := p.Adv.And(p.In.Valid)
	ctrlRd := ctrl.Read("ctrl_rd", p.InTag, take)

	// Stage A → B: the reads land in ctrl_rd and tbl_rd_k.
	beat := actBeat{valid: b.flag("valid_b", p.In.Valid), tag: b.reg("tag_b", p.InTag), mode: ctl.mode.of(ctrlRd)}
	var tables []*hdl.Memory
	if cfg.Table {
		// Addresses below ActivationControlAddr (bit 8 clear) are entries.
		isTable := p.PrmWe.And(p.PrmAddr.Bit(ActivationPrmAddrBits - 1).Not())
		for k := 0; k < cfg.Stage.Lanes; k++ {
			t := m.Memory(fmt.Sprintf("table_%d", k), hdl.S(8), cfg.Stage.Sets()*ActivationTableSize, nil)
			tables = append(tables, t)
			beat.tbl = append(beat.tbl, t.Read(fmt.Sprintf("tbl_rd_%d", k), hdl.Cat(p.InTag, p.InLanes[k].AsUnsigned()), take))
		}
		// One write enable for every lane: the tables are identical.
		m.If(isTable, func() {
			for _, t := range tables {
				t.Write(hdl.Cat(p.PrmSet, p.PrmAddr.Slice(7, 0)), p.PrmData.Slice(7, 0).AsSigned())
			}
		})
	}
	for k := 0; k < cfg.Stage.Lanes; k++ {
		beat.x = append(beat.x, b.when(p.In.Valid).reg(fmt.Sprintf("x_b_%d", k), p.InLanes[k]))
	}
	b.latency = 1
	var leaky []*hdl.Expr
	if cfg.Leaky {
		beat, leaky = b.leaky(beat, ctrlRd)
	}
	b.output(beat, leaky)
}

// passThrough is the unit without datapaths: one register stage.
func (b *actBuilder) passThrough() {
	m, p := b.m, b.p
	// Every stage keeps the prm_* port so stages are interchangeable, but
	// this one has no parameters. hdl cannot mark an input as deliberately
	// unread, so the port is folded into a register that only feeds itself
	// (synthesis removes it).
	sink := m.Reg("prm_sink", hdl.U(1))
	m.Set(sink, sink.Xor(hdl.Cat(p.PrmWe, p.PrmSet, p.PrmAddr, p.PrmData).XorBits()))
	beat := actBeat{tag: p.InTag, valid: p.In.Valid}
	beat.x = p.InLanes
	b.output(beat, nil)
}

// output registers the selected value of each lane into out_data.
func (b *actBuilder) output(in actBeat, leaky []*hdl.Expr) {
	m, p := b.m, b.p
	zero := b.cfg.Stage.ZeroIdle
	b.load(p.OutValid, in.valid)
	tag := b.out("out_tag", in.tag, in.valid, zero)
	var lanes []*hdl.Expr
	for k := range in.x {
		sel := m.Wire(fmt.Sprintf("sel_%d", k), hdl.S(8))
		m.Set(sel, in.x[k])
		if in.mode != nil {
			if leaky != nil {
				m.If(in.mode.EqConst(int64(ActivationLeaky)), func() { m.Set(sel, leaky[k]) })
			}
			if in.tbl != nil {
				m.If(in.mode.EqConst(int64(ActivationTable)), func() { m.Set(sel, in.tbl[k]) })
			}
		}
		lanes = append(lanes, b.out(fmt.Sprintf("out_%d", k), sel, in.valid, zero))
	}
	b.latency++
	m.Set(p.Out.Data, PackLanes(tag, lanes))
}

// leaky adds stages B, C and D of the LeakyReLU datapath and returns the
// beat as it stands in stage D with each lane's LeakyReLU result.
//
// TFLite computes MultiplyByQuantizedMultiplier(v, M, shift) with v = x −
// in_zp as RoundingDivideByPOT(SRDHM(wrap32(v·2^left), M), right). v has 9
// significant bits, so wrap32(v·2^left) = s·2^left with s the low
// (32−left) bits of v sign-extended (s = v unless left > 23): the product
// is the 9×32-bit s·M shifted left, not a 32×32 multiply.
func (b *actBuilder) leaky(in actBeat, ctrl *hdl.Expr) (actBeat, []*hdl.Expr) {
	m := b.m
	// Each field is sliced once: every lane reads the same expression.
	ctl := activationControl()
	inZP := ctl.inZP.of(ctrl)
	multIdentity, shiftIdentity := ctl.multIdentity.of(ctrl), ctl.shiftIdentity.of(ctrl)
	multAlpha, shiftAlpha := ctl.multAlpha.of(ctrl), ctl.shiftAlpha.of(ctrl)
	c := b.carry("c", in)
	inB, inC := b.when(in.valid), b.when(c.valid) // stage C's and D's data loads
	outZPc := inB.reg("out_zp_c", ctl.outZP.of(ctrl))
	d := b.carry("d", c)
	outZP := inC.reg("out_zp_d", outZPc)
	b.latency += 2

	zero6 := m.Const(0, hdl.S(6))
	zero5 := m.Const(0, hdl.U(5))
	// The shift split (left and right shift, and how many of v's bits the
	// wrap drops) depends on the lane only through the branch: it is
	// decoded once for each of the two shifts, {drop, right, left}, and
	// each lane selects one.
	split := func(name string, sh *hdl.Expr) *hdl.Expr {
		left := m.Wire(name+"_left", hdl.U(5))
		m.Set(left, hdl.Mux(sh.Gt(zero6), sh.Slice(4, 0), zero5))
		right := hdl.Mux(sh.MSB(), sh.Neg().Slice(4, 0), zero5)
		// Bits of v above 31−left are lost in the wrap: keep 9−k of them.
		drop := hdl.Mux(left.Gt(m.Const(23, hdl.U(5))), left.Sub(m.Const(23, hdl.U(5))).Trunc(4), m.Const(0, hdl.U(4)))
		w := m.Wire(name+"_split", hdl.U(14))
		m.Set(w, hdl.Cat(drop, right, left))
		return w
	}
	splitAlpha, splitIdentity := split("alpha", shiftAlpha), split("identity", shiftIdentity)
	var res []*hdl.Expr
	for k := range in.x {
		// Stage B: branch, shift split and the wrapped 9-bit factor.
		v := m.Wire(fmt.Sprintf("v_%d", k), hdl.S(9))
		m.Set(v, in.x[k].Sub(inZP))
		neg := v.MSB()
		mult := hdl.Mux(neg, multAlpha, multIdentity)
		sp := m.Wire(fmt.Sprintf("split_%d", k), hdl.U(14))
		m.Set(sp, hdl.Mux(neg, splitAlpha, splitIdentity))
		left, right, drop := sp.Slice(4, 0), sp.Slice(9, 5), sp.Slice(13, 10)
		s := v.ShlBy(drop).ShrBy(drop)
		sC := inB.reg(fmt.Sprintf("s_c_%d", k), s)
		multC := inB.reg(fmt.Sprintf("mult_c_%d", k), mult)
		leftC := inB.reg(fmt.Sprintf("left_c_%d", k), left)
		rightC := inB.reg(fmt.Sprintf("right_c_%d", k), right)

		// Stage C: the 64-bit product a·M = (s·M)·2^left.
		prod := inC.reg(fmt.Sprintf("prod_d_%d", k), hdl.SExt(sC.Mul(multC), 64).ShlBy(leftC))
		rightD := inC.reg(fmt.Sprintf("right_d_%d", k), rightC)

		// Stage D: SRDHM is (a·M + 2^30) >> 31 (floor), which rounds half
		// up for either sign; only INT32_MIN² overflows and saturates.
		// |a·M| <= 2^62 (both are int32), so the rounding add cannot
		// overflow 64 bits: it stays a 64-bit add (one machine word in a
		// simulator) instead of the full 65-bit sum, and hi, at most
		// 2^31, fits 33 bits.
		hi := m.Wire(fmt.Sprintf("hi_%d", k), hdl.S(33))
		m.Set(hi, prod.Add(m.Const(1<<30, hdl.S(64))).Trunc(64).Shr(31))
		high := m.Wire(fmt.Sprintf("high_%d", k), hdl.S(32))
		m.Set(high, hdl.Mux(hi.Gt(m.Const(math.MaxInt32, hdl.S(33))), m.Const(math.MaxInt32, hdl.S(32)), hi.Trunc(32)))
		// RoundingDivideByPOT: round half away from zero.
		mask := m.Wire(fmt.Sprintf("mask_%d", k), hdl.U(32))
		m.Set(mask, m.Const(math.MaxUint32, hdl.U(32)).ShlBy(rightD).Not())
		threshold := mask.Shr(1).Add(hdl.ZExt(high.MSB(), 31))
		up := high.AsUnsigned().And(mask).Gt(threshold)
		q := m.Wire(fmt.Sprintf("q_%d", k), hdl.S(32))
		m.Set(q, high.ShrBy(rightD).Add(hdl.Cat(m.Lit(0, 1), up).AsSigned()).Trunc(32))
		// int32 arithmetic wraps, as in the reference, before the clamp.
		y := m.Wire(fmt.Sprintf("y_%d", k), hdl.S(32))
		m.Set(y, q.Add(hdl.SExt(outZP, 32)).Trunc(32))
		lr := m.Wire(fmt.Sprintf("leaky_%d", k), hdl.S(8))
		m.Set(lr, y.Trunc(8))
		m.If(y.Lt(m.Const(-128, hdl.S(32))), func() { m.Set(lr, m.Const(-128, hdl.S(8))) })
		m.If(y.Gt(m.Const(127, hdl.S(32))), func() { m.Set(lr, m.Const(127, hdl.S(8))) })
		res = append(res, lr)
	}
	return d, res
}
