package blocks

import (
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/hdl"
)

// Parameter targets of the p_in stream: which stage a parameter word is for.
// Drivers read them from the manifest (PipelineProtocol), never from here.
const (
	TargetRequant    = 0
	TargetActivation = 1
	TargetPool       = 2
	TargetSoftmax    = 3
)

// PipelineProtocol is the p_in protocol of cfg's pipeline, for the
// manifest: each stage's parameter word layout, the targets, control-word
// addresses and mode encodings.
func PipelineProtocol(cfg MatrixConfig) (map[arch.Stage][]Field, *arch.Protocol) {
	p := cfg.Pipeline
	params := map[arch.Stage][]Field{arch.StageRequant: RequantParamFieldsFor(p.Rounding)}
	proto := &arch.Protocol{Targets: map[arch.Stage]int{arch.StageRequant: TargetRequant}}
	if p.Activation.Any() {
		params[arch.StageActivation] = ActivationControlFields()
		proto.Targets[arch.StageActivation] = TargetActivation
		proto.Activation = &arch.ActivationProtocol{ControlAddr: ActivationControlAddr,
			TableAddr: ActivationTableAddr, TableSize: ActivationTableSize,
			TableEntry: []Field{{Name: "value", Width: 8, Lanes: 1, Signed: true}},
			Modes: map[arch.ActivationFunc]int{
				arch.ActIdentity: int(ActivationNone), arch.ActLeaky: int(ActivationLeaky), arch.ActTable: int(ActivationTable)}}
	}
	if p.Pool {
		params[arch.StagePool] = p.pool(cfg.Cols).ParamFields()
		proto.Targets[arch.StagePool] = TargetPool
		proto.Pool = &arch.PoolProtocol{ControlAddr: PoolControlAddr,
			Modes: map[arch.PoolKind]int{arch.MaxPool: PoolModeMax, arch.AveragePool: PoolModeAverage}}
		if p.PoolL2 {
			proto.Pool.Modes[arch.L2Pool] = PoolModeL2
		}
	}
	if p.Softmax {
		sm := SoftmaxConfig{Stage: p.stage(cfg.Cols)}
		params[arch.StageSoftmax] = sm.SoftmaxControlFields()
		proto.Targets[arch.StageSoftmax] = TargetSoftmax
		proto.Softmax = &arch.SoftmaxProtocol{ControlAddr: SoftmaxControlAddr, TableAddr: 0, TableSize: SoftmaxTableSize,
			TableEntry: []Field{{Name: "value", Width: 31, Lanes: 1}}}
	}
	return params, proto
}

// pipelineStage is one built stage: its module and parameter port widths.
type pipelineStage struct {
	name    string
	target  int
	m       *hdl.Module
	p       *StagePorts
	latency int // register stages from in fire to out valid
}

// buildStages builds the enabled stages in order.
func buildStages(cfg MatrixConfig) ([]pipelineStage, error) {
	p := cfg.Pipeline
	// The last stage's out_data is y_out_data: it is zero while its valid
	// is 0 (StageConfig.ZeroIdle).
	last := func(s StageConfig, isLast bool) StageConfig {
		s.ZeroIdle = isLast
		return s
	}
	sc := p.stage(cfg.Cols)
	var out []pipelineStage
	rq, err := NewRequantizer(RequantConfig{Stage: last(sc, !p.Activation.Any() && !p.Pool && !p.Softmax), Rounding: p.Rounding})
	if err != nil {
		return nil, err
	}
	out = append(out, pipelineStage{"requant", TargetRequant, rq.Module, rq.Ports, rq.Latency})
	if p.Activation.Any() {
		act, err := NewActivation(ActivationConfig{Stage: last(sc, !p.Pool && !p.Softmax), Leaky: p.Activation.HasLeaky(), Table: p.Activation.HasTable()})
		if err != nil {
			return nil, err
		}
		out = append(out, pipelineStage{"act", TargetActivation, act.Module, act.Ports, act.Latency})
	}
	if p.Pool {
		pc := p.pool(cfg.Cols)
		pc.Stage = last(pc.Stage, !p.Softmax)
		pool, err := NewPool(pc)
		if err != nil {
			return nil, err
		}
		out = append(out, pipelineStage{"pool", TargetPool, pool.Module, pool.Ports, pool.Latency})
	}
	if p.Softmax {
		sm, err := NewSoftmax(SoftmaxConfig{Stage: last(sc, true)})
		if err != nil {
			return nil, err
		}
		out = append(out, pipelineStage{"softmax", TargetSoftmax, sm.Module, sm.Ports, sm.Latency})
	}
	return out, nil
}

