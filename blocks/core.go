package blocks

import (
	"errors"
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/hdl"
)

// CoreBeatBytes is the bytes carried by one beat of the core's host data
// streams (d_in, o_out), and the number of byte banks of its memories.
const CoreBeatBytes = 8

// CoreConfig configures the core: the resolved configuration it is
// generated from, the matrix unit inside it and the memory sizes.
type CoreConfig struct {
	Arch        arch.Config
	Matrix      MatrixConfig
	UBBytes     int
	WeightBytes int
	// Mutant breaks the controller on purpose, for tests that show the
	// regression catches it; CoreCorrect in every generated core.
	Mutant CoreMutant
}

// CoreMutant is a deliberate controller bug.
type CoreMutant uint8

const (
	CoreCorrect CoreMutant = iota
	// CoreMutantTileLanes: the activation streamer's tile window is one
	// lane short (an off-by-one in the window of taps a beat carries).
	CoreMutantTileLanes
	// CoreMutantSkipWeightStall: a tile's first beat does not wait for its
	// weights (the array runs on the previous tile's).
	CoreMutantSkipWeightStall
	// CoreMutantWindowEdge: the window generator takes the column just past
	// the map's right edge for inside (an off-by-one in the window).
	CoreMutantWindowEdge
	// CoreMutantFuseEarly: a fused activate's pooling control and output
	// address go out without waiting for the results before them to land
	// (a skipped stall).
	CoreMutantFuseEarly
)

// Validate checks what the ISA (core.Config) and the banked memories need.
func (c CoreConfig) Validate() error {
	if err := (core.Config{Arch: c.Arch, UBBytes: c.UBBytes, WeightBytes: c.WeightBytes}).Validate(); err != nil {
		return err
	}
	var errs []error
	if c.Matrix.Dataflow.IsOS() {
		errs = append(errs, errors.New("core: needs the weight-stationary array (dataflow ws)"))
	}
	if c.Matrix.Rows > CoreBeatBytes || c.Matrix.Cols > CoreBeatBytes {
		errs = append(errs, fmt.Errorf("core: rows and cols at most %d (a unified buffer read or write is %d bytes), got %dx%d",
			CoreBeatBytes, CoreBeatBytes, c.Matrix.Rows, c.Matrix.Cols))
	}
	if p := c.Arch.ParamSets; p < 2 || p&(p-1) != 0 {
		errs = append(errs, fmt.Errorf("core: param_sets %d must be a power of two, at least 2", p))
	}
	if c.Arch.Rounding.IsFloat() {
		errs = append(errs, errors.New("core: the rounding must be double or single (the ISA's parameter block has no float scales)"))
	}
	for _, m := range []struct {
		name string
		n    int
	}{{"ub_bytes", c.UBBytes}, {"weight_bytes", c.WeightBytes}} {
		if m.n%CoreBeatBytes != 0 || m.n < 2*CoreBeatBytes {
			errs = append(errs, fmt.Errorf("core: %s %d must be a multiple of %d, at least %d (the memories are %d byte banks)",
				m.name, m.n, CoreBeatBytes, 2*CoreBeatBytes, CoreBeatBytes))
		}
	}
	return errors.Join(errs...)
}

// Core is the generated core top: instruction, data and result streams, an
// AXI4-Lite register file, the unified buffer and the weight memory, and
// the controller that runs programs (core.Formats) on them.
type Core struct {
	*hdl.Module
	Streams   []arch.Layout
	Registers []arch.Register
	// DrainCycles is how long ACTIVATE waits after its last read-out beat
	// for the pipeline's last result (the matrix unit's latencies + 4).
	DrainCycles int
}

// Controller states.
const (
	csClear    = iota // writing every memory word's written bit to 0 after reset
	csIdle            // waiting for start
	csFetch           // waiting for an instruction word
	csDecode          // checking the instruction
	csRead            // host stream → UB or weight memory, a beat a cycle
	csWHRead          // write_host: read a beat's UB bytes
	csWHGet           // write_host: check and pack them
	csWHSend          // write_host: send a beat
	csDone            // after HALT: waiting for start
	csError           // stopped on an error: waiting for soft reset
	csLoad            // load_params: the block → p_in words
	csActDiv          // activate: a division step (frames, pooled sizes)
	csActChk          // activate: checks after a division
	csActPool         // activate: the pooling control word goes out
	csAct             // activate: accumulator rows out through the pipeline
	csClearAcc        // after reset: every accumulator row set to zero
	csCvChk           // convolve: checks after a division
	csErrWait         // a fault, reported once the compute engine's earlier instruction has finished
	csStates
)

// Register addresses of the AXI4-Lite register file (byte addresses).
const (
	RegControl = 0x00
	RegStatus  = 0x04
	RegPC      = 0x08
	RegCycles  = 0x10 // 64-bit counters: low word, then high word at +4
	RegBusy    = 0x18
	RegWStall  = 0x20
	RegMACs    = 0x28
)

// Bits of the control and status registers.
const (
	CtrlStart      = 1 << 0
	CtrlSoftReset  = 1 << 1
	StatusBusy     = 1 << 0
	StatusDone     = 1 << 1
	StatusError    = 1 << 2
	StatusIdle     = 1 << 3
	StatusCodeLSB  = 8
	coreRegAddrBit = 8
)

// CoreRegisters is the register map, as the manifest and the C header give it.
func CoreRegisters() []arch.Register {
	f := func(name string, lsb, width int) arch.Field {
		return arch.Field{Name: name, LSB: lsb, Width: width, Lanes: 1}
	}
	return []arch.Register{
		{Name: "control", Addr: RegControl, Access: "w", Doc: "write start (a program from pc 0, when idle or done) or soft_reset (back to the reset state, the matrix unit included: memories marked unwritten, accumulators zeroed, counters cleared)",
			Fields: []arch.Field{f("start", 0, 1), f("soft_reset", 1, 1)}},
		{Name: "status", Addr: RegStatus, Access: "r", Doc: "busy: a program runs; done: it halted; error: it stopped on error code; idle: ready for start",
			Fields: []arch.Field{f("busy", 0, 1), f("done", 1, 1), f("error", 2, 1), f("idle", 3, 1), f("code", StatusCodeLSB, 8)}},
		{Name: "pc", Addr: RegPC, Access: "r", Doc: "index of the instruction running, or the one that halted or failed"},
		{Name: "cycles_lo", Addr: RegCycles, Access: "r", Doc: "cycles a program ran (start to halt or error), low word"},
		{Name: "cycles_hi", Addr: RegCycles + 4, Access: "r", Doc: "high word"},
		{Name: "busy_lo", Addr: RegBusy, Access: "r", Doc: "cycles the array computed, low word"},
		{Name: "busy_hi", Addr: RegBusy + 4, Access: "r", Doc: "high word"},
		{Name: "wstall_lo", Addr: RegWStall, Access: "r", Doc: "cycles the array waited for weights, low word"},
		{Name: "wstall_hi", Addr: RegWStall + 4, Access: "r", Doc: "high word"},
		{Name: "macs_lo", Addr: RegMACs, Access: "r", Doc: "useful multiply-accumulates, low word"},
		{Name: "macs_hi", Addr: RegMACs + 4, Access: "r", Doc: "high word"},
	}
}

// coreStreams are the payload layouts of the core's streams.
func coreStreams() []arch.Layout {
	lay := func(name, dir string, fields []arch.Field) arch.Layout {
		return arch.Layout{Name: name, Dir: dir, Valid: name + "_valid", Ready: name + "_ready", Data: name + "_data",
			Width: arch.Bits(fields), Fields: fields}
	}
	bytes := []arch.Field{{Name: "data", LSB: 0, Width: 8, Lanes: CoreBeatBytes, Signed: true},
		{Name: "keep", LSB: 8 * CoreBeatBytes, Width: 1, Lanes: CoreBeatBytes},
		{Name: "last", LSB: 9 * CoreBeatBytes, Width: 1, Lanes: 1}}
	return []arch.Layout{
		lay(arch.StreamI, "in", []arch.Field{{Name: "inst", Width: core.WordBits, Lanes: 1}, {Name: "last", LSB: core.WordBits, Width: 1, Lanes: 1}}),
		lay(arch.StreamD, "in", bytes),
		lay(arch.StreamO, "out", bytes),
	}
}

// isaField returns the encoding of op's field name.
func isaField(op core.Opcode, name string) core.Field {
	f, ok := core.FormatOf(op)
	if ok {
		for _, fd := range f.Fields {
			if fd.Name == name {
				return fd
			}
		}
	}
	panic(fmt.Sprintf("blocks: opcode %d has no field %q", op, name))
}

// reservedBits is 1 when ir has a bit set outside every field of op's
// format (core.Decode's illegal-instruction rule).
func reservedBits(m *hdl.Module, ir *hdl.Expr, op core.Opcode) *hdl.Expr {
	used := make([]bool, core.WordBits)
	for b := 0; b < core.OpcodeBits; b++ {
		used[b] = true
	}
	f, _ := core.FormatOf(op)
	for _, fd := range f.Fields {
		for b := fd.LSB; b < fd.LSB+fd.Width; b++ {
			used[b] = true
		}
	}
	any := m.Lit(0, 1)
	for lo := 0; lo < core.WordBits; {
		if used[lo] {
			lo++
			continue
		}
		hi := lo
		for hi+1 < core.WordBits && !used[hi+1] {
			hi++
		}
		any = any.Or(ir.Slice(hi, lo).AnyBits())
		lo = hi + 1
	}
	return any
}

// packFields builds a payload of the layout from named expressions (each
// Width*Lanes bits); fields not named and gaps are zero.
func packFields(m *hdl.Module, fields []arch.Field, width int, vals map[string]*hdl.Expr) *hdl.Expr {
	type part struct {
		lsb int
		e   *hdl.Expr
	}
	var parts []part
	for _, f := range fields {
		w := f.Width * f.Lanes
		e, ok := vals[f.Name]
		if !ok {
			e = m.Lit(0, w)
		}
		if e.Width() != w {
			panic(fmt.Sprintf("blocks: field %s is %d bits, got %d", f.Name, w, e.Width()))
		}
		parts = append(parts, part{f.LSB, e.AsUnsigned()})
	}
	for i := range parts { // by LSB (layouts are short)
		for j := i + 1; j < len(parts); j++ {
			if parts[j].lsb < parts[i].lsb {
				parts[i], parts[j] = parts[j], parts[i]
			}
		}
	}
	var cat []*hdl.Expr
	at := 0
	for _, p := range parts {
		if p.lsb > at {
			cat = append([]*hdl.Expr{m.Lit(0, p.lsb-at)}, cat...)
		}
		cat = append([]*hdl.Expr{p.e}, cat...)
		at = p.lsb + p.e.Width()
	}
	if width > at {
		cat = append([]*hdl.Expr{m.Lit(0, width-at)}, cat...)
	}
	return hdl.Cat(cat...)
}

func layoutOf(ls []arch.Layout, name string) arch.Layout {
	for _, l := range ls {
		if l.Name == name {
			return l
		}
	}
	panic("blocks: no stream " + name)
}

func fieldOf(fs []arch.Field, name string) arch.Field {
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	panic("blocks: no field " + name)
}

