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
}

// Validate checks what the ISA (core.Config) and the banked memories need.
func (c CoreConfig) Validate() error {
	if err := (core.Config{Arch: c.Arch, UBBytes: c.UBBytes, WeightBytes: c.WeightBytes}).Validate(); err != nil {
		return err
	}
	var errs []error
	if c.Matrix.Dataflow.IsOS() {
		errs = append(errs, errors.New("core: needs the weight-stationary array (dataflow ws)"))
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
}

// Controller states.
const (
	csClear  = iota // writing every memory word's written bit to 0 after reset
	csIdle          // waiting for start
	csFetch         // waiting for an instruction word
	csDecode        // checking the instruction
	csRead          // host stream → UB or weight memory, a byte a cycle
	csWHRead        // write_host: read a UB byte
	csWHGet         // write_host: check and pack the byte
	csWHSend        // write_host: send a beat
	csDone          // after HALT: waiting for start
	csError         // stopped on an error: waiting for soft reset
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
		{Name: "control", Addr: RegControl, Access: "w", Doc: "write start (a program from pc 0, when idle or done) or soft_reset (back to the reset state: memories marked unwritten, counters cleared)",
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

// byteMemory is a byte-addressed memory of CoreBeatBytes banks of 9-bit
// words (a byte and its written bit): one read and one write port of a
// byte per cycle, and a clear that writes one word of every bank.
type byteMemory struct {
	banks    []*hdl.Memory
	rdata    []*hdl.Expr
	wordBits int
	// Controls, combinational; zero unless the controller sets them.
	we, clear, re *hdl.Expr
	waddr, raddr  *hdl.Expr // byte addresses (core.AddrBits)
	wdata         *hdl.Expr // 8 bits
	rbank         *hdl.Expr // bank of the last read (register)
}

func newByteMemory(m *hdl.Module, name string, bytes int, clrAddr *hdl.Expr, reads bool) *byteMemory {
	words := bytes / CoreBeatBytes
	bm := &byteMemory{
		we: m.Wire(name+"_we", hdl.U(1)), clear: m.Wire(name+"_clear", hdl.U(1)),
		waddr: m.Wire(name+"_waddr", hdl.U(core.AddrBits)), wdata: m.Wire(name+"_wdata", hdl.U(8)),
	}
	for _, w := range []*hdl.Expr{bm.we, bm.clear} {
		m.Set(w, m.Lit(0, 1))
	}
	m.Set(bm.waddr, m.Lit(0, core.AddrBits))
	m.Set(bm.wdata, m.Lit(0, 8))
	if reads {
		bm.re, bm.raddr, bm.rbank = m.Wire(name+"_re", hdl.U(1)), m.Wire(name+"_raddr", hdl.U(core.AddrBits)), m.Reg(name+"_rbank", hdl.U(3))
		m.Set(bm.re, m.Lit(0, 1))
		m.Set(bm.raddr, m.Lit(0, core.AddrBits))
	}
	for b := 0; b < CoreBeatBytes; b++ {
		mem := m.Memory(fmt.Sprintf("%s_bank_%d", name, b), hdl.U(9), words, nil)
		bm.banks = append(bm.banks, mem)
		bm.wordBits = mem.AddrWidth()
	}
	wb := bm.wordBits
	word := func(a *hdl.Expr) *hdl.Expr { return a.Slice(2+wb, 3) }
	clrWord := clrAddr.Trunc(wb)
	if clrAddr.Width() < wb {
		clrWord = hdl.ZExt(clrAddr, wb)
	}
	inRange := hdl.ZExt(clrAddr, clrAddr.Width()+1).Lt(m.Const(int64(words), hdl.U(clrAddr.Width()+1)))
	for b, mem := range bm.banks {
		if reads {
			bm.rdata = append(bm.rdata, mem.Read(fmt.Sprintf("%s_rd_%d", name, b), word(bm.raddr), bm.re))
		}
		hit := bm.waddr.Slice(2, 0).EqConst(int64(b))
		// One write port per bank (block RAM): the clear and the
		// controller's writes share it.
		m.If(bm.clear.And(inRange).Or(bm.we.And(hit)), func() {
			mem.Write(hdl.Mux(bm.clear, clrWord, word(bm.waddr)), hdl.Mux(bm.clear, m.Lit(0, 9), hdl.Cat(m.Lit(1, 1), bm.wdata)))
		})
	}
	if reads {
		m.If(bm.re, func() { m.Set(bm.rbank, bm.raddr.Slice(2, 0)) })
	}
	return bm
}

// read returns the word (written bit, byte) read by the last cycle's read.
func (bm *byteMemory) read(m *hdl.Module, name string) *hdl.Expr {
	w := m.Wire(name, hdl.U(9))
	m.Set(w, bm.rdata[0])
	m.Switch(bm.rbank, func(sw *hdl.SwitchBuilder) {
		for b := 1; b < CoreBeatBytes; b++ {
			sw.Case([]int64{int64(b)}, func() { m.Set(w, bm.rdata[b]) })
		}
	})
	return w
}

// NewCore builds the core top.
func NewCore(cfg CoreConfig) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := hdl.NewModule("tpu_core")
	m.Comment("tpugen core: %d-byte unified buffer, %d-byte weight memory, %dx%d matrix unit; ISA in the manifest.",
		cfg.UBBytes, cfg.WeightBytes, cfg.Matrix.Rows, cfg.Matrix.Cols)
	c := &Core{Module: m, Streams: coreStreams(), Registers: CoreRegisters()}
	lay := func(name string) arch.Layout {
		for _, l := range c.Streams {
			if l.Name == name {
				return l
			}
		}
		panic("blocks: no core stream " + name)
	}
	iIn := m.InStream(arch.StreamI, hdl.U(lay(arch.StreamI).Width))
	dIn := m.InStream(arch.StreamD, hdl.U(lay(arch.StreamD).Width))
	oOut := m.OutStream(arch.StreamO, hdl.U(lay(arch.StreamO).Width))

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

	sb := hdl.BitsFor(csStates - 1)
	st := func(s int) *hdl.Expr { return m.Const(int64(s), hdl.U(sb)) }
	state := m.Reg("state", hdl.U(sb), hdl.ResetTo(csClear))
	maxWords := cfg.UBBytes / CoreBeatBytes
	cw := hdl.BitsFor(maxWords)
	clr := m.Reg("clr", hdl.U(cw), hdl.ResetTo(0))
	pc := m.Reg("pc", hdl.U(32), hdl.ResetTo(0))
	ir := m.Reg("ir", hdl.U(core.WordBits))
	irLast := m.Reg("ir_last", hdl.U(1), hdl.ResetTo(0))
	errCode := m.Reg("err_code", hdl.U(8), hdl.ResetTo(0))
	addr := m.Reg("addr", hdl.U(core.AddrBits))
	rem := m.Reg("rem", hdl.U(core.AddrBits))
	toWeights := m.Reg("to_weights", hdl.U(1))
	one := func(w int) *hdl.Expr { return m.Lit(1, w) }
	inc := func(e *hdl.Expr) *hdl.Expr { return e.Add(one(1)).Trunc(e.Width()) }
	dec := func(e *hdl.Expr) *hdl.Expr { return e.Sub(one(1)).Trunc(e.Width()) }

	ub := newByteMemory(m, "ub", cfg.UBBytes, clr, true)
	// The weight memory arrives with MATMUL, its first reader; until then
	// READ_WEIGHTS checks its range and consumes its bytes.
	ubWord := ub.read(m, "ub_word")

	// The host data stream: one beat held, its bytes consumed in order
	// (keep marks the valid bytes, from lane 0); last ends the host's data.
	dHeld := m.Reg("d_held", hdl.U(1), hdl.ResetTo(0))
	dData := m.Reg("d_data", hdl.U(8*CoreBeatBytes))
	dKeep := m.Reg("d_keep", hdl.U(CoreBeatBytes))
	dIdx := m.Reg("d_idx", hdl.U(4))
	lastSeen := m.Reg("d_last_seen", hdl.U(1), hdl.ResetTo(0))
	idxOK := dIdx.Lt(m.Const(CoreBeatBytes, hdl.U(4)))
	keepBit := dKeep.ShrBy(dIdx.Trunc(3)).Bit(0)
	dAvail := m.Wire("d_avail", hdl.U(1))
	m.Set(dAvail, dHeld.And(idxOK).And(keepBit))
	dByte := m.Wire("d_byte", hdl.U(8))
	m.Set(dByte, dData.ShrBy(hdl.Cat(dIdx.Trunc(3), m.Lit(0, 3))).Trunc(8))
	dTake := m.Wire("d_take", hdl.U(1))
	m.Set(dTake, m.Lit(0, 1))
	// Data flows only while a program runs, so last always ends the
	// running program's data.
	running := m.Wire("running", hdl.U(1))
	m.Set(dIn.Ready, dHeld.Not().And(lastSeen.Not()).And(running))
	dl := lay(arch.StreamD)
	m.If(dIn.Fire(), func() {
		m.Set(dHeld, one(1))
		m.Set(dData, dIn.Data.Slice(8*CoreBeatBytes-1, 0))
		m.Set(dKeep, dIn.Data.Slice(dl.Field("keep").LSB+CoreBeatBytes-1, dl.Field("keep").LSB))
		m.Set(dIdx, m.Lit(0, 4))
		m.Set(lastSeen, dIn.Data.Bit(dl.Field("last").LSB))
	}).ElseIf(dTake, func() {
		m.Set(dIdx, inc(dIdx))
	}).ElseIf(dHeld.And(dAvail.Not()), func() {
		m.Set(dHeld, m.Lit(0, 1))
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
		obCat[CoreBeatBytes-1-i] = hdl.Mux(keep[CoreBeatBytes-1-i], ob[i], m.Lit(0, 8))
	}
	m.Set(oOut.Valid, state.Eq(st(csWHSend)))
	m.Set(oOut.Data, hdl.Cat(rem.EqConst(0).Or(errPending), hdl.Cat(keep...), hdl.Cat(obCat...)))

	fail := func(code core.ErrorCode) {
		m.Set(errCode, m.Const(int64(code), hdl.U(8)))
		m.Set(state, st(csError))
	}
	next := func() {
		m.Set(pc, inc(pc))
		m.Set(state, st(csFetch))
	}
	field := func(op core.Opcode, name string) *hdl.Expr {
		f := isaField(op, name)
		return ir.Slice(f.LSB+f.Width-1, f.LSB)
	}
	past := func(a, n *hdl.Expr, size int) *hdl.Expr {
		return a.Add(n).Gt(m.Const(int64(size), hdl.U(core.AddrBits+1)))
	}

	m.Set(iIn.Ready, m.Lit(0, 1))
	m.Switch(state, func(sw *hdl.SwitchBuilder) {
		sw.Case([]int64{csClear}, func() {
			m.Set(ub.clear, one(1))
			m.Set(clr, inc(clr))
			m.If(clr.EqConst(int64(maxWords-1)), func() { m.Set(state, st(csIdle)) })
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
			m.Switch(ir.Slice(core.OpcodeBits-1, 0), func(sw *hdl.SwitchBuilder) {
				legal := func(op core.Opcode, f func()) {
					sw.Case([]int64{int64(op)}, func() {
						m.If(reservedBits(m, ir, op), func() { fail(core.ErrIllegalOpcode) }).Else(f)
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
							m.Set(toWeights, m.Lit(0, 1))
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
				sw.Default(func() { fail(core.ErrIllegalOpcode) })
			})
		})
		sw.Case([]int64{csRead}, func() {
			m.If(rem.EqConst(0), next).ElseIf(dAvail, func() {
				m.Set(dTake, one(1))
				m.If(toWeights.Not(), func() {
					m.Set(ub.we, one(1))
					m.Set(ub.waddr, addr)
					m.Set(ub.wdata, dByte)
				})
				m.Set(addr, inc(addr))
				m.Set(rem, dec(rem))
			}).ElseIf(dHeld.Not().And(lastSeen), func() { fail(core.ErrHostUnderflow) })
		})
		sw.Case([]int64{csWHRead}, func() {
			m.If(rem.EqConst(0), next).Else(func() {
				m.Set(ub.re, one(1))
				m.Set(ub.raddr, addr)
				m.Set(state, st(csWHGet))
			})
		})
		sw.Case([]int64{csWHGet}, func() {
			m.If(ubWord.Bit(8).Not(), func() {
				m.Set(errCode, m.Const(int64(core.ErrUnwritten), hdl.U(8)))
				m.If(oCount.EqConst(0), func() { fail(core.ErrUnwritten) }).Else(func() {
					m.Set(errPending, one(1))
					m.Set(state, st(csWHSend))
				})
			}).Else(func() {
				m.Switch(oCount.Trunc(3), func(sw *hdl.SwitchBuilder) {
					for i := range ob {
						sw.Case([]int64{int64(i)}, func() { m.Set(ob[i], ubWord.Slice(7, 0)) })
					}
				})
				m.Set(oCount, inc(oCount))
				m.Set(addr, inc(addr))
				m.Set(rem, dec(rem))
				m.If(oCount.EqConst(CoreBeatBytes-1).Or(rem.EqConst(1)), func() {
					m.Set(state, st(csWHSend))
				}).Else(func() { m.Set(state, st(csWHRead)) })
			})
		})
		sw.Case([]int64{csWHSend}, func() {
			m.If(oOut.Ready, func() {
				m.Set(oCount, m.Lit(0, 4))
				m.If(errPending, func() {
					m.Set(errPending, m.Lit(0, 1))
					m.Set(state, st(csError))
				}).ElseIf(rem.EqConst(0), next).Else(func() { m.Set(state, st(csWHRead)) })
			})
		})
	})

	// Performance counters (TPU v1's Table 3): cycles a program runs.
	m.Set(running, state.Ne(st(csClear)).And(state.Ne(st(csIdle))).And(state.Ne(st(csDone))).And(state.Ne(st(csError))))
	cycles := m.Reg("cnt_cycles", hdl.U(64), hdl.ResetTo(0))
	busy := m.Reg("cnt_busy", hdl.U(64), hdl.ResetTo(0))
	wstall := m.Reg("cnt_wstall", hdl.U(64), hdl.ResetTo(0))
	macs := m.Reg("cnt_macs", hdl.U(64), hdl.ResetTo(0))
	m.If(running, func() { m.Set(cycles, inc(cycles)) })

	// AXI4-Lite: a write needs its address and data together; one
	// response outstanding per channel.
	wFire := m.Wire("axi_w_fire", hdl.U(1))
	m.Set(wFire, awvalid.And(wvalid).And(bvalid.Not()))
	m.Set(awready, wFire)
	m.Set(wready, wFire)
	m.Set(bresp, m.Lit(0, 2))
	m.Set(rresp, m.Lit(0, 2))
	m.If(bvalid.And(bready), func() { m.Set(bvalid, m.Lit(0, 1)) })
	ctrlWrite := wFire.And(awaddr.Slice(coreRegAddrBit-1, 2).EqConst(RegControl / 4)).And(wstrb.Bit(0))
	m.If(wFire, func() { m.Set(bvalid, one(1)) })
	m.If(ctrlWrite.And(wdata.Bit(1)), func() {
		m.Set(state, st(csClear))
		m.Set(clr, m.Lit(0, cw))
		m.Set(pc, m.Lit(0, 32))
		m.Set(errCode, m.Lit(0, 8))
		m.Set(irLast, m.Lit(0, 1))
		m.Set(dHeld, m.Lit(0, 1))
		m.Set(lastSeen, m.Lit(0, 1))
		m.Set(oCount, m.Lit(0, 4))
		m.Set(errPending, m.Lit(0, 1))
		for _, cnt := range []*hdl.Expr{cycles, busy, wstall, macs} {
			m.Set(cnt, m.Lit(0, 64))
		}
	}).ElseIf(ctrlWrite.And(wdata.Bit(0)).And(state.Eq(st(csIdle)).Or(state.Eq(st(csDone)))), func() {
		m.Set(state, st(csFetch))
		m.Set(pc, m.Lit(0, 32))
		m.Set(irLast, m.Lit(0, 1))
		m.Set(lastSeen, m.Lit(0, 1))
	})

	status := hdl.Cat(m.Lit(0, 16), errCode, m.Lit(0, 4), state.Eq(st(csIdle)), state.Eq(st(csError)), state.Eq(st(csDone)), running)
	m.Set(arready, rvalid.Not())
	m.If(rvalid.And(rready), func() { m.Set(rvalid, m.Lit(0, 1)) })
	m.If(arvalid.And(rvalid.Not()), func() {
		m.Set(rvalid, one(1))
		m.Set(rdata, m.Lit(0, 32))
		m.Switch(araddr.Slice(coreRegAddrBit-1, 2), func(sw *hdl.SwitchBuilder) {
			sw.Case([]int64{RegStatus / 4}, func() { m.Set(rdata, status) })
			sw.Case([]int64{RegPC / 4}, func() { m.Set(rdata, pc) })
			for i, cnt := range []*hdl.Expr{cycles, busy, wstall, macs} {
				base := int64(RegCycles/4 + 2*i)
				sw.Case([]int64{base}, func() { m.Set(rdata, cnt.Slice(31, 0)) })
				sw.Case([]int64{base + 1}, func() { m.Set(rdata, cnt.Slice(63, 32)) })
			}
		})
	})
	return c, nil
}
