package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// MatrixUnit is the top of the matrix unit: a systolic array (WS or OS),
// its skew and deskew registers, the accumulator memory and three streams:
//
//	w_in   weights: one beat per array row (WS: rows beats per tile, row 0
//	       first) or per K step (OS), Cols lanes.
//	a_in   activations: Rows lanes plus the accumulator address and the
//	       flags first (WS: first beat of a weight tile; OS: first K step),
//	       acc (add into the accumulator row instead of overwriting) and last
//	       (WS: emit the accumulated row; OS: last K step of the tile).
//	c_out  results: Cols accumulator lanes and the row address.
//
// Every register of the datapath advances together (adv); the pipeline
// stalls only when c_out holds a result nobody takes, so backpressure never
// drops or reorders anything. With MAC stages adv is a register, so no
// ready signal reaches the datapath combinationally: the output has a
// second entry for the result produced in the cycle after a stall begins
// (loadSkid).
type MatrixUnit struct {
	*hdl.Module
	Config  MatrixConfig
	Streams []StreamPort
	// Latency is the number of cycles from an a_in beat firing to its
	// result's c_out beat (WS: for a beat with last set; OS: for row 0 of
	// the tile whose last beat it is).
	Latency int
	// PipelineLatency is the register stages a result row passes through
	// in the post-array pipeline (requantizer, activation and pooling units)
	// on its way to y_out, beyond Latency.
	PipelineLatency int
}

// TopName is the name of the generated top module.
const TopName = "tpu_mxu"

type mxuBuilder struct {
	pipeRegs // every datapath register advances on adv
	cfg      MatrixConfig
	win, ain hdl.Stream
	wl       wInPayload
	al       aInPayload
	aw       int // accumulator address bits
	stages   []pipelineStage
	pin      hdl.Stream
	pl       pInPayload
	wdec     *StreamPort // the compressed w_in, when a decoder is in front of the array
	credit   *hdl.Expr   // stall "credit": a result's beat may enter the array
}

// The streams' payloads, field by field: the builder slices beats by these
// fields, and the manifest describes the streams by the same layouts.
type (
	wInPayload struct {
		layout
		weights payloadField // one lane per column
	}
	aInPayload struct {
		layout
		acts                   payloadField // one lane per row
		addr, first, acc, last payloadField
		// OS: how many of the tile's rows hold real output rows (the
		// readout skips the zero-padded rest).
		rows     payloadField
		tag, raw payloadField // with a pipeline: parameter set, bypass to c_out
	}
	cOutPayload struct {
		layout
		sums, addr payloadField
		tag        payloadField // with a pipeline
	}
	pInPayload struct {
		layout
		target, set, addr, data payloadField
	}
)

// back-end control produced by the array side for the accumulator.
type mxuResult struct {
	preAddr, valid, addr, acc, last *hdl.Expr
	preAcc                          *hdl.Expr   // acc one cycle early, for an accumulator with Lead 2
	tag, raw                        *hdl.Expr   // with a pipeline: parameter set, and bypass to c_out
	sums                            []*hdl.Expr // accumulator shape
	latency                         int
}