// declareParams builds the stages and declares the p_in parameter stream,
// whose word is wide enough for every stage's parameter port.
func (b *mxuBuilder) declareParams() error {
	stages, err := buildStages(b.cfg)
	if err != nil {
		return err
	}
	b.stages = stages
	addrBits, dataBits := 1, 1
	for _, s := range stages {
		addrBits = max(addrBits, s.p.PrmAddr.Width())
		dataBits = max(dataBits, s.p.PrmData.Width())
	}
	b.pl.target = b.pl.add("target", 2, 1, false)
	b.pl.set = b.pl.add("set", b.cfg.Pipeline.TagBits, 1, false)
	b.pl.addr = b.pl.add("addr", addrBits, 1, false)
	b.pl.data = b.pl.add("data", dataBits, 1, false)
	b.pin = b.m.InStream("p_in", hdl.U(b.pl.next))
	// Parameter writes take one cycle and are always accepted.
	b.m.Set(b.pin.Ready, b.m.Lit(1, 1))
	return nil
}

// addPipeline wires the stages after the output register. inData is the
// requantizer's input payload ({tag, int32 lanes}); it returns the first
// stage's in_ready and declares y_out on the top.
func (b *mxuBuilder) addPipeline(inValid, inData *hdl.Expr) (inReady *hdl.Expr, streams []StreamPort, err error) {
	cfg, m, stages, pin, pl := b.cfg, b.m, b.stages, b.pin, &b.pl
	target := b.pl.target.of(pin.Data)
	set := b.pl.set.of(pin.Data)
	addr := b.pl.addr.of(pin.Data)
	data := b.pl.data.of(pin.Data)

	valid, payload := inValid, inData
	var outReady *hdl.Expr // the previous stage's out_ready, driven by this stage's in_ready
	for i, s := range stages {
		inst := m.Instance(s.name, s.m)
		inst.In(s.p.In.Valid, valid)
		inst.In(s.p.In.Data, payload)
		if i == 0 {
			inReady = inst.Out(s.p.In.Ready)
		} else {
			m.Set(outReady, inst.Out(s.p.In.Ready))
		}
		inst.In(s.p.PrmWe, pin.Valid.And(target.EqConst(int64(s.target))))
		inst.In(s.p.PrmSet, set)
		// p_in's address and data are as wide as the widest stage's: each
		// stage takes the low bits its own port has.
		inst.In(s.p.PrmAddr, addr.Trunc(s.p.PrmAddr.Width()))
		inst.In(s.p.PrmData, data.Trunc(s.p.PrmData.Width()))
		valid, payload = inst.Out(s.p.Out.Valid), inst.Out(s.p.Out.Data)
		outReady = m.Wire(s.name+"_out_ready", hdl.U(1))
		inst.In(s.p.Out.Ready, outReady)
	}
	var yl layout
	yl.add("values", 8, cfg.Cols, true)
	yl.add("tag", cfg.Pipeline.TagBits, 1, false)
	yout := m.OutStream("y_out", hdl.U(yl.next))
	m.Set(yout.Valid, valid)
	m.Set(yout.Data, payload) // the last stage's out_data is zero while valid is 0
	m.Set(outReady, yout.Ready)
	streams = []StreamPort{
		{Name: "p_in", Dir: "in", Valid: "p_in_valid", Ready: "p_in_ready", Data: "p_in_data", Width: pl.next, Fields: pl.fields},
		{Name: "y_out", Dir: "out", Valid: "y_out_valid", Ready: "y_out_ready", Data: "y_out_data", Width: yl.next, Fields: yl.fields},
	}
	return inReady, streams, nil
}