// NewCore builds the core top.
func NewCore(cfg CoreConfig) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mu, err := NewMatrixUnit(cfg.Matrix)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	R, C := cfg.Matrix.Rows, cfg.Matrix.Cols
	pc := cfg.Matrix.Pipeline
	m := hdl.NewModule("tpu_core")
	m.Comment("tpugen core: %d-byte unified buffer, %d-byte weight memory, %dx%d matrix unit; ISA in the manifest.",
		cfg.UBBytes, cfg.WeightBytes, R, C)
	c := &Core{Module: m, Streams: coreStreams(), Registers: CoreRegisters()}
	iIn := m.InStream(arch.StreamI, hdl.U(layoutOf(c.Streams, arch.StreamI).Width))
	dl := layoutOf(c.Streams, arch.StreamD)
	dIn := m.InStream(arch.StreamD, hdl.U(dl.Width))
	oOut := m.OutStream(arch.StreamO, hdl.U(layoutOf(c.Streams, arch.StreamO).Width))

	// AXI4-Lite slave, standard signal names so FPGA tools infer the interface.
	awaddr := m.Input("s_axi_awaddr", hdl.U(coreRegAddrBit))
	awvalid := m.Input("s_axi_awvalid", hdl.U(1))
	awready := m.Output("s_axi_awready", hdl.U(1))
	wdata := m.Input("s_axi_wdata", hdl.U(32))
	wstrb := m.Input("s_axi_wstrb", hdl.U(4))
	wvalid := m.Input("s_axi_wvalid", hdl.U(1))
	wready := m.Output("s_axi_wready", hdl.U(1))
	bresp := m.Output("s_axi_bresp", hdl.U(2))
	bvalid := m.RegOutput("s_axi_bvalid", hdl.U(1), hdl.ResetTo(0))
	bready := m.Input("s_axi_bready", hdl.U(1))
	araddr := m.Input("s_axi_araddr", hdl.U(coreRegAddrBit))
	arvalid := m.Input("s_axi_arvalid", hdl.U(1))
	arready := m.Output("s_axi_arready", hdl.U(1))
	rdata := m.RegOutput("s_axi_rdata", hdl.U(32), hdl.ResetTo(0))
	rresp := m.Output("s_axi_rresp", hdl.U(2))
	rvalid := m.RegOutput("s_axi_rvalid", hdl.U(1), hdl.ResetTo(0))
	rready := m.Input("s_axi_rready", hdl.U(1))

	// The matrix unit and its pipeline.
	port := func(name string) *hdl.Expr {
		for _, p := range mu.Ports() {
			if p.Name() == name {
				return p.Expr()
			}
		}
		panic("blocks: tpu_mxu has no port " + name)
	}
	mx := m.Instance("mxu", mu.Module)
	// A soft reset reaches the matrix unit one cycle after the control
	// write, from a flop: the reset tree never sees the AXI write data.
	softRst := m.Reg("soft_rst", hdl.U(1), hdl.ResetTo(0))
	mxRst := m.Wire("mx_rst", hdl.U(1))
	m.Set(mxRst, m.ResetSignal().Expr().Or(softRst))
	mx.Reset(mxRst)
	wLay, aLay := layoutOf(mu.Streams, arch.StreamW), layoutOf(mu.Streams, arch.StreamA)
	pLay, yLay := layoutOf(mu.Streams, arch.StreamP), layoutOf(mu.Streams, arch.StreamY)
	wValid, aValid := m.Wire("mx_w_valid", hdl.U(1)), m.Wire("mx_a_valid", hdl.U(1))
	wData, aData := m.Wire("mx_w_data", hdl.U(wLay.Width)), m.Wire("mx_a_data", hdl.U(aLay.Width))
	pValid, pData := m.Reg("mx_p_valid", hdl.U(1), hdl.ResetTo(0)), m.Reg("mx_p_data", hdl.U(pLay.Width))
	mx.In(port("w_in_valid"), wValid)
	mx.In(port("w_in_data"), wData)
	mx.In(port("a_in_valid"), aValid)
	mx.In(port("a_in_data"), aData)
	mx.In(port("p_in_valid"), pValid)
	mx.In(port("p_in_data"), pData)
	mx.In(port("c_out_ready"), m.Lit(1, 1))
	mx.In(port("y_out_ready"), m.Lit(1, 1))
	wReady, aReady, pReady := mx.Out(port("w_in_ready")), mx.Out(port("a_in_ready")), mx.Out(port("p_in_ready"))
	yValid, yData := mx.Out(port("y_out_valid")), mx.Out(port("y_out_data"))
	m.Set(wValid, m.Lit(0, 1))
	m.Set(aValid, m.Lit(0, 1))
	m.Set(wData, m.Lit(0, wLay.Width))
	m.Set(aData, m.Lit(0, aLay.Width))
	m.If(pValid.And(pReady), func() { m.Set(pValid, m.Lit(0, 1)) })
	params, proto := PipelineProtocol(cfg.Matrix)
	pDataF := fieldOf(pLay.Fields, "data")
	sendP := func(stage arch.Stage, set, addr *hdl.Expr, vals map[string]*hdl.Expr) {
		fs := params[stage]
		d := packFields(m, fs, pDataF.Width, vals)
		m.Set(pValid, m.Lit(1, 1))
		m.Set(pData, packFields(m, pLay.Fields, pLay.Width, map[string]*hdl.Expr{
			"target": m.Const(int64(proto.Targets[stage]), hdl.U(fieldOf(pLay.Fields, "target").Width)),
			"set":    set.Trunc(fieldOf(pLay.Fields, "set").Width), "addr": addr, "data": d}))
	}
	pAddrW := fieldOf(pLay.Fields, "addr").Width

	sb := hdl.BitsFor(csStates)
	st := func(s int) *hdl.Expr { return m.Const(int64(s), hdl.U(sb)) }
	state := m.Reg("state", hdl.U(sb), hdl.ResetTo(csClear))
	maxWords := max(cfg.UBBytes, cfg.WeightBytes) / CoreBeatBytes
	cw := hdl.BitsFor(maxWords)
	clr := m.Reg("clr", hdl.U(cw), hdl.ResetTo(0))
	clrA := m.Reg("clr_acc", hdl.U(hdl.BitsFor(cfg.Arch.AccDepth+R+1)))
	pcReg := m.Reg("pc", hdl.U(32), hdl.ResetTo(0))
	ir := m.Reg("ir", hdl.U(core.WordBits))
	irLast := m.Reg("ir_last", hdl.U(1), hdl.ResetTo(0))
	// The compute engine runs a MATMUL or CONVOLVE behind the controller,
	// which goes on with host transfers and parameter loads that touch
	// none of its operands. It reads its instruction from c_ir (ir until it
	// starts), its UB input is [c_ub_lo, c_ub_hi), its weights [c_w_lo,
	// c_w_hi); a fault it finds is reported with its pc.
	cOn := m.Reg("c_on", hdl.U(1), hdl.ResetTo(0))
	cConv := m.Reg("c_conv", hdl.U(1))
	cirReg := m.Reg("c_ir", hdl.U(core.WordBits))
	cPC := m.Reg("c_pc", hdl.U(32))
	cUBLo, cUBHi := m.Reg("c_ub_lo", hdl.U(core.AddrBits+1)), m.Reg("c_ub_hi", hdl.U(core.AddrBits+1))
	cWLo, cWHi := m.Reg("c_w_lo", hdl.U(core.AddrBits+1)), m.Reg("c_w_hi", hdl.U(core.AddrBits+1))
	cir := m.Wire("c_ir_now", hdl.U(core.WordBits))
	m.Set(cir, hdl.Mux(cOn, cirReg, ir))
	cMM, cCV := m.Wire("c_mm", hdl.U(1)), m.Wire("c_cv", hdl.U(1))
	m.Set(cMM, cOn.And(cConv.Not()))
	m.Set(cCV, cOn.And(cConv))
	errCode := m.Reg("err_code", hdl.U(8), hdl.ResetTo(0))
	addr := m.Reg("addr", hdl.U(core.AddrBits))
	rem := m.Reg("rem", hdl.U(core.AddrBits))
	toWeights := m.Reg("to_weights", hdl.U(1))
	one := func(w int) *hdl.Expr { return m.Lit(1, w) }
	zero := func(w int) *hdl.Expr { return m.Lit(0, w) }
	inc := func(e *hdl.Expr) *hdl.Expr { return e.Add(one(1)).Trunc(e.Width()) }
	dec := func(e *hdl.Expr) *hdl.Expr { return e.Sub(one(1)).Trunc(e.Width()) }
	u := func(e *hdl.Expr, w int) *hdl.Expr { // zero-extend or keep to w bits
		if e.Width() == w {
			return e
		}
		return hdl.ZExt(e, w)
	}

	ub := newByteMemory(m, "ub", cfg.UBBytes, clr, CoreBeatBytes, R, core.WindowRuns) // write_host reads a beat on port 0
	wm := newByteMemory(m, "wm", cfg.WeightBytes, clr, R, R, 1)

	// The host data stream: one beat held, its bytes consumed in order
	// (keep marks the valid bytes, from lane 0); last ends the host's data.
	running := m.Wire("running", hdl.U(1))
	dHeld := m.Reg("d_held", hdl.U(1), hdl.ResetTo(0))
	dData := m.Reg("d_data", hdl.U(8*CoreBeatBytes))
	dKeep := m.Reg("d_keep", hdl.U(CoreBeatBytes))
	dIdx := m.Reg("d_idx", hdl.U(4))
	lastSeen := m.Reg("d_last_seen", hdl.U(1), hdl.ResetTo(0))
	idxOK := dIdx.Lt(m.Const(CoreBeatBytes, hdl.U(4)))
	keepBit := dKeep.ShrBy(dIdx.Trunc(3)).Bit(0)
	dAvail := m.Wire("d_avail", hdl.U(1))
	m.Set(dAvail, dHeld.And(idxOK).And(keepBit))
	dTake := m.Wire("d_take", hdl.U(1))
	m.Set(dTake, zero(1))
	// A transfer takes every byte of the beat it can in one cycle: the
	// beat's valid bytes (keep is contiguous from lane 0) from d_idx on.
	dTakeN := m.Wire("d_take_n", hdl.U(4))
	m.Set(dTakeN, zero(4))
	nValid := zero(4)
	for i := 0; i < CoreBeatBytes; i++ {
		nValid = nValid.Add(u(dKeep.Bit(i), 4)).Trunc(4)
	}
	dLeft := m.Wire("d_left", hdl.U(4))
	m.Set(dLeft, hdl.Mux(dHeld.And(nValid.Gt(dIdx)), nValid.Sub(dIdx).Trunc(4), zero(4)))
	dShift := m.Wire("d_shift", hdl.U(8*CoreBeatBytes))
	m.Set(dShift, dData.ShrBy(hdl.Cat(dIdx.Trunc(3), zero(3))))
	dUnder := m.Wire("d_underflow", hdl.U(1))
	m.Set(dUnder, dHeld.Not().And(lastSeen))
	// Data flows only while a program runs, so last always ends the
	// running program's data. The next beat is taken in the cycle the
	// held one's last bytes are, so a long transfer moves a beat a cycle.
	dDone := m.Wire("d_done", hdl.U(1)) // the held beat has no byte left after this cycle
	m.Set(dDone, dHeld.Not().Or(dTake.And(dLeft.EqConst(1))).Or(dTake.Not().And(dTakeN.Eq(dLeft))))
	m.Set(dIn.Ready, dDone.And(lastSeen.Not()).And(running))
	m.If(dIn.Fire(), func() {
		m.Set(dHeld, one(1))
		m.Set(dData, dIn.Data.Slice(8*CoreBeatBytes-1, 0))
		m.Set(dKeep, dIn.Data.Slice(fieldOf(dl.Fields, "keep").LSB+CoreBeatBytes-1, fieldOf(dl.Fields, "keep").LSB))
		m.Set(dIdx, zero(4))
		m.Set(lastSeen, dIn.Data.Bit(fieldOf(dl.Fields, "last").LSB))
	}).ElseIf(dTake, func() {
		m.Set(dIdx, inc(dIdx))
	}).ElseIf(dTakeN.Ne(zero(4)), func() {
		m.Set(dIdx, dIdx.Add(dTakeN).Trunc(4))
	}).ElseIf(dHeld.And(dAvail.Not()), func() {
		m.Set(dHeld, zero(1))
	})

	// write_host's beat under construction.
	ob := make([]*hdl.Expr, CoreBeatBytes)
	for i := range ob {
		ob[i] = m.Reg(fmt.Sprintf("ob_%d", i), hdl.U(8))
	}
	oCount := m.Reg("o_count", hdl.U(4), hdl.ResetTo(0))
	errPending := m.Reg("err_pending", hdl.U(1), hdl.ResetTo(0))
	keep := make([]*hdl.Expr, CoreBeatBytes)
	for i := range keep {
		keep[CoreBeatBytes-1-i] = oCount.Gt(m.Const(int64(i), hdl.U(4)))
	}
	obCat := make([]*hdl.Expr, CoreBeatBytes)
	for i := range ob {
		// Bytes past keep are zero, never stale or unknown.
		obCat[CoreBeatBytes-1-i] = hdl.Mux(keep[CoreBeatBytes-1-i], ob[i], zero(8))
	}
	m.Set(oOut.Valid, state.Eq(st(csWHSend)))
	m.Set(oOut.Data, gated(m, oOut.Valid, hdl.Cat(rem.EqConst(0).Or(errPending), hdl.Cat(keep...), hdl.Cat(obCat...))))

	// fail stops on a fault of the running instruction, after the compute
	// engine's (earlier) one has finished; failC on a fault of the compute
	// engine's instruction.
	fail := func(code core.ErrorCode) {
		m.Set(errCode, m.Const(int64(code), hdl.U(8)))
		m.Set(state, hdl.Mux(cOn, st(csErrWait), st(csError)))
	}
	failC := func(code core.ErrorCode) {
		m.Set(errCode, m.Const(int64(code), hdl.U(8)))
		m.Set(state, st(csError))
		m.Set(pcReg, cPC)
		m.Set(cOn, zero(1))
	}
	next := func() {
		m.Set(pcReg, inc(pcReg))
		m.Set(state, st(csFetch))
	}
	field := func(op core.Opcode, name string) *hdl.Expr {
		f := isaField(op, name)
		if op == core.OpMatMul || op == core.OpConvolve {
			return cir.Slice(f.LSB+f.Width-1, f.LSB)
		}
		return ir.Slice(f.LSB+f.Width-1, f.LSB)
	}
	// past: a + n > size, every operand unsigned.
	past := func(a, n *hdl.Expr, size int) *hdl.Expr {
		s := a.Add(n)
		return s.Gt(m.Const(int64(size), s.Shape()))
	}
	konst := func(v int, e *hdl.Expr) *hdl.Expr { return m.Const(int64(v), e.Shape()) }

	// Parameter sets: loaded bits and each set's pooling control.
	loaded := make([]*hdl.Expr, cfg.Arch.ParamSets)
	for i := range loaded {
		loaded[i] = m.Reg(fmt.Sprintf("set_loaded_%d", i), hdl.U(1), hdl.ResetTo(0))
	}
	type poolCtl struct{ en, kind, kh, kw, sh, sw *hdl.Expr }
	pwBits := hdl.BitsFor(cfg.Arch.PoolWindow + 1)
	var pools []poolCtl
	if pc.Pool {
		for i := 0; i < cfg.Arch.ParamSets; i++ {
			n := func(f string, w int) *hdl.Expr { return m.Reg(fmt.Sprintf("set%d_pool_%s", i, f), hdl.U(w)) }
			pools = append(pools, poolCtl{n("en", 1), n("kind", 1), n("kh", pwBits), n("kw", pwBits), n("sh", pwBits), n("sw", pwBits)})
		}
	}
	// sel picks a per-set register by the set number.
	sel := func(name string, set *hdl.Expr, regs []*hdl.Expr) *hdl.Expr {
		w := m.Wire(name, regs[0].Shape())
		m.Set(w, regs[0])
		m.Switch(set, func(sw *hdl.SwitchBuilder) {
			for i := 1; i < len(regs); i++ {
				sw.Case([]int64{int64(i)}, func() { m.Set(w, regs[i]) })
			}
		})
		return w
	}

	// LOAD_PARAMS: the block streams in as little-endian words; each
	// lane's six words become one requantizer word, the control words an
	// activation and a pooling control, the table 256 entries.
	lpPhase := m.Reg("lp_phase", hdl.U(2)) // lane words, control words, table, end of a block without its table
	lpShort := m.Reg("lp_short", hdl.U(1)) // the block leaves out the table
	lpLane := m.Reg("lp_lane", hdl.U(8))
	lpF := m.Reg("lp_f", hdl.U(3))
	lpC := m.Reg("lp_c", hdl.U(4))
	lpB := m.Reg("lp_b", hdl.U(2))
	lpWord := m.Reg("lp_word", hdl.U(32))
	lpX := m.Reg("lp_x", hdl.U(8))
	lpBad := m.Reg("lp_bad", hdl.U(1))
	// A cycle takes the bytes of the word being assembled that the held
	// beat has (all of them unless the word crosses into the next beat):
	// lp_take of the 4 - lp_b still needed, shifted in from the top.
	lpNeed := m.Wire("lp_need", hdl.U(4))
	m.Set(lpNeed, m.Const(4, hdl.U(4)).Sub(u(lpB, 4)).Trunc(4))
	lpTake := m.Wire("lp_take", hdl.U(4))
	m.Set(lpTake, hdl.Mux(dLeft.Lt(lpNeed), dLeft, lpNeed))
	lpFull := m.Wire("lp_full", hdl.U(1)) // the word is complete this cycle
	m.Set(lpFull, lpTake.Eq(lpNeed))
	w := m.Wire("lp_w", hdl.U(32)) // the word with this cycle's bytes in
	m.Set(w, dShift.Slice(31, 0))
	for t := 1; t <= 3; t++ {
		m.If(lpTake.EqConst(int64(t)), func() { m.Set(w, hdl.Cat(dShift.Slice(8*t-1, 0), lpWord.Slice(31, 8*t))) })
	}
	t32 := func(n string) *hdl.Expr { return m.Reg("lp_"+n, hdl.U(32)) }
	tBias, tMult, tShift, tOZP, tMin := t32("bias"), t32("mult"), t32("shift"), t32("ozp"), t32("min")
	// The activation control's words wait for the last one (kept only
	// when there is an activation unit to send them to).
	var cMode, cInZP, cOutZP, cMID, cSID, cMAlpha *hdl.Expr
	if pc.Activation.Any() {
		cMode, cInZP, cOutZP, cMID, cSID, cMAlpha = t32("mode"), t32("inzp"), t32("outzp"), t32("mid"), t32("sid"), t32("malpha")
	}
	keepW := func(r *hdl.Expr) {
		if r != nil {
			m.Set(r, w)
		}
	}
	cPEn := m.Reg("lp_pen", hdl.U(1))
	sv := func(e *hdl.Expr) *hdl.Expr { return e.AsSigned() }
	outside := func(w *hdl.Expr, lo, hi int64) *hdl.Expr {
		return sv(w).Lt(m.Const(lo, hdl.S(32))).Or(sv(w).Gt(m.Const(hi, hdl.S(32))))
	}

	// MATMUL: a weight loader and an activation streamer run together;
	// the matrix unit keeps them in step (a tile's first beat waits for
	// its weights, the next tile's weights load while the current streams).
	mmM, mmK := field(core.OpMatMul, "m"), field(core.OpMatMul, "k")
	mmN, mmUB := field(core.OpMatMul, "n"), field(core.OpMatMul, "ub")
	mmW, mmAcc := field(core.OpMatMul, "waddr"), field(core.OpMatMul, "acc")
	mmAccum := field(core.OpMatMul, "accumulate")
	mmMACs := m.Reg("mm_macs", hdl.U(48))
	// The reduction length and lanes of the running MATMUL or CONVOLVE.
	opK := m.Reg("op_k", hdl.U(core.AddrBits+1))
	opN := m.Reg("op_n", hdl.U(core.LaneBits))
	rb := hdl.BitsFor(R)
	wlOn := m.Reg("wl_on", hdl.U(1), hdl.ResetTo(0))
	wlSend := m.Reg("wl_send", hdl.U(1), hdl.ResetTo(0))
	wlK := m.Reg("wl_k", hdl.U(core.AddrBits+1))
	wlRow := m.Reg("wl_row", hdl.U(rb))
	wlLane := m.Reg("wl_lane", hdl.U(8))
	wlAddr := m.Reg("wl_addr", hdl.U(core.AddrBits+1))
	wlRowAddr := m.Reg("wl_rowaddr", hdl.U(core.AddrBits+1))
	wlPend := m.Reg("wl_pend", hdl.U(1), hdl.ResetTo(0))
	wlPendLane := m.Reg("wl_pend_lane", hdl.U(8))
	wlPendZero := m.Reg("wl_pend_zero", hdl.U(1))
	wt := make([][]*hdl.Expr, R) // the tile being offered: beat i, lane o
	for i := range wt {
		wt[i] = make([]*hdl.Expr, C)
		for o := range wt[i] {
			wt[i][o] = m.Reg(fmt.Sprintf("wl_t_%d_%d", i, o), hdl.U(8))
		}
	}
	// startWeights starts the weight loader on the tile rows at addr (a
	// matmul, a convolve, and each lane's pass of a depthwise convolve).
	startWeights := func(addr *hdl.Expr) {
		m.Set(wlOn, one(1))
		m.Set(wlSend, zero(1))
		m.Set(wlK, zero(wlK.Width()))
		m.Set(wlRow, zero(rb))
		m.Set(wlLane, zero(8))
		m.Set(wlPend, zero(1))
		m.Set(wlAddr, u(addr, core.AddrBits+1))
		m.Set(wlRowAddr, u(addr, core.AddrBits+1))
	}
	// launch hands the decoded MATMUL or CONVOLVE to the compute engine
	// (its UB input [ub, ub+ubN), its weights [w, w+wN)) and goes on.
	launch := func(conv, ub, ubN, w, wN *hdl.Expr) {
		a := core.AddrBits + 1
		m.Set(cOn, one(1))
		m.Set(cConv, conv)
		m.Set(cirReg, ir)
		m.Set(cPC, pcReg)
		m.Set(cUBLo, u(ub, a))
		m.Set(cUBHi, u(ub, 64).Add(u(ubN, 64)).Trunc(64).Trunc(a))
		m.Set(cWLo, u(w, a))
		m.Set(cWHi, u(w, 64).Add(u(wN, 64)).Trunc(64).Trunc(a))
		next()
	}
	asOn := m.Reg("as_on", hdl.U(1), hdl.ResetTo(0))
	asPend := m.Reg("as_pend", hdl.U(1), hdl.ResetTo(0))
	asR := m.Reg("as_r", hdl.U(core.DimBits))
	asK0 := m.Reg("as_k0", hdl.U(core.DimBits+1))
	asRowAddr := m.Reg("as_rowaddr", hdl.U(core.AddrBits+1))
	asKV := m.Reg("as_kv", hdl.U(core.DimBits+1)) // valid lanes of the current tile (K - k0)
	asPendKV := m.Reg("as_pend_kv", hdl.U(core.DimBits+1))
	asPendFirst := m.Reg("as_pend_first", hdl.U(1))
	asPendAcc := m.Reg("as_pend_acc", hdl.U(1))
	asPendRow := m.Reg("as_pend_row", hdl.U(core.AccRowBits+1))
	asPendLast := m.Reg("as_pend_last", hdl.U(1)) // the beat is of the last tile
	var asPendT0 *hdl.Expr
	if cfg.Mutant == CoreMutantSkipWeightStall {
		asPendT0 = m.Reg("as_pend_t0", hdl.U(1))
	}

	// ACTIVATE.
	acM, acN, acSet := field(core.OpActivate, "m"), field(core.OpActivate, "n"), field(core.OpActivate, "set")
	acAcc, acOut, acPitch := field(core.OpActivate, "acc"), field(core.OpActivate, "out"), field(core.OpActivate, "pitch")
	acFH, acFW := field(core.OpActivate, "fh"), field(core.OpActivate, "fw")
	acPh := m.Reg("ac_ph", hdl.U(2))
	divN := m.Reg("div_n", hdl.U(16))
	divD := m.Reg("div_d", hdl.U(24))
	divQ := m.Reg("div_q", hdl.U(16))
	divR := m.Reg("div_r", hdl.U(25))
	divI := m.Reg("div_i", hdl.U(4))
	var acFrames *hdl.Expr
	if pc.Pool {
		acFrames = m.Reg("ac_frames", hdl.U(16))
	}
	var acOH *hdl.Expr
	if pc.Pool {
		acOH = m.Reg("ac_oh", hdl.U(16))
	}
	acR := m.Reg("ac_r", hdl.U(core.DimBits))
	acWA := m.Reg("ac_wa", hdl.U(core.AddrBits))
	// After its last read-out beat an activate's results keep landing in
	// the UB for drain cycles while the next instructions run, unless one
	// of them could see them unfinished (hold_for_drain in decode).
	drain := m.Reg("ac_drain", hdl.U(8))
	dnOn := m.Reg("dn_on", hdl.U(1), hdl.ResetTo(0))
	dnN := m.Reg("dn_n", hdl.U(core.LaneBits))
	dnPitch := m.Reg("dn_pitch", hdl.U(16))
	dnLo := m.Reg("dn_lo", hdl.U(core.AddrBits+1)) // the UB bytes the results land in: [lo, hi)
	dnHi := m.Reg("dn_hi", hdl.U(core.AddrBits+1))
	acPool := m.Wire("ac_pool", hdl.U(1))
	setIdx := func(e *hdl.Expr) *hdl.Expr { return e.Trunc(max(1, hdl.Clog2(cfg.Arch.ParamSets))) }
	// poolOf selects a set's pooling control.
	poolOf := func(prefix string, set *hdl.Expr) poolCtl {
		pick := func(name string, f func(p poolCtl) *hdl.Expr) *hdl.Expr {
			var regs []*hdl.Expr
			for _, p := range pools {
				regs = append(regs, f(p))
			}
			return sel(prefix+name, set, regs)
		}
		return poolCtl{pick("en", func(p poolCtl) *hdl.Expr { return p.en }), pick("kind", func(p poolCtl) *hdl.Expr { return p.kind }),
			pick("kh", func(p poolCtl) *hdl.Expr { return p.kh }), pick("kw", func(p poolCtl) *hdl.Expr { return p.kw }),
			pick("sh", func(p poolCtl) *hdl.Expr { return p.sh }), pick("sw", func(p poolCtl) *hdl.Expr { return p.sw })}
	}
	var acP poolCtl
	if pc.Pool {
		acP = poolOf("ac_", setIdx(acSet))
		m.Set(acPool, acP.en)
	} else {
		m.Set(acPool, zero(1))
	}
	// A fused ACTIVATE (fuse=1) is checked, then waits in these registers
	// for the MATMUL or CONVOLVE after it, whose last tile carries last
	// and the set to the accumulators, so the rows leave for the pipeline
	// as they are finished. fz: 0 none; 1 armed; 2 its pooling control
	// sent (once the results before it have landed), 3 streaming.
	fz := m.Reg("fz", hdl.U(2), hdl.ResetTo(0))
	acFuse := field(core.OpActivate, "fuse")
	fzAcc, fzM := m.Reg("fz_acc", hdl.U(core.AccRowBits)), m.Reg("fz_m", hdl.U(core.DimBits))
	fzWA, fzN, fzPitch := m.Reg("fz_wa", hdl.U(core.AddrBits)), m.Reg("fz_n", hdl.U(core.LaneBits)), m.Reg("fz_pitch", hdl.U(16))
	fzLo, fzHi := m.Reg("fz_lo", hdl.U(core.AddrBits+1)), m.Reg("fz_hi", hdl.U(core.AddrBits+1))
	fzSet := m.Reg("fz_set", hdl.U(max(1, hdl.Clog2(cfg.Arch.ParamSets))))
	var fzFH, fzFW *hdl.Expr // the frame, for the pooling control
	if pc.Pool {
		fzFH, fzFW = m.Reg("fz_fh", hdl.U(12)), m.Reg("fz_fw", hdl.U(12))
	}
	// The pooling control for frames of fh x fw rows of a set; a core
	// without pooling sends none.
	sendPool := func(set *hdl.Expr, p poolCtl, fh, fw *hdl.Expr) {
		if !pc.Pool {
			return
		}
		pf := params[arch.StagePool]
		vals := map[string]*hdl.Expr{"enable": zero(1), "mode": zero(1)}
		for _, n := range []string{"width", "height", "kh", "kw", "sh", "sw"} {
			vals[n] = m.Const(1, hdl.U(fieldOf(pf, n).Width))
		}
		wide := func(e *hdl.Expr, n string) *hdl.Expr {
			w := fieldOf(pf, n).Width
			if e.Width() >= w {
				return e.Trunc(w)
			}
			return hdl.ZExt(e, w)
		}
		m.If(p.en, func() {
			mode := hdl.Mux(p.kind, m.Const(int64(proto.Pool.Modes[arch.AveragePool]), hdl.U(fieldOf(pf, "mode").Width)),
				m.Const(int64(proto.Pool.Modes[arch.MaxPool]), hdl.U(fieldOf(pf, "mode").Width)))
			sendP(arch.StagePool, set, m.Const(int64(PoolControlAddr), hdl.U(pAddrW)), map[string]*hdl.Expr{
				"enable": one(1), "mode": mode, "width": wide(fw, "width"), "height": wide(fh, "height"),
				"kh": wide(p.kh, "kh"), "kw": wide(p.kw, "kw"), "sh": wide(p.sh, "sh"), "sw": wide(p.sw, "sw")})
		}).Else(func() {
			sendP(arch.StagePool, set, m.Const(int64(PoolControlAddr), hdl.U(pAddrW)), vals)
		})
	}
	// A division skips the dividend's leading zero bits (they leave the
	// remainder and quotient at zero), one step at least: a step per
	// significant bit.
	divStart := m.Wire("div_start", hdl.U(16))
	m.Set(divStart, zero(16))
	divLZ := m.Wire("div_lz", hdl.U(4))
	m.Set(divLZ, m.Const(15, hdl.U(4)))
	for b := 1; b < 16; b++ {
		m.If(divStart.Bit(b), func() { m.Set(divLZ, m.Const(int64(15-b), hdl.U(4))) })
	}
	startDiv := func(n, d *hdl.Expr) {
		m.Set(divStart, u(n, 16))
		m.Set(divN, divStart.ShlBy(divLZ))
		m.Set(divD, u(d, 24))
		m.Set(divQ, zero(16))
		m.Set(divR, zero(25))
		m.Set(divI, divLZ)
		m.Set(state, st(csActDiv))
	}
	drainCycles := mu.Latency + mu.PipelineLatency + 4
	c.DrainCycles = drainCycles
	// fusedHold holds a beat of the last tile until a fused activate's
	// pooling control is out; fusedTag is the set such a beat carries.
	fusedHold := func(final *hdl.Expr) *hdl.Expr { return final.And(fz.EqConst(1).Or(fz.EqConst(2))) }
	tagW := fieldOf(aLay.Fields, "tag").Width
	fusedTag := func(fused *hdl.Expr) *hdl.Expr {
		return hdl.Mux(fused, u(fzSet, max(tagW, fzSet.Width())).Trunc(tagW), zero(tagW))
	}
	// fusedDone: the instruction's last beat is in; a fused activate's
	// results land for drain cycles more.
	fusedDone := func() {
		m.If(fz.Ne(zero(2)), func() {
			m.Set(drain, m.Const(int64(drainCycles), hdl.U(8)))
			m.Set(dnOn, one(1))
			m.Set(fz, zero(2))
		})
	}

	cycles := m.Reg("cnt_cycles", hdl.U(64), hdl.ResetTo(0))
	busy := m.Reg("cnt_busy", hdl.U(64), hdl.ResetTo(0))
	wstall := m.Reg("cnt_wstall", hdl.U(64), hdl.ResetTo(0))
	macs := m.Reg("cnt_macs", hdl.U(64), hdl.ResetTo(0))

	// CONVOLVE: the window generator gathers each beat's taps (OHWI order:
	// kernel row, kernel column, channel) from the NHWC map in the unified
	// buffer, a run of channels a cycle, padding taps holding zp.
	cv := func(n string) *hdl.Expr { return field(core.OpConvolve, n) }
	cvImgs, cvH, cvW, cvC := cv("images"), cv("h"), cv("w"), cv("c")
	cvKH, cvKW, cvSH, cvSW, cvDH, cvDW := cv("kh"), cv("kw"), cv("sh"), cv("sw"), cv("dh"), cv("dw")
	cvPT, cvPB, cvPL, cvPR, cvZP := cv("pt"), cv("pb"), cv("pl"), cv("pr"), cv("zp")
	cvWA, cvN, cvAcc, cvAccum := cv("waddr"), cv("n"), cv("acc"), cv("accumulate")
	cvDepthwise, cvC0 := cv("depthwise"), cv("c0")
	divConv := m.Reg("div_conv", hdl.U(1))
	// Depthwise: lane o convolves channel c0+o alone, one pass per lane
	// (the other lanes' weights zero), taps kh*kw.
	dwO := m.Reg("dw_o", hdl.U(core.LaneBits))
	cEff := m.Wire("cg_ceff", hdl.U(12))
	m.Set(cEff, hdl.Mux(cvDepthwise, m.Const(1, hdl.U(12)), cvC))
	cvSpanH := u(cvH, 14).Add(u(cvPT, 14)).Trunc(14).Add(u(cvPB, 14)).Trunc(14)
	cvSpanW := u(cvW, 14).Add(u(cvPL, 14)).Trunc(14).Add(u(cvPR, 14)).Trunc(14)
	cvEffH := dec(cvKH).Mul(cvDH).Add(one(1)).Trunc(10)
	cvEffW := dec(cvKW).Mul(cvDW).Add(one(1)).Trunc(10)
	cvOH := m.Reg("cv_oh", hdl.U(16))
	cvOW := m.Reg("cv_ow", hdl.U(16))
	cvM := m.Reg("cv_m", hdl.U(17))
	cvImg := u(cvH.Mul(cvW).Mul(cvC), 36) // bytes per image
	cgOn := m.Reg("cg_on", hdl.U(1), hdl.ResetTo(0))
	cgSend := m.Reg("cg_send", hdl.U(1), hdl.ResetTo(0))
	cgK0 := m.Reg("cg_k0", hdl.U(core.AddrBits+1))
	cgRow := m.Reg("cg_row", hdl.U(17))
	cgN, cgOY, cgOX := m.Reg("cg_n", hdl.U(16)), m.Reg("cg_oy", hdl.U(12)), m.Reg("cg_ox", hdl.U(12))
	cgBase := m.Reg("cg_base", hdl.U(core.AddrBits+1))
	cgFY, cgFX, cgC := m.Reg("cg_fy", hdl.U(5)), m.Reg("cg_fx", hdl.U(5)), m.Reg("cg_c", hdl.U(12))
	cgSFY, cgSFX, cgSC := m.Reg("cg_sfy", hdl.U(5)), m.Reg("cg_sfx", hdl.U(5)), m.Reg("cg_sc", hdl.U(12))
	cgNFY, cgNFX, cgNC := m.Reg("cg_nfy", hdl.U(5)), m.Reg("cg_nfx", hdl.U(5)), m.Reg("cg_nc", hdl.U(12))
	cgF := m.Reg("cg_f", hdl.U(4))
	cgLV := m.Reg("cg_lv", hdl.U(1), hdl.ResetTo(0))
	// Landing slots, one per run gathered in a cycle (a read port each).
	nRuns := core.WindowRuns
	// A slot's taps from lead up to end (counted from the run's first)
	// are read; the others are padding.
	cgLDest, cgLCnt := make([]*hdl.Expr, nRuns), make([]*hdl.Expr, nRuns)
	cgLLead, cgLEnd := make([]*hdl.Expr, nRuns), make([]*hdl.Expr, nRuns)
	for s := range nRuns {
		sfx := ""
		if s > 0 {
			sfx = fmt.Sprintf("_%d", s)
		}
		cgLDest[s], cgLCnt[s] = m.Reg("cg_ldest"+sfx, hdl.U(4)), m.Reg("cg_lcnt"+sfx, hdl.U(4))
		cgLLead[s], cgLEnd[s] = m.Reg("cg_llead"+sfx, hdl.U(4)), m.Reg("cg_lend"+sfx, hdl.U(4))
	}
	// padTap: tap j of slot s's run holds the padding value.
	padTap := func(s, j int) *hdl.Expr {
		k := m.Const(int64(j), hdl.U(4))
		return cgLLead[s].Gt(k).Or(cgLEnd[s].Le(k))
	}
	cb := make([]*hdl.Expr, R)
	cgAct := make([]*hdl.Expr, R)
	for i := range cb {
		cb[i] = m.Reg(fmt.Sprintf("cg_b_%d", i), hdl.U(8))
		cgAct[i] = m.Wire(fmt.Sprintf("cg_act_%d", i), hdl.U(8))
		m.Set(cgAct[i], cb[i])
	}
	// Taps in a tile: min(R, K - k0).
	kvOf := func(name string, k0 *hdl.Expr) *hdl.Expr {
		left := opK.Sub(k0).Trunc(opK.Width())
		kv := m.Wire(name, hdl.U(4))
		m.Set(kv, hdl.Mux(left.Ge(m.Const(int64(R), left.Shape())), m.Const(int64(R), hdl.U(4)), left.Trunc(4)))
		return kv
	}
	cgKV := kvOf("cg_kv", cgK0)
	// The beat after the one offered now (what the controller moves to
	// when it is taken): the gatherer starts on it in that same cycle.
	lastRow := inc(cgRow).Eq(cvM)
	oxWrap, oyWrap := inc(cgOX).Eq(cvOW.Trunc(12)), inc(cgOY).Eq(cvOH.Trunc(12))
	nk0 := cgK0.Add(m.Const(int64(R), cgK0.Shape())).Trunc(cgK0.Width())
	tileEnd := lastRow.And(nk0.Ge(opK))
	passNext := tileEnd.And(cvDepthwise).And(inc(dwO).Lt(cvN))
	// The beat offered is of the last tile (of the last pass): with a
	// fused activate it waits for the activate's pooling control.
	cgFinal := m.Wire("cg_final", hdl.U(1))
	m.Set(cgFinal, nk0.Ge(opK).And(cvDepthwise.Not().Or(inc(dwO).Ge(cvN))))
	cgHold := m.Wire("cg_hold", hdl.U(1))
	m.Set(cgHold, fusedHold(cgFinal))
	prefetch := m.Wire("cg_prefetch", hdl.U(1))
	m.Set(prefetch, cCV.And(cgOn).And(cgSend).And(cgHold.Not()).And(aReady).And(tileEnd.Not().Or(passNext)))
	eff := func(name string, cur, next *hdl.Expr) *hdl.Expr {
		w := m.Wire(name, cur.Shape())
		m.Set(w, hdl.Mux(prefetch, next, cur))
		return w
	}
	ub0 := u(field(core.OpConvolve, "ub"), core.AddrBits+1)
	zeroIf := func(c, v *hdl.Expr) *hdl.Expr { return hdl.Mux(c, zero(v.Width()), v) }
	eRow := eff("cg_e_row", cgRow, zeroIf(lastRow, inc(cgRow)))
	eOX := eff("cg_e_ox", cgOX, zeroIf(lastRow.Or(oxWrap), inc(cgOX)))
	eOY := eff("cg_e_oy", cgOY, zeroIf(lastRow, hdl.Mux(oxWrap, zeroIf(oyWrap, inc(cgOY)), cgOY)))
	eBase := eff("cg_e_base", cgBase, hdl.Mux(lastRow, ub0,
		hdl.Mux(oxWrap.And(oyWrap), cgBase.Add(cvImg.Trunc(core.AddrBits+1)).Trunc(core.AddrBits+1), cgBase)))
	eK0 := eff("cg_e_k0", cgK0, zeroIf(passNext, hdl.Mux(lastRow, nk0, cgK0)))
	eDwO := eff("cg_e_dwo", dwO, hdl.Mux(passNext, inc(dwO), dwO))
	eFY := eff("cg_e_fy", cgFY, zeroIf(passNext, hdl.Mux(lastRow, cgNFY, cgSFY)))
	eFX := eff("cg_e_fx", cgFX, zeroIf(passNext, hdl.Mux(lastRow, cgNFX, cgSFX)))
	eC := eff("cg_e_c", cgC, zeroIf(passNext, hdl.Mux(lastRow, cgNC, cgSC)))
	eF := eff("cg_e_f", cgF, zero(4))
	eKV := kvOf("cg_e_kv", eK0)

	// Gathering: up to WindowRuns runs of taps a cycle, each from where
	// the one before it ends, each read on its own port of the unified
	// buffer. A run is the channels left at its tap; with dilation 1 (and
	// not a depthwise pass over a many-channel map) a kernel row's taps
	// are consecutive bytes, so a run spans kernel columns instead, to the
	// kernel row's end: one read from its first column's address (before
	// the map's row when the row starts in the padding) of which the
	// columns outside the map are replaced by padding.
	wide := m.Wire("cg_wide", hdl.U(1))
	m.Set(wide, cvDW.EqConst(1).And(cvDepthwise.Not().Or(cvC.EqConst(1))))
	rowA, colB := eOY.Mul(cvSH), eOX.Mul(cvSW)
	chanBase := u(cvC0, 13).Add(u(eDwO, 13)).Trunc(13)
	type gatherRun struct {
		reads, cnt, lead, end, raddr, fy, fx, c, f *hdl.Expr // f: the beat's taps gathered after the run
	}
	runAt := func(sfx string, fy, fx, c, f *hdl.Expr) gatherRun {
		a := rowA.Add(fy.Mul(cvDH)).Trunc(17)
		b := colB.Add(fx.Mul(cvDW)).Trunc(17)
		y := a.Sub(u(cvPT, 17)).Trunc(17)
		x := b.Sub(u(cvPL, 17)).Trunc(17)
		xIn := x.Lt(u(cvW, 17))
		if cfg.Mutant == CoreMutantWindowEdge {
			xIn = x.Le(u(cvW, 17))
		}
		yIn := a.Ge(u(cvPT, 17)).And(y.Lt(u(cvH, 17)))
		inside := m.Wire("cg_inside"+sfx, hdl.U(1))
		m.Set(inside, yIn.And(b.Ge(u(cvPL, 17))).And(xIn))
		need := eKV.Sub(f).Trunc(4)
		colsLeft := u(cvKW.Sub(fx).Trunc(5), 17)
		span := m.Wire("cg_span"+sfx, hdl.U(17))
		m.Set(span, u(cEff.Sub(c).Trunc(12), 17))
		m.If(wide, func() { m.Set(span, colsLeft.Trunc(5).Mul(cEff).Sub(u(c, 17)).Trunc(17)) })
		cnt := m.Wire("cg_cnt"+sfx, hdl.U(4))
		m.Set(cnt, hdl.Mux(u(need, 17).Le(span), need, span.Trunc(4)))
		// The run's taps lead..end-1 are inside the map: a wide run's
		// columns from pl-b on (left padding before) up to W+pl-b (right
		// padding after), in taps from its first (c channels in); a run of
		// one tap's channels is inside or not.
		taps := func(cols *hdl.Expr) *hdl.Expr { // cols*C - c, clamped to 0..15
			v := u(cols, 18).Mul(u(cEff, 12)).Trunc(30)
			d := v.Sub(u(c, 30)).Trunc(30)
			return hdl.Mux(v.Le(u(c, 30)), zero(4), hdl.Mux(d.Gt(m.Const(15, d.Shape())), m.Const(15, hdl.U(4)), d.Trunc(4)))
		}
		clampCols := func(v *hdl.Expr) *hdl.Expr { return hdl.Mux(v.Lt(colsLeft), v, colsLeft) }
		rightEdge := u(cvW, 18).Add(u(cvPL, 18)).Trunc(18)
		if cfg.Mutant == CoreMutantWindowEdge {
			rightEdge = inc(rightEdge)
		}
		leadCols := hdl.Mux(b.Lt(u(cvPL, 17)), clampCols(u(cvPL, 17).Sub(b).Trunc(17)), zero(17))
		endCols := hdl.Mux(rightEdge.Gt(u(b, 18)), clampCols(rightEdge.Sub(u(b, 18)).Trunc(17)), zero(17))
		lead, end := m.Wire("cg_lead"+sfx, hdl.U(4)), m.Wire("cg_end"+sfx, hdl.U(4))
		m.Set(lead, hdl.Mux(inside, zero(4), m.Const(15, hdl.U(4))))
		m.Set(end, hdl.Mux(inside, m.Const(15, hdl.U(4)), zero(4)))
		m.If(wide.And(yIn), func() {
			m.Set(lead, taps(leadCols))
			m.Set(end, taps(endCols))
		})
		reads := m.Wire("cg_reads"+sfx, hdl.U(1))
		m.Set(reads, cnt.Ne(zero(4)).And(lead.Lt(end)).And(lead.Lt(cnt)))
		// x is two's complement: a wide run may start left of the map.
		pix := u(y.Trunc(12).Mul(cvW), 25).Add(hdl.SExt(x, 25).AsUnsigned()).Trunc(25).Mul(cvC).Trunc(core.AddrBits + 1)
		chanOff := hdl.Mux(cvDepthwise, chanBase, u(c, 13))
		raddr := eBase.Add(pix).Trunc(core.AddrBits + 1).Add(u(chanOff, core.AddrBits+1)).Trunc(core.AddrBits + 1)
		// The tap after the run: c + cnt taps into the column, at most R
		// columns on (a run is at most R taps), divided by the channels.
		pos := u(c, 13).Add(u(cnt, 13)).Trunc(13)
		cAdv := m.Wire("cg_adv"+sfx, hdl.U(5))
		cRem := m.Wire("cg_rem"+sfx, hdl.U(13))
		m.Set(cAdv, zero(5))
		m.Set(cRem, pos)
		for j := 1; j <= R; j++ {
			mult := cEff.Mul(m.Const(int64(j), hdl.U(4))).Trunc(16)
			m.If(u(pos, 16).Ge(mult), func() {
				m.Set(cAdv, m.Const(int64(j), hdl.U(5)))
				m.Set(cRem, u(pos, 16).Sub(mult).Trunc(13))
			})
		}
		fyN, fxN, cN := m.Wire("cg_fy_next"+sfx, hdl.U(5)), m.Wire("cg_fx_next"+sfx, hdl.U(5)), m.Wire("cg_c_next"+sfx, hdl.U(12))
		nfx := fx.Add(cAdv).Trunc(5)
		m.Set(fyN, fy)
		m.Set(fxN, nfx)
		m.Set(cN, cRem.Trunc(12))
		m.If(nfx.Eq(cvKW), func() {
			m.Set(fxN, zero(5))
			m.Set(fyN, inc(fy))
		})
		fN := m.Wire("cg_f_next"+sfx, hdl.U(4))
		m.Set(fN, f.Add(cnt).Trunc(4))
		return gatherRun{reads: reads, cnt: cnt, lead: lead, end: end, raddr: raddr, fy: fyN, fx: fxN, c: cN, f: fN}
	}
	// Each run after the first starts where the one before it ends; a
	// run with no taps left has cnt 0 and reads nothing.
	runs := make([]gatherRun, nRuns)
	runs[0] = runAt("", eFY, eFX, eC, eF)
	for s := 1; s < nRuns; s++ {
		p := runs[s-1]
		runs[s] = runAt(fmt.Sprintf("_%d", s), p.fy, p.fx, p.c, p.f)
	}
	gEnd := runs[nRuns-1]

	// The weight loader: tile k0 = wl_k is read a lane a cycle (lane o's
	// R taps are consecutive bytes from waddr + o*K + k0, one read of the
	// banked memory), then offered as R beats, beat i holding tap k0+i of
	// every lane (zero past n lanes or past K).
	weightLoader := func() {
		m.If(wlOn.And(wlSend.Not()), func() {
			m.If(wlPend, func() {
				left := opK.Sub(wlK).Trunc(opK.Width())
				written := one(1)
				for i := 0; i < R; i++ {
					live := wlPendZero.Not().And(left.Gt(m.Const(int64(i), left.Shape())))
					b := hdl.Mux(live, wm.lanes[i].Slice(7, 0), zero(8))
					m.Switch(wlPendLane, func(sw *hdl.SwitchBuilder) {
						for o := 0; o < C; o++ {
							sw.Case([]int64{int64(o)}, func() { m.Set(wt[i][o], b) })
						}
					})
					written = written.And(live.Not().Or(wm.lanes[i].Bit(8)))
				}
				m.If(written.Not(), func() { failC(core.ErrUnwritten) })
			})
			m.If(wlLane.Lt(konst(C, wlLane)), func() {
				live := hdl.Mux(cvDepthwise.And(cCV), wlLane.Eq(dwO), wlLane.Lt(opN))
				m.If(live, func() { wm.read(m, wlAddr.Trunc(core.AddrBits)) })
				m.Set(wlPend, one(1))
				m.Set(wlPendLane, wlLane)
				m.Set(wlPendZero, live.Not())
				m.Set(wlLane, inc(wlLane))
				m.Set(wlAddr, wlAddr.Add(opK).Trunc(core.AddrBits+1))
			}).Else(func() {
				m.Set(wlPend, zero(1))
				m.Set(wlSend, one(1))
			})
		})
		wcat := make([]*hdl.Expr, C)
		for o := 0; o < C; o++ {
			v := wt[0][o]
			for i := 1; i < R; i++ {
				v = hdl.Mux(wlRow.EqConst(int64(i)), wt[i][o], v)
			}
			wcat[C-1-o] = v
		}
		m.Set(wData, packFields(m, wLay.Fields, wLay.Width, map[string]*hdl.Expr{"weights": hdl.Cat(wcat...)}))
		m.If(wlOn.And(wlSend), func() {
			m.Set(wValid, one(1))
			m.If(wReady, func() {
				m.Set(wlRow, inc(wlRow))
				m.If(wlRow.EqConst(int64(R-1)), func() {
					nk0 := wlK.Add(m.Const(int64(R), wlK.Shape())).Trunc(wlK.Width())
					naddr := wlRowAddr.Add(m.Const(int64(R), wlRowAddr.Shape())).Trunc(wlRowAddr.Width())
					m.Set(wlSend, zero(1))
					m.Set(wlLane, zero(8))
					m.Set(wlRow, zero(rb))
					m.Set(wlK, nk0)
					m.Set(wlRowAddr, naddr)
					m.Set(wlAddr, naddr)
					m.If(nk0.Ge(opK), func() { m.Set(wlOn, zero(1)) })
				})
			})
		})
	}

	// While an activate's results land, only instructions that
	// neither read those UB bytes, write the UB, touch the
	// pipeline's parameters nor end the program go on: read_weights,
	// and matmul or convolve reading other bytes.
	// overlaps: [lo, lo+n) meets [rlo, rhi).
	overlaps := func(lo, n, rlo, rhi *hdl.Expr) *hdl.Expr {
		hi := u(lo, 64).Add(u(n, 64)).Trunc(64)
		return u(lo, 64).Lt(u(rhi, 64)).And(u(rlo, 64).Lt(hi))
	}
	clear := func(lo, n *hdl.Expr) *hdl.Expr { return overlaps(lo, n, dnLo, dnHi).Not() }
	opc := ir.Slice(core.OpcodeBits-1, 0)
	// misfused: the MATMUL or CONVOLVE after a fused activate writes rows
	// other than the activate reads, or reads UB bytes [lo, lo+n) that it
	// writes (they land while the instruction still reads).
	misfused := func(acc, rows, lo, n *hdl.Expr) *hdl.Expr {
		return fz.Ne(zero(2)).And(acc.Ne(fzAcc).Or(rows.Ne(u(fzM, rows.Width()))).Or(overlaps(lo, n, fzLo, fzHi)))
	}
	// What may decode while the compute engine runs and an activate's
	// results land: host transfers into bytes neither reads nor writes
	// (UB writes wait for the cycles results land in), a parameter load
	// into a set no result in the pipeline uses, and, once the engine is
	// free, a fused activate (checked only: it waits for the results when
	// its pooling control goes out) or a matmul or convolve reading none
	// of the landing bytes. Everything else waits for both to finish.
	rhUB, rhN := field(core.OpReadHost, "ub"), field(core.OpReadHost, "len")
	rwW, rwN := field(core.OpReadWeights, "waddr"), field(core.OpReadWeights, "len")
	lpSet := field(core.OpLoadParams, "set")
	quiet := cOn.Not().And(dnOn.Not())
	mayGo := m.Wire("may_go", hdl.U(1))
	m.Set(mayGo, quiet)
	m.Switch(opc, func(sw *hdl.SwitchBuilder) {
		sw.Case([]int64{int64(core.OpReadWeights)}, func() {
			m.Set(mayGo, cOn.And(overlaps(rwW, rwN, cWLo, cWHi)).Not())
		})
		sw.Case([]int64{int64(core.OpReadHost)}, func() {
			m.Set(mayGo, cOn.And(overlaps(rhUB, rhN, cUBLo, cUBHi)).
				Or(fz.Ne(zero(2)).And(overlaps(rhUB, rhN, fzLo, fzHi))).
				Or(dnOn.And(overlaps(rhUB, rhN, dnLo, dnHi))).Not())
		})
		sw.Case([]int64{int64(core.OpLoadParams)}, func() {
			m.Set(mayGo, dnOn.Not().And(cOn.Not().Or(fz.EqConst(0)).Or(fz.EqConst(3).And(setIdx(lpSet).Ne(fzSet)))))
		})
		sw.Case([]int64{int64(core.OpActivate)}, func() {
			m.Set(mayGo, cOn.Not().And(acFuse.Or(dnOn.Not())))
		})
		sw.Case([]int64{int64(core.OpMatMul)}, func() {
			m.Set(mayGo, cOn.Not().And(dnOn.Not().Or(clear(mmUB, mmM.Mul(mmK)))))
		})
		sw.Case([]int64{int64(core.OpConvolve)}, func() {
			m.Set(mayGo, cOn.Not().And(dnOn.Not().Or(clear(field(core.OpConvolve, "ub"), cvImgs.Mul(cvImg)))))
		})
	})
	holdForDrain := m.Wire("hold_for_drain", hdl.U(1))
	m.Set(holdForDrain, mayGo.Not())
	// An activate's result lands in the UB this cycle (the write port is
	// its: read_host waits).
	ubLanding := m.Wire("ub_landing", hdl.U(1))
	m.Set(ubLanding, yValid.And(state.Eq(st(csAct)).Or(dnOn).Or(fz.EqConst(3))))
	whK := m.Wire("wh_k", hdl.U(4)) // write_host: the beat's bytes, min(8, rem)
	m.Set(whK, hdl.Mux(rem.Lt(m.Const(CoreBeatBytes, rem.Shape())), rem.Trunc(4), m.Const(CoreBeatBytes, hdl.U(4))))
	whGood := m.Wire("wh_good", hdl.U(4)) // those before the first unwritten one
	m.Set(whGood, whK)
	for j := CoreBeatBytes - 1; j >= 0; j-- {
		m.If(ub.lanes[j].Bit(8).Not().And(whK.Gt(m.Const(int64(j), hdl.U(4)))), func() { m.Set(whGood, m.Const(int64(j), hdl.U(4))) })
	}
	m.Set(iIn.Ready, zero(1))
	m.Switch(state, func(sw *hdl.SwitchBuilder) {
		sw.Case([]int64{csClear}, func() {
			m.Set(ub.clear, one(1))
			m.Set(wm.clear, one(1))
			m.Set(clr, inc(clr))
			// The accumulators are cleared through the matrix unit, so
			// wait until a soft reset has reached it.
			m.If(clr.EqConst(int64(maxWords-1)).And(softRst.Not()), func() {
				m.Set(clrA, zero(clrA.Width()))
				m.Set(state, st(csClearAcc))
			})
		})
		sw.Case([]int64{csClearAcc}, func() {
			// The accumulators start at zero (as core.Machine's): a tile
			// of zero weights, then every row overwritten with its zero
			// products.
			aw := fieldOf(aLay.Fields, "addr").Width
			m.If(clrA.Lt(m.Const(int64(R), clrA.Shape())), func() {
				m.Set(wValid, one(1))
				m.If(wReady, func() { m.Set(clrA, inc(clrA)) })
			}).Else(func() {
				row := clrA.Sub(m.Const(int64(R), clrA.Shape())).Trunc(clrA.Width())
				m.Set(aValid, one(1))
				m.Set(aData, packFields(m, aLay.Fields, aLay.Width, map[string]*hdl.Expr{
					"addr": row.Trunc(aw), "first": row.EqConst(0)}))
				m.If(aReady, func() {
					m.Set(clrA, inc(clrA))
					m.If(row.EqConst(int64(cfg.Arch.AccDepth-1)), func() { m.Set(state, st(csIdle)) })
				})
			})
		})
		sw.Case([]int64{csFetch}, func() {
			m.If(irLast, func() { fail(core.ErrNoHalt) }).Else(func() {
				m.Set(iIn.Ready, one(1))
				m.If(iIn.Valid, func() {
					m.Set(ir, iIn.Data.Slice(core.WordBits-1, 0))
					m.Set(irLast, iIn.Data.Bit(core.WordBits))
					m.Set(state, st(csDecode))
				})
			})
		})
		sw.Case([]int64{csDecode}, func() {
			m.If(holdForDrain.Not(), func() {
				m.Switch(ir.Slice(core.OpcodeBits-1, 0), func(sw *hdl.SwitchBuilder) {
					// After a fused activate only a matmul or convolve may come
					// (fz stays set while the engine runs that instruction).
					legal := func(op core.Opcode, f func()) {
						sw.Case([]int64{int64(op)}, func() {
							c := m.If(reservedBits(m, ir, op), func() { fail(core.ErrIllegalOpcode) })
							if op != core.OpMatMul && op != core.OpConvolve {
								c = c.ElseIf(fz.Ne(zero(2)).And(cOn.Not()), func() { fail(core.ErrBadField) })
							}
							c.Else(f)
						})
					}
					legal(core.OpHalt, func() { m.Set(state, st(csDone)) })
					legal(core.OpSync, next)
					for _, op := range []core.Opcode{core.OpReadHost, core.OpWriteHost} {
						legal(op, func() {
							a, n := field(op, "ub"), field(op, "len")
							m.If(past(a, n, cfg.UBBytes), func() { fail(core.ErrUBRange) }).Else(func() {
								m.Set(addr, a)
								m.Set(rem, n)
								m.Set(toWeights, zero(1))
								if op == core.OpReadHost {
									m.Set(state, st(csRead))
								} else {
									m.Set(state, st(csWHRead))
								}
							})
						})
					}
					legal(core.OpReadWeights, func() {
						a, n := field(core.OpReadWeights, "waddr"), field(core.OpReadWeights, "len")
						m.If(past(a, n, cfg.WeightBytes), func() { fail(core.ErrWeightRange) }).Else(func() {
							m.Set(addr, a)
							m.Set(rem, n)
							m.Set(toWeights, one(1))
							m.Set(state, st(csRead))
						})
					})
					legal(core.OpLoadParams, func() {
						set, n := field(core.OpLoadParams, "set"), field(core.OpLoadParams, "len")
						m.If(set.Ge(konst(cfg.Arch.ParamSets, set)), func() { fail(core.ErrParamSet) }).
							ElseIf(n.Ne(konst(core.ParamBlockBytes(C), n)).And(n.Ne(konst(core.ParamWordBytes(C), n))), func() { fail(core.ErrBadField) }).
							Else(func() {
								m.Set(lpShort, n.Eq(konst(core.ParamWordBytes(C), n)))
								for _, r := range []*hdl.Expr{lpPhase, lpF, lpC, lpB, lpBad, cPEn} {
									m.Set(r, zero(r.Width()))
								}
								m.Set(lpLane, zero(8))
								m.Set(lpX, zero(8))
								m.Set(state, st(csLoad))
							})
					})
					legal(core.OpMatMul, func() {
						mk := mmM.Mul(mmK)
						nk := u(mmN, 16).Mul(mmK)
						m.If(mmM.EqConst(0).Or(mmK.EqConst(0)).Or(mmN.EqConst(0)).Or(mmN.Gt(konst(C, mmN))), func() { fail(core.ErrBadField) }).
							ElseIf(past(u(mmUB, 33), u(mk, 33), cfg.UBBytes), func() { fail(core.ErrUBRange) }).
							ElseIf(past(u(mmW, 33), u(nk, 33), cfg.WeightBytes), func() { fail(core.ErrWeightRange) }).
							ElseIf(past(mmAcc, mmM, cfg.Arch.AccDepth), func() { fail(core.ErrAccRange) }).
							ElseIf(misfused(mmAcc, mmM, mmUB, mk), func() { fail(core.ErrBadField) }).
							Else(func() {
								m.Set(mmMACs, u(mk.Mul(u(mmN, 16)), 48))
								m.Set(opK, u(mmK, core.AddrBits+1))
								m.Set(opN, mmN)
								startWeights(mmW)
								m.Set(asOn, one(1))
								m.Set(asPend, zero(1))
								m.Set(asR, zero(core.DimBits))
								m.Set(asK0, zero(core.DimBits+1))
								m.Set(asRowAddr, u(mmUB, core.AddrBits+1))
								m.Set(asKV, u(mmK, core.DimBits+1))
								launch(zero(1), mmUB, mk, mmW, nk)
							})
					})
					legal(core.OpConvolve, func() {
						small := zero(1)
						for _, f := range []*hdl.Expr{cvImgs, cvH, cvW, cvC, cvKH, cvKW, cvSH, cvSW, cvDH, cvDW} {
							small = small.Or(f.EqConst(0))
						}
						m.If(small, func() { fail(core.ErrBadField) }).
							ElseIf(cvN.EqConst(0).Or(cvN.Gt(konst(C, cvN))), func() { fail(core.ErrBadField) }).
							ElseIf(cvSpanH.Lt(u(cvEffH, cvSpanH.Width())), func() { fail(core.ErrBadField) }).
							Else(func() {
								m.Set(divConv, one(1))
								m.Set(acPh, zero(2))
								startDiv(cvSpanH.Sub(u(cvEffH, cvSpanH.Width())).Trunc(cvSpanH.Width()), cvSH)
							})
					})
					legal(core.OpActivate, func() {
						setOK := zero(1)
						for i := range loaded {
							setOK = setOK.Or(acSet.EqConst(int64(i)).And(loaded[i]))
						}
						m.If(acN.EqConst(0).Or(acN.Gt(konst(C, acN))), func() { fail(core.ErrBadField) }).
							ElseIf(setOK.Not(), func() { fail(core.ErrParamSet) }).
							ElseIf(acM.EqConst(0).Or(acFH.EqConst(0)).Or(acFW.EqConst(0)), func() { fail(core.ErrBadField) }).
							Else(func() {
								m.Set(divConv, zero(1))
								m.Set(acPh, zero(2))
								startDiv(acM, acFH.Mul(acFW))
							})
					})
					sw.Default(func() { fail(core.ErrIllegalOpcode) })
				})
			})
		})
		sw.Case([]int64{csRead}, func() {
			m.If(rem.EqConst(0), next).ElseIf(dLeft.Ne(zero(4)).And(toWeights.Or(ubLanding.Not())), func() {
				n := hdl.Mux(u(dLeft, core.AddrBits).Le(rem), dLeft, rem.Trunc(4))
				m.Set(dTakeN, n)
				write := func(bm *byteMemory) {
					m.Set(bm.we, one(1))
					m.Set(bm.wbase, addr)
					m.Set(bm.wcount, n)
					for j := 0; j < CoreBeatBytes; j++ {
						m.Set(bm.wdata[j], dShift.Slice(8*j+7, 8*j))
					}
				}
				m.If(toWeights, func() { write(wm) }).Else(func() { write(ub) })
				m.Set(addr, addr.Add(u(n, core.AddrBits)).Trunc(core.AddrBits))
				m.Set(rem, rem.Sub(u(n, core.AddrBits)).Trunc(core.AddrBits))
			}).ElseIf(dUnder, func() { fail(core.ErrHostUnderflow) })
		})
		sw.Case([]int64{csWHRead}, func() {
			m.If(rem.EqConst(0), next).Else(func() {
				ub.read(m, addr)
				m.Set(state, st(csWHGet))
			})
		})
		sw.Case([]int64{csWHGet}, func() {
			// A beat is the min(8, rem) bytes of one read: the bytes
			// before the first unwritten one go out, then the fault.
			k, good := whK, whGood
			for i := range ob {
				m.Set(ob[i], ub.lanes[i].Slice(7, 0))
			}
			m.Set(oCount, good)
			m.Set(addr, addr.Add(u(good, core.AddrBits)).Trunc(core.AddrBits))
			m.Set(rem, rem.Sub(u(good, core.AddrBits)).Trunc(core.AddrBits))
			m.If(good.Ne(k), func() {
				m.Set(errCode, m.Const(int64(core.ErrUnwritten), hdl.U(8)))
				m.If(good.EqConst(0), func() { fail(core.ErrUnwritten) }).Else(func() {
					m.Set(errPending, one(1))
					m.Set(state, st(csWHSend))
				})
			}).Else(func() { m.Set(state, st(csWHSend)) })
		})
		sw.Case([]int64{csWHSend}, func() {
			m.If(oOut.Ready, func() {
				m.Set(oCount, zero(4))
				m.If(errPending, func() {
					m.Set(errPending, zero(1))
					m.Set(state, st(csError))
				}).ElseIf(rem.EqConst(0), next).Else(func() { m.Set(state, st(csWHRead)) })
			})
		})
		sw.Case([]int64{csLoad}, func() {
			set := field(core.OpLoadParams, "set")
			// A word the pipeline takes this cycle leaves room for the next.
			loadDone := func() {
				for i := range loaded {
					m.If(set.EqConst(int64(i)), func() { m.Set(loaded[i], one(1)) })
				}
				next()
			}
			// A block without its table: a table activation would read
			// whatever the set's table last held.
			tableMode := zero(1)
			if pc.Activation.HasTable() {
				tableMode = cMode.EqConst(int64(arch.ActTable))
			}
			m.If(pValid.And(pReady.Not()), func() {}).ElseIf(lpPhase.EqConst(3), func() {
				m.If(lpBad.Or(tableMode), func() { fail(core.ErrBadField) }).Else(loadDone)
			}).ElseIf(lpPhase.EqConst(2), func() {
				m.If(dAvail, func() {
					m.Set(dTake, one(1))
					if pc.Activation.HasTable() {
						m.Set(pValid, one(1))
						m.Set(pData, packFields(m, pLay.Fields, pLay.Width, map[string]*hdl.Expr{
							"target": m.Const(int64(proto.Targets[arch.StageActivation]), hdl.U(fieldOf(pLay.Fields, "target").Width)),
							"set":    set.Trunc(fieldOf(pLay.Fields, "set").Width),
							"addr":   m.Const(int64(ActivationTableAddr), hdl.U(pAddrW)).Add(u(lpX, pAddrW)).Trunc(pAddrW),
							"data":   packFields(m, proto.Activation.TableEntry, pDataF.Width, map[string]*hdl.Expr{"value": dShift.Slice(7, 0)})}))
					}
					m.Set(lpX, inc(lpX))
					m.If(lpX.EqConst(255), func() {
						m.If(lpBad, func() { fail(core.ErrBadField) }).Else(loadDone)
					})
				}).ElseIf(dUnder, func() { fail(core.ErrHostUnderflow) })
			}).ElseIf(dAvail, func() {
				m.Set(dTakeN, lpTake)
				m.Set(lpWord, w)
				m.Set(lpB, lpB.Add(lpTake.Trunc(2)).Trunc(2))
				bad := func(c *hdl.Expr) { m.If(c, func() { m.Set(lpBad, one(1)) }) }
				m.If(lpFull.And(lpPhase.EqConst(0)), func() {
					m.Switch(lpF, func(sw *hdl.SwitchBuilder) {
						sw.Case([]int64{0}, func() { m.Set(tBias, w) })
						sw.Case([]int64{1}, func() { m.Set(tMult, w) })
						sw.Case([]int64{2}, func() { m.Set(tShift, w); bad(outside(w, -31, 30)) })
						sw.Case([]int64{3}, func() { m.Set(tOZP, w); bad(outside(w, -128, 127)) })
						sw.Case([]int64{4}, func() { m.Set(tMin, w); bad(outside(w, -128, 127)) })
						sw.Default(func() {
							bad(outside(w, -128, 127).Or(sv(tMin).Gt(sv(w))))
							fs := params[arch.StageRequant]
							sendP(arch.StageRequant, set, lpLane.Trunc(min(8, pAddrW)).Ext(pAddrW), map[string]*hdl.Expr{
								"bias": tBias, "multiplier": tMult, "shift": tShift.Trunc(fieldOf(fs, "shift").Width),
								"out_zp": tOZP.Trunc(8), "act_min": tMin.Trunc(8), "act_max": w.Trunc(8)})
						})
					})
					m.If(lpF.EqConst(5), func() {
						m.Set(lpF, zero(3))
						m.Set(lpLane, inc(lpLane))
						m.If(lpLane.EqConst(int64(C-1)), func() { m.Set(lpPhase, one(2)) })
					}).Else(func() { m.Set(lpF, inc(lpF)) })
				})
				m.If(lpFull.And(lpPhase.EqConst(1)), func() {
					m.Switch(lpC, func(sw *hdl.SwitchBuilder) {
						sw.Case([]int64{0}, func() {
							keepW(cMode)
							ok := w.EqConst(int64(arch.ActIdentity))
							if pc.Activation.HasLeaky() {
								ok = ok.Or(w.EqConst(int64(arch.ActLeaky)))
							}
							if pc.Activation.HasTable() {
								ok = ok.Or(w.EqConst(int64(arch.ActTable)))
							}
							bad(ok.Not())
						})
						sw.Case([]int64{1}, func() { keepW(cInZP); bad(outside(w, -128, 127)) })
						sw.Case([]int64{2}, func() { keepW(cOutZP); bad(outside(w, -128, 127)) })
						sw.Case([]int64{3}, func() { keepW(cMID) })
						sw.Case([]int64{4}, func() { keepW(cSID); bad(outside(w, -32, 31)) })
						sw.Case([]int64{5}, func() { keepW(cMAlpha) })
						sw.Case([]int64{6}, func() {
							bad(outside(w, -32, 31))
							if pc.Activation.Any() {
								sendP(arch.StageActivation, set, m.Const(int64(ActivationControlAddr), hdl.U(pAddrW)), map[string]*hdl.Expr{
									"mode": cMode.Trunc(2), "in_zp": cInZP.Trunc(8), "out_zp": cOutZP.Trunc(8),
									"mult_identity": cMID, "shift_identity": cSID.Trunc(6), "mult_alpha": cMAlpha, "shift_alpha": w.Trunc(6)})
							}
						})
						sw.Case([]int64{7}, func() { m.Set(cPEn, w.AnyBits()) })
						sw.Default(func() {
							// kind (8), then kh, kw, sh, sw (9..12): stored per set.
							m.If(lpC.EqConst(8), func() { bad(cPEn.And(w.Gt(konst(int(arch.AveragePool), w)))) }).
								Else(func() { bad(cPEn.And(w.EqConst(0).Or(w.Gt(konst(cfg.Arch.PoolWindow, w))))) })
							for i, p := range pools {
								m.If(set.EqConst(int64(i)), func() {
									m.Set(p.en, cPEn)
									m.Switch(lpC, func(sw *hdl.SwitchBuilder) {
										sw.Case([]int64{8}, func() { m.Set(p.kind, w.Bit(0)) })
										sw.Case([]int64{9}, func() { m.Set(p.kh, w.Trunc(pwBits)) })
										sw.Case([]int64{10}, func() { m.Set(p.kw, w.Trunc(pwBits)) })
										sw.Case([]int64{11}, func() { m.Set(p.sh, w.Trunc(pwBits)) })
										sw.Default(func() { m.Set(p.sw, w.Trunc(pwBits)) })
									})
								})
							}
							if !pc.Pool {
								bad(cPEn)
							}
						})
					})
					m.Set(lpC, inc(lpC))
					m.If(lpC.EqConst(12), func() { m.Set(lpPhase, hdl.Mux(lpShort, m.Const(3, hdl.U(2)), m.Const(2, hdl.U(2)))) })
				})
			}).ElseIf(dUnder, func() { fail(core.ErrHostUnderflow) })
		})
		sw.Case([]int64{csActDiv}, func() {
			r2 := hdl.Cat(divR.Trunc(24), divN.Bit(15))
			ge := r2.Ge(u(divD, 25))
			m.Set(divR, hdl.Mux(ge, r2.Sub(u(divD, 25)).Trunc(25), r2))
			m.Set(divQ, hdl.Cat(divQ.Trunc(15), ge))
			m.Set(divN, hdl.Cat(divN.Trunc(15), zero(1)))
			m.Set(divI, inc(divI))
			m.If(divI.EqConst(15), func() { m.Set(state, hdl.Mux(divConv, st(csCvChk), st(csActChk))) })
		})
		sw.Case([]int64{csActChk}, func() {
			rangeCheck := func(pixels *hdl.Expr) {
				end := u(acOut, 34).Add(u(dec(pixels).Mul(acPitch), 34)).Add(u(acN, 34))
				m.If(end.Gt(m.Const(int64(cfg.UBBytes), end.Shape())), func() { fail(core.ErrUBRange) }).ElseIf(acFuse, func() {
					m.Set(fzAcc, acAcc)
					m.Set(fzM, acM)
					m.Set(fzWA, acOut)
					m.Set(fzN, acN)
					m.Set(fzPitch, acPitch)
					m.Set(fzLo, u(acOut, core.AddrBits+1))
					m.Set(fzHi, end.Trunc(core.AddrBits+1))
					m.Set(fzSet, setIdx(acSet))
					if pc.Pool {
						m.Set(fzFH, acFH)
						m.Set(fzFW, acFW)
					}
					m.Set(fz, one(2))
					next()
				}).Else(func() {
					m.Set(acR, zero(core.DimBits))
					m.Set(acWA, acOut)
					m.Set(dnN, acN)
					m.Set(dnPitch, acPitch)
					m.Set(dnLo, u(acOut, core.AddrBits+1))
					m.Set(dnHi, end.Trunc(core.AddrBits+1))
					sendPool(acSet, acP, acFH, acFW)
					m.Set(state, st(csActPool))
				})
			}
			m.Switch(acPh, func(sw *hdl.SwitchBuilder) {
				sw.Case([]int64{0}, func() {
					if pc.Pool {
						m.Set(acFrames, divQ)
					}
					m.If(divR.Ne(zero(25)), func() { fail(core.ErrBadField) }).
						ElseIf(acPitch.Lt(u(acN, 16)), func() { fail(core.ErrBadField) }).
						ElseIf(past(acAcc, acM, cfg.Arch.AccDepth), func() { fail(core.ErrAccRange) }).
						ElseIf(acPool, func() {
							if !pc.Pool {
								return
							}
							m.If(acFH.Gt(konst(cfg.Arch.PoolHeight, acFH)).Or(acFW.Gt(konst(cfg.Arch.PoolWidth, acFW))).
								Or(acFH.Lt(u(acP.kh, 12))).Or(acFW.Lt(u(acP.kw, 12))), func() { fail(core.ErrBadField) }).
								Else(func() {
									m.Set(acPh, one(2))
									startDiv(acFH.Sub(u(acP.kh, 12)).Trunc(12), acP.sh)
								})
						}).Else(func() { rangeCheck(acM) })
				})
				sw.Case([]int64{1}, func() {
					if !pc.Pool {
						return
					}
					m.Set(acOH, inc(divQ))
					m.Set(acPh, m.Const(2, hdl.U(2)))
					startDiv(acFW.Sub(u(acP.kw, 12)).Trunc(12), acP.sw)
				})
				sw.Default(func() {
					if !pc.Pool {
						return
					}
					px := acFrames.Mul(acOH).Trunc(16).Mul(inc(divQ)).Trunc(16)
					rangeCheck(px)
				})
			})
		})
		sw.Case([]int64{csCvChk}, func() {
			m.Switch(acPh, func(sw *hdl.SwitchBuilder) {
				sw.Case([]int64{0}, func() {
					m.Set(cvOH, inc(divQ))
					m.If(cvSpanW.Lt(u(cvEffW, cvSpanW.Width())), func() { fail(core.ErrBadField) }).Else(func() {
						m.Set(acPh, one(2))
						startDiv(cvSpanW.Sub(u(cvEffW, cvSpanW.Width())).Trunc(cvSpanW.Width()), cvSW)
					})
				})
				sw.Default(func() {
					ow := inc(divQ)
					m.Set(cvOW, ow)
					rows := cvImgs.Mul(cvOH).Mul(ow) // 48 bits
					K := hdl.Mux(cvDepthwise, u(cvKH.Mul(cvKW), 22), cvKH.Mul(cvKW).Mul(cvC))
					m.If(cvDepthwise.Not().And(cvC0.Ne(zero(12))), func() { fail(core.ErrBadField) }).
						ElseIf(cvDepthwise.And(u(cvC0, 13).Add(u(cvN, 13)).Gt(u(cvC, 14))), func() { fail(core.ErrBadField) }).
						ElseIf(past(u(field(core.OpConvolve, "ub"), 53), u(cvImgs.Mul(cvImg), 53), cfg.UBBytes), func() { fail(core.ErrUBRange) }).
						ElseIf(past(u(cvWA, 45), u(u(cvN, 22).Mul(K), 45), cfg.WeightBytes), func() { fail(core.ErrWeightRange) }).
						ElseIf(past(u(cvAcc, 49), u(rows, 49), cfg.Arch.AccDepth), func() { fail(core.ErrAccRange) }).
						ElseIf(misfused(cvAcc, rows, field(core.OpConvolve, "ub"), cvImgs.Mul(cvImg)), func() { fail(core.ErrBadField) }).
						Else(func() {
							m.Set(cvM, rows.Trunc(17))
							m.Set(mmMACs, u(rows.Trunc(17).Mul(K).Mul(cvN), 48))
							m.Set(opK, u(K, core.AddrBits+1))
							m.Set(opN, cvN)
							startWeights(cvWA)
							m.Set(cgOn, one(1))
							m.Set(cgSend, zero(1))
							m.Set(cgLV, zero(1))
							m.Set(cgK0, zero(cgK0.Width()))
							for _, r := range []*hdl.Expr{cgRow, cgN, cgOY, cgOX, cgFY, cgFX, cgC, cgSFY, cgSFX, cgSC, cgF} {
								m.Set(r, zero(r.Width()))
							}
							m.Set(cgBase, u(field(core.OpConvolve, "ub"), core.AddrBits+1))
							m.Set(dwO, zero(core.LaneBits))
							launch(one(1), field(core.OpConvolve, "ub"), cvImgs.Mul(cvImg), cvWA, u(cvN, 22).Mul(K))
						})
				})
			})
		})
		sw.Case([]int64{csErrWait}, func() {
			m.If(cOn.Not(), func() { m.Set(state, st(csError)) })
		})
		sw.Case([]int64{csActPool}, func() {
			m.If(pValid.Not(), func() { m.Set(state, st(csAct)) })
		})
		sw.Case([]int64{csAct}, func() {
			aw := fieldOf(aLay.Fields, "addr").Width
			row := u(acAcc, core.AccRowBits+1).Add(u(acR, core.AccRowBits+1)).Trunc(core.AccRowBits + 1).Trunc(aw)
			m.Set(aValid, one(1))
			m.Set(aData, packFields(m, aLay.Fields, aLay.Width, map[string]*hdl.Expr{
				"addr": row, "first": zero(1), "acc": one(1), "last": one(1),
				"tag": setIdx(acSet).Trunc(fieldOf(aLay.Fields, "tag").Width)}))
			m.If(aReady, func() {
				m.Set(acR, inc(acR))
				m.If(inc(acR).Eq(acM), func() {
					m.Set(drain, m.Const(int64(drainCycles), hdl.U(8)))
					m.Set(dnOn, one(1))
					next()
				})
			})
		})
	})
	// The compute engine, after the controller so that its faults (of an
	// earlier instruction) win over the controller's.
	m.If(cMM, func() {
		// Done once every activation beat has entered the array (the
		// data checks below override this with an error).
		m.If(asOn.Not().And(asPend.Not().Or(aValid.And(aReady))), func() {
			m.Set(macs, macs.Add(u(mmMACs, 64)).Trunc(64))
			fusedDone()
			m.Set(cOn, zero(1))
		})
		weightLoader()
		// The activation streamer: row r of tile k0 reads R bytes at
		// ub + r*K + k0 (lanes past K - k0 are zero).
		acts := make([]*hdl.Expr, R)
		written := one(1)
		for i := 0; i < R; i++ {
			li := i
			if cfg.Mutant == CoreMutantTileLanes {
				li++
			}
			live := asPendKV.Gt(m.Const(int64(li), asPendKV.Shape()))
			acts[R-1-i] = hdl.Mux(live, ub.lanes[i].Slice(7, 0), zero(8))
			written = written.And(live.Not().Or(ub.lanes[i].Bit(8)))
		}
		aw := fieldOf(aLay.Fields, "addr").Width
		first := asPendFirst
		if asPendT0 != nil {
			// Only the instruction's first tile swaps weights in.
			first = asPendFirst.And(asPendT0)
		}
		fused := asPendLast.And(fz.EqConst(3))
		aVals := map[string]*hdl.Expr{"acts": hdl.Cat(acts...), "addr": asPendRow.Trunc(aw), "first": first,
			"acc": asPendAcc, "last": fused, "tag": fusedTag(fused)}
		m.Set(aData, packFields(m, aLay.Fields, aLay.Width, aVals))
		aFire := aValid.And(aReady)
		m.If(asPend, func() {
			m.If(written.Not(), func() { failC(core.ErrUnwritten) }).
				ElseIf(fusedHold(asPendLast).Not(), func() { m.Set(aValid, one(1)) })
		})
		m.If(asOn.And(asPend.Not().Or(aFire)), func() {
			ub.read(m, asRowAddr.Trunc(core.AddrBits))
			m.Set(asPend, one(1))
			m.Set(asPendKV, asKV)
			m.Set(asPendFirst, asR.EqConst(0))
			if asPendT0 != nil {
				m.Set(asPendT0, asK0.EqConst(0))
			}
			m.Set(asPendAcc, mmAccum.Or(asK0.Ne(zero(asK0.Width()))))
			m.Set(asPendRow, u(mmAcc, core.AccRowBits+1).Add(u(asR, core.AccRowBits+1)).Trunc(core.AccRowBits+1))
			m.Set(asPendLast, asK0.Add(m.Const(int64(R), asK0.Shape())).Trunc(asK0.Width()).Ge(u(mmK, asK0.Width())))
			m.Set(asR, inc(asR))
			m.Set(asRowAddr, asRowAddr.Add(u(mmK, core.AddrBits+1)).Trunc(core.AddrBits+1))
			m.If(inc(asR).Eq(mmM), func() {
				nk0 := asK0.Add(m.Const(int64(R), asK0.Shape())).Trunc(asK0.Width())
				m.Set(asR, zero(core.DimBits))
				m.Set(asK0, nk0)
				m.Set(asKV, asKV.Sub(m.Const(int64(R), asKV.Shape())).Trunc(asKV.Width()))
				m.Set(asRowAddr, u(mmUB, core.AddrBits+1).Add(nk0).Trunc(core.AddrBits+1))
				m.If(nk0.Ge(u(mmK, nk0.Width())), func() { m.Set(asOn, zero(1)) })
			})
		}).ElseIf(aFire, func() { m.Set(asPend, zero(1)) })
	})
	m.If(cCV, func() {
		m.If(cgOn.Not(), func() {
			m.Set(macs, macs.Add(u(mmMACs, 64)).Trunc(64))
			fusedDone()
			m.Set(cOn, zero(1))
		})
		weightLoader()
		// Landing: last cycle's runs of taps go to beat lanes
		// dest .. dest+cnt-1 of their slots.
		written := one(1)
		for s := range nRuns {
			for j := 0; j < R; j++ {
				written = written.And(cgLCnt[s].Le(m.Const(int64(j), hdl.U(4))).Or(padTap(s, j)).Or(ub.ports[s].lanes[j].Bit(8)))
			}
		}
		// The beat's lanes with this cycle's landing merged in: the
		// last runs land in the cycle the beat is first offered.
		m.If(cgLV, func() {
			for i := 0; i < R; i++ {
				for s := range nRuns {
					for d := 0; d <= i; d++ {
						m.If(cgLDest[s].EqConst(int64(d)).And(cgLCnt[s].Gt(m.Const(int64(i-d), hdl.U(4)))), func() {
							m.Set(cgAct[i], hdl.Mux(padTap(s, i-d), cvZP, ub.ports[s].lanes[i-d].Slice(7, 0)))
						})
					}
				}
				m.Set(cb[i], cgAct[i])
			}
		})
		m.Set(cgLV, zero(1))
		m.If(cgLV.And(written.Not()), func() { failC(core.ErrUnwritten) })
		// Sending: the beat of pixel row cg_row, tile k0.
		acts := make([]*hdl.Expr, R)
		for i := 0; i < R; i++ {
			acts[R-1-i] = hdl.Mux(cgKV.Gt(m.Const(int64(i), hdl.U(4))), cgAct[i], zero(8))
		}
		aw := fieldOf(aLay.Fields, "addr").Width
		row := u(cvAcc, 18).Add(u(cgRow, 18)).Trunc(18).Trunc(aw)
		fused := cgFinal.And(fz.EqConst(3))
		m.If(cgOn.And(cgSend).And(cgHold.Not()), func() {
			m.Set(aValid, one(1))
			m.Set(aData, packFields(m, aLay.Fields, aLay.Width, map[string]*hdl.Expr{"acts": hdl.Cat(acts...), "addr": row,
				"first": cgRow.EqConst(0), "acc": cvAccum.Or(cgK0.Ne(zero(cgK0.Width()))).Or(dwO.Ne(zero(core.LaneBits))),
				"last": fused, "tag": fusedTag(fused)}))
			m.If(aReady, func() {
				m.Set(cgSend, zero(1))
				m.Set(cgF, zero(4))
				m.Set(cgFY, cgSFY)
				m.Set(cgFX, cgSFX)
				m.Set(cgC, cgSC)
				m.Set(cgRow, inc(cgRow))
				m.Set(cgOX, inc(cgOX))
				m.If(inc(cgOX).Eq(cvOW.Trunc(12)), func() {
					m.Set(cgOX, zero(12))
					m.Set(cgOY, inc(cgOY))
					m.If(inc(cgOY).Eq(cvOH.Trunc(12)), func() {
						m.Set(cgOY, zero(12))
						m.Set(cgN, inc(cgN))
						m.Set(cgBase, cgBase.Add(cvImg.Trunc(core.AddrBits+1)).Trunc(core.AddrBits+1))
					})
				})
				m.If(inc(cgRow).Eq(cvM), func() {
					// The next tile: its taps start where row 0's beat ended.
					nk0 := cgK0.Add(m.Const(int64(R), cgK0.Shape())).Trunc(cgK0.Width())
					m.Set(cgK0, nk0)
					m.Set(cgRow, zero(17))
					m.Set(cgOX, zero(12))
					m.Set(cgOY, zero(12))
					m.Set(cgN, zero(16))
					m.Set(cgBase, u(field(core.OpConvolve, "ub"), core.AddrBits+1))
					m.Set(cgFY, cgNFY)
					m.Set(cgFX, cgNFX)
					m.Set(cgC, cgNC)
					m.Set(cgSFY, cgNFY)
					m.Set(cgSFX, cgNFX)
					m.Set(cgSC, cgNC)
					m.If(nk0.Ge(opK), func() {
						m.If(cvDepthwise.And(inc(dwO).Lt(cvN)), func() {
							// The next lane's pass: its weights from tile 0 again.
							m.Set(dwO, inc(dwO))
							m.Set(cgK0, zero(cgK0.Width()))
							for _, r := range []*hdl.Expr{cgFY, cgFX, cgC, cgSFY, cgSFX, cgSC} {
								m.Set(r, zero(r.Width()))
							}
							startWeights(cvWA)
						}).Else(func() { m.Set(cgOn, zero(1)) })
					})
				})
			})
		})
		// Gathering: a run of the beat being formed, or the first run
		// of the next beat in the cycle the current one is taken.
		m.If(prefetch.Or(cgOn.And(cgSend.Not()).And(cgF.Lt(cgKV))), func() {
			start := eF
			for s, g := range runs {
				m.If(g.reads, func() { ub.readPort(m, s, g.raddr.Trunc(core.AddrBits)) })
				m.Set(cgLDest[s], start)
				m.Set(cgLCnt[s], g.cnt)
				m.Set(cgLLead[s], g.lead)
				m.Set(cgLEnd[s], g.end)
				start = g.f
			}
			m.Set(cgLV, one(1))
			m.Set(cgF, gEnd.f)
			m.Set(cgFY, gEnd.fy)
			m.Set(cgFX, gEnd.fx)
			m.Set(cgC, gEnd.c)
			m.If(eRow.EqConst(0), func() {
				m.Set(cgNFY, gEnd.fy)
				m.Set(cgNFX, gEnd.fx)
				m.Set(cgNC, gEnd.c)
			})
			m.If(u(gEnd.f, 6).Ge(u(eKV, 6)), func() { m.Set(cgSend, one(1)) })
		}).ElseIf(cgOn.And(cgSend.Not()), func() { m.Set(cgSend, one(1)) })
	})
	// ACTIVATE's results: each y_out beat is one output pixel, n lanes to
	// out + p*pitch.
	vf := fieldOf(yLay.Fields, "values")
	m.If(dnOn, func() {
		m.Set(drain, dec(drain))
		m.If(drain.EqConst(0), func() { m.Set(dnOn, zero(1)) })
	})
	// A fused activate's pooling control goes out once the results before
	// it have landed (the pipeline is empty), then its writes start.
	inCompute := cOn
	var fzP poolCtl
	if pc.Pool {
		fzP = poolOf("fz_pool_", fzSet)
	}
	fzGo := fz.EqConst(1).And(dnOn.Not()).And(pValid.Not()).And(inCompute)
	if cfg.Mutant == CoreMutantFuseEarly {
		fzGo = fz.EqConst(1).And(pValid.Not()).And(inCompute)
	}
	m.If(fzGo, func() {
		sendPool(fzSet, fzP, fzFH, fzFW)
		m.Set(acWA, fzWA)
		m.Set(dnN, fzN)
		m.Set(dnPitch, fzPitch)
		m.Set(dnLo, fzLo)
		m.Set(dnHi, fzHi)
		m.Set(fz, m.Const(2, hdl.U(2)))
	})
	m.If(fz.EqConst(2).And(pValid.Not()), func() { m.Set(fz, m.Const(3, hdl.U(2))) })
	m.If(ubLanding, func() {
		m.Set(ub.we, one(1))
		m.Set(ub.wbase, acWA)
		m.Set(ub.wcount, dnN.Trunc(4))
		for j := 0; j < C && j < CoreBeatBytes; j++ {
			m.Set(ub.wdata[j], yData.Slice(vf.LSB+8*j+7, vf.LSB+8*j))
		}
		m.Set(acWA, acWA.Add(u(dnPitch, core.AddrBits)).Trunc(core.AddrBits))
	})

	// Performance counters (TPU v1's Table 3): cycles a program ran,
	// activation beats of MATMUL and CONVOLVE entering the array, cycles a
	// tile's first beat waited for its weights, useful MACs.
	m.Set(running, state.Ne(st(csClear)).And(state.Ne(st(csClearAcc))).And(state.Ne(st(csIdle))).And(state.Ne(st(csDone))).And(state.Ne(st(csError))))
	m.If(running, func() { m.Set(cycles, inc(cycles)) })
	inMM, inConv := cMM, cCV
	m.If(inMM.Or(inConv).And(aValid).And(aReady), func() { m.Set(busy, inc(busy)) })
	firstBeat := inMM.And(asPendFirst).Or(inConv.And(cgRow.EqConst(0)))
	m.If(inMM.Or(inConv).And(aValid).And(aReady.Not()).And(firstBeat), func() { m.Set(wstall, inc(wstall)) })

	// AXI4-Lite: a write needs its address and data together; one
	// response outstanding per channel.
	wFire := m.Wire("axi_w_fire", hdl.U(1))
	m.Set(wFire, awvalid.And(wvalid).And(bvalid.Not()))
	m.Set(awready, wFire)
	m.Set(wready, wFire)
	m.Set(bresp, zero(2))
	m.Set(rresp, zero(2))
	m.If(bvalid.And(bready), func() { m.Set(bvalid, zero(1)) })
	ctrlWrite := wFire.And(awaddr.Slice(coreRegAddrBit-1, 2).EqConst(RegControl / 4)).And(wstrb.Bit(0))
	m.If(wFire, func() { m.Set(bvalid, one(1)) })
	// A soft reset puts every controller register that has a reset value
	// back to it (stream handshakes with the matrix unit, held beats,
	// flags, counters), as rst does; the AXI responses still in flight
	// keep theirs, and soft_rst carries the reset on to the matrix unit.
	softKeep := map[*hdl.Signal]bool{bvalid.Signal(): true, rdata.Signal(): true, rvalid.Signal(): true, softRst.Signal(): true}
	softReset := ctrlWrite.And(wdata.Bit(1))
	m.Set(softRst, softReset)
	m.If(softReset, func() {
		for _, sig := range m.Signals() {
			if sig.IsReg() && sig.Reset() != nil && !softKeep[sig] {
				m.Set(sig.Expr(), m.ConstBig(sig.Reset(), sig.Shape()))
			}
		}
	}).ElseIf(ctrlWrite.And(wdata.Bit(0)).And(state.Eq(st(csIdle)).Or(state.Eq(st(csDone)))), func() {
		m.Set(state, st(csFetch))
		m.Set(pcReg, zero(32))
		m.Set(irLast, zero(1))
		m.Set(lastSeen, zero(1))
	})

	status := hdl.Cat(zero(16), errCode, zero(4), state.Eq(st(csIdle)), state.Eq(st(csError)), state.Eq(st(csDone)), running)
	m.Set(arready, rvalid.Not())
	m.If(rvalid.And(rready), func() { m.Set(rvalid, zero(1)) })
	m.If(arvalid.And(rvalid.Not()), func() {
		m.Set(rvalid, one(1))
		m.Set(rdata, zero(32))
		m.Switch(araddr.Slice(coreRegAddrBit-1, 2), func(sw *hdl.SwitchBuilder) {
			sw.Case([]int64{RegStatus / 4}, func() { m.Set(rdata, status) })
			sw.Case([]int64{RegPC / 4}, func() { m.Set(rdata, pcReg) })
			for i, cnt := range []*hdl.Expr{cycles, busy, wstall, macs} {
				base := int64(RegCycles/4 + 2*i)
				sw.Case([]int64{base}, func() { m.Set(rdata, cnt.Slice(31, 0)) })
				sw.Case([]int64{base + 1}, func() { m.Set(rdata, cnt.Slice(63, 32)) })
			}
		})
	})
	return c, nil
}