// NewMatrixUnit builds the matrix unit for cfg.
func NewMatrixUnit(cfg MatrixConfig) (*MatrixUnit, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("matrix unit: %w", err)
	}
	m := hdl.NewModule(TopName)
	m.Comment("tpugen matrix unit: %dx%d %s array, %s x %s -> %s, %d accumulator rows.",
		cfg.Rows, cfg.Cols, cfg.Dataflow, sig(cfg.InputBits, cfg.InputSigned), sig(cfg.WeightBits, cfg.WeightSigned),
		sig(cfg.AccBits, cfg.ProductSigned()), cfg.AccDepth)
	// adv is declared below, with the output register, before any other register.
	b := &mxuBuilder{pipeRegs: pipeRegs{m: m}, cfg: cfg, aw: cfg.AccAddrBits()}
	b.wl.weights = b.wl.add("weights", cfg.WeightBits, cfg.Cols, cfg.WeightSigned)
	b.al.acts = b.al.add("acts", cfg.InputBits, cfg.Rows, cfg.InputSigned)
	b.al.addr = b.al.add("addr", b.aw, 1, false)
	b.al.first = b.al.add("first", 1, 1, false)
	b.al.acc = b.al.add("acc", 1, 1, false)
	b.al.last = b.al.add("last", 1, 1, false)
	if cfg.Dataflow.IsOS() {
		b.al.rows = b.al.add("rows", hdl.BitsFor(cfg.Rows+1), 1, false)
	}
	pipe := cfg.Pipeline.Enabled()
	if pipe {
		b.al.tag = b.al.add("tag", cfg.Pipeline.TagBits, 1, false)
		b.al.raw = b.al.add("raw", 1, 1, false)
	}
	var cl cOutPayload
	cl.sums = cl.add("sums", cfg.AccBits, cfg.Cols, cfg.ProductSigned())
	cl.addr = cl.add("addr", b.aw, 1, false)
	if pipe {
		cl.tag = cl.add("tag", cfg.Pipeline.TagBits, 1, false)
	}

	if cfg.WeightCompression.IsCompressed() {
		if err := b.addWeightDecoder(); err != nil {
			return nil, fmt.Errorf("matrix unit: %w", err)
		}
	} else {
		b.win = m.InStream("w_in", hdl.U(b.wl.next))
	}
	b.ain = m.InStream("a_in", hdl.U(b.al.next))
	if pipe {
		if err := b.declareParams(); err != nil {
			return nil, fmt.Errorf("matrix unit: %w", err)
		}
	}
	cout := m.OutStream("c_out", hdl.U(cl.next))

	credit := cfg.Stall.IsCredit()
	skid := cfg.registeredAdvance()
	var outValid, outData *hdl.Expr
	if !credit {
		outValid = m.Reg("out_valid_q", hdl.U(1), hdl.ResetTo(0))
		outData = m.Reg("out_data_q", hdl.U(cl.next))
	}
	switch {
	case skid:
		b.adv = m.Reg("adv", hdl.U(1), hdl.ResetTo(1))
	case credit:
		// Nothing stops: the array's registers have no enable to wait on.
		b.adv = m.Wire("adv", hdl.U(1))
		m.Set(b.adv, m.Lit(1, 1))
		b.credit = m.Wire("credit_ok", hdl.U(1))
	default:
		b.adv = m.Wire("adv", hdl.U(1))
	}
	switch {
	case skid:
		m.Set(cout.Data, gated(m, outValid, outData))
	case !credit:
		m.Set(cout.Data, outData)
	}

	var r mxuResult
	if !cfg.Dataflow.IsOS() {
		r = b.buildWS()
	} else {
		r = b.buildOS()
	}

	acc := NewAccumulator(cfg)
	ai := m.Instance("acc", acc.Module)
	ai.In(acc.Adv, b.adv)
	ai.In(acc.PreAddr, r.preAddr)
	ai.In(acc.Valid, r.valid)
	ai.In(acc.Addr, r.addr)
	if acc.PreAcc != nil {
		ai.In(acc.PreAcc, r.preAcc)
	} else {
		ai.In(acc.Acc, r.acc)
	}
	ai.In(acc.Last, r.last)
	for j, s := range r.sums {
		ai.In(acc.Sum[j], s)
	}
	if pipe { // the tag and raw flag follow the row out of the accumulator
		r.tag = b.delay("ctl_tag_out", r.tag, acc.OutDelay)
		r.raw = b.delay("ctl_raw_out", r.raw, acc.OutDelay)
	}
	parts := []*hdl.Expr{ai.Out(acc.OutAddr)}
	if pipe {
		parts = append([]*hdl.Expr{r.tag}, parts...)
	}
	for j := cfg.Cols - 1; j >= 0; j-- {
		parts = append(parts, ai.Out(acc.Out[j]).AsUnsigned())
	}
	resValid := ai.Out(acc.OutValid)
	mu := &MatrixUnit{Module: m, Config: cfg, Latency: r.latency + acc.OutDelay + 1}
	for _, s := range b.stages {
		mu.PipelineLatency += s.latency
	}
	if credit {
		return b.creditOut(mu, cout, cl, resValid, hdl.Cat(parts...), r.raw, mu.Latency)
	}
	out := outBuffer{valid: outValid, data: outData}
	if skid {
		out.declareSkid(m, pipe)
	} else {
		m.If(b.adv, func() { m.Set(outValid, resValid) })
		// Zero whenever out_valid_q is: c_out_data is the register itself,
		// never x, with no gate per bit on the way out.
		zeroIdleLoad(m, b.adv, outData, hdl.Cat(parts...), resValid)
	}

	mu.Streams = b.streams(cl)
	if !pipe {
		if skid {
			b.loadSkid(out, cout.Ready, resValid, hdl.Cat(parts...), nil)
		} else {
			m.Set(b.adv, outValid.Not().Or(cout.Ready))
		}
		m.Set(cout.Valid, outValid)
		return mu, nil
	}
	// With a pipeline, each result goes either out raw on c_out (GEMM) or
	// into the requantizer (layers), as its beat's raw flag says.
	outRaw := m.Reg("out_raw_q", hdl.U(1))
	out.raw = outRaw
	if !skid {
		m.If(b.adv.And(resValid), func() { m.Set(outRaw, r.raw) })
	}
	m.Set(cout.Valid, outValid.And(outRaw))
	pipeValid := m.Wire("pipe_valid", hdl.U(1))
	m.Set(pipeValid, outValid.And(outRaw.Not()))
	pipeData := hdl.Cat(cl.tag.bits(outData), cl.sums.bits(outData))
	pipeReady, streams, err := b.addPipeline(pipeValid, pipeData)
	if err != nil {
		return nil, fmt.Errorf("matrix unit: %w", err)
	}
	if skid {
		b.loadSkid(out, hdl.Mux(outRaw, cout.Ready, pipeReady), resValid, hdl.Cat(parts...), r.raw)
	} else {
		m.Set(b.adv, outValid.Not().Or(hdl.Mux(outRaw, cout.Ready, pipeReady)))
	}
	mu.Streams = append(mu.Streams, streams...)
	return mu, nil
}

// outBuffer is where results wait for c_out or the pipeline: the output
// register (valid, data and, with a pipeline, the raw flag), and with a
// registered advance a second entry behind it (skid*).
type outBuffer struct {
	valid, data, raw                *hdl.Expr
	skidValid, skidData, skidRawReg *hdl.Expr
}

// declareSkid declares the second entry.
func (o *outBuffer) declareSkid(m *hdl.Module, pipe bool) {
	o.skidValid = m.Reg("skid_valid_q", hdl.U(1), hdl.ResetTo(0))
	o.skidData = m.Reg("skid_data_q", o.data.Shape())
	if pipe {
		o.skidRawReg = m.Reg("skid_raw_q", hdl.U(1))
	}
}

// loadSkid drives the output buffer and the advance register. With a
// registered advance (adv is a flip-flop, not a function of the output's
// ready), the unit may produce one more result in the cycle after the
// output stalls; the second entry takes it. adv stays 1 for the next
// cycle unless the buffer will then be full, so results are never lost,
// and a sink that keeps up sees the same timing as with the combinational
// advance: the output register loads in the cycle a result is produced.
// headReady is the ready of wherever the output register's result goes.
func (b *mxuBuilder) loadSkid(o outBuffer, headReady, resValid, item, raw *hdl.Expr) {
	m := b.m
	push := m.Wire("out_push", hdl.U(1))
	m.Set(push, b.adv.And(resValid))
	headFree := m.Wire("out_free", hdl.U(1)) // the output register is empty or leaves
	m.Set(headFree, o.valid.Not().Or(headReady))
	m.If(headFree, func() {
		m.If(o.skidValid, func() {
			m.Set(o.valid, m.Lit(1, 1))
			m.Set(o.data, o.skidData)
			if raw != nil {
				m.Set(o.raw, o.skidRawReg)
			}
			m.Set(o.skidValid, push)
		}).Else(func() {
			m.Set(o.valid, push)
			m.If(push, func() {
				m.Set(o.data, item)
				if raw != nil {
					m.Set(o.raw, raw)
				}
			})
		})
	})
	// The second entry loads whenever a result cannot go straight into the
	// output register.
	m.If(push.And(headFree.Not().Or(o.skidValid)), func() {
		m.Set(o.skidData, item)
		if raw != nil {
			m.Set(o.skidRawReg, raw)
		}
	})
	m.If(push.And(headFree.Not()), func() { m.Set(o.skidValid, m.Lit(1, 1)) })
	// Full next cycle: both entries held and the head stays, or one held,
	// one pushed and the head stays.
	m.Set(b.adv, headFree.Or(o.skidValid.Or(o.valid.And(push)).Not()))
}

// paramsIdle is 1 unless parameter words are waiting: activations wait for
// parameters, so a host that sends a set's parameters before the beats
// that use it needs no other synchronisation.
func (b *mxuBuilder) paramsIdle() *hdl.Expr {
	if !b.cfg.Pipeline.Enabled() {
		return b.m.Lit(1, 1)
	}
	return b.pin.Valid.Not()
}

// streams describes the unit's w_in, a_in and c_out streams.
func (b *mxuBuilder) streams(cl cOutPayload) []StreamPort {
	st := []StreamPort{
		{Name: "w_in", Dir: "in", Valid: "w_in_valid", Ready: "w_in_ready", Data: "w_in_data", Width: b.wl.next, Fields: b.wl.fields},
		{Name: "a_in", Dir: "in", Valid: "a_in_valid", Ready: "a_in_ready", Data: "a_in_data", Width: b.al.next, Fields: b.al.fields},
		{Name: "c_out", Dir: "out", Valid: "c_out_valid", Ready: "c_out_ready", Data: "c_out_data", Width: cl.next, Fields: cl.fields},
	}
	if b.wdec != nil {
		st[0] = *b.wdec
	}
	return st
}

// creditOk is ready, and with stall "credit" a credit for a beat that
// makes a result (last).
func (b *mxuBuilder) creditOk(last, ready *hdl.Expr) *hdl.Expr {
	if b.credit == nil {
		return ready
	}
	return ready.And(last.Not().Or(b.credit))
}
