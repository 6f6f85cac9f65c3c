package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"

	"github.com/google/go-cmp/cmp"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/verify/sim"
)

// CoreRTL is a generated core (a manifest with a core section) ready to
// run programs in the simulators.
type CoreRTL struct {
	Man    *arch.Manifest
	Config core.Config
	Top    *sim.CoreTop
}

// NewCoreRTL reads the core's description from its manifest: stream
// layouts, register addresses and status bits come from there.
func NewCoreRTL(man *arch.Manifest, dir string) (*CoreRTL, error) {
	if man.Core == nil {
		return nil, fmt.Errorf("core: %s has no core (add a \"core\" key to the configuration)", man.Config.Name)
	}
	// Programs are encoded by core's table: the core in dir must decode the
	// same encoding, which its manifest records.
	var isa core.Encoding
	if err := json.Unmarshal(man.Core.ISA, &isa); err != nil {
		return nil, fmt.Errorf("core: manifest isa: %w", err)
	}
	if !cmp.Equal(isa, core.Encode()) {
		return nil, fmt.Errorf("core: the manifest's instruction encoding is not this tpugen's: regenerate %s", dir)
	}
	t := &sim.CoreTop{Name: man.Top}
	// The simulators build in their own directories.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	for _, f := range man.Files {
		t.Files = append(t.Files, filepath.Join(dir, f.Name))
	}
	t.InstBits, t.DataBits, t.OutBits = man.Stream(arch.StreamI).Width, man.Stream(arch.StreamD).Width, man.Stream(arch.StreamO).Width
	reg := func(name string) *arch.Register {
		for i := range man.Core.Registers {
			if man.Core.Registers[i].Name == name {
				return &man.Core.Registers[i]
			}
		}
		return nil
	}
	bit := func(r *arch.Register, name string) (int, error) {
		for _, f := range r.Fields {
			if f.Name == name {
				return f.LSB, nil
			}
		}
		return 0, fmt.Errorf("core: register %s has no field %s", r.Name, name)
	}
	ctrl, status := reg("control"), reg("status")
	if ctrl == nil || status == nil {
		return nil, errors.New("core: the manifest has no control or status register")
	}
	t.ControlAddr, t.StatusAddr = ctrl.Addr, status.Addr
	var errs []error
	t.StartBit, err = bit(ctrl, "start")
	errs = append(errs, err)
	t.SoftResetBit, err = bit(ctrl, "soft_reset")
	errs = append(errs, err)
	t.IdleBit, err = bit(status, "idle")
	errs = append(errs, err)
	t.DoneBit, err = bit(status, "done")
	errs = append(errs, err)
	t.ErrorBit, err = bit(status, "error")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, r := range man.Core.Registers {
		if r.Access != "w" {
			t.Registers = append(t.Registers, sim.CoreReg{Name: r.Name, Addr: r.Addr})
		}
	}
	cfg := core.Config{Arch: man.Config, UBBytes: man.Core.UBBytes, WeightBytes: man.Core.WeightBytes}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &CoreRTL{Man: man, Config: cfg, Top: t}, nil
}

// CoreOutcome is what a program did on the RTL core, as the host sees it.
type CoreOutcome struct {
	Out      []byte // the result stream's bytes
	Done     bool   // status done (HALT)
	Code     core.ErrorCode
	PC       int
	Counters CoreCounters
	// Violations are the AXI handshake checker's reports (none expected).
	Violations []string
	TBCycles   int // testbench cycles from reset to the last register read
	Sim        string
}

// CoreCounters are the core's performance counters.
type CoreCounters struct {
	Cycles, Busy, WStall, MACs uint64
}

// CoreRunOptions shape a run without changing its outcome.
type CoreRunOptions struct {
	Seed         uint32
	StallPercent int
	MaxCycles    int
	BreakValid   bool // the testbench breaks the AXI rule once (checker self-test)
	Sim          sim.Options
	// ThenWords, when set, is a program run after a soft reset written at
	// testbench cycle SoftResetAt (0: once the first program stops); the
	// outcome is ThenWords' alone, with ThenIn as its host data.
	ThenWords   []core.Word
	ThenIn      []byte
	SoftResetAt int
}

// InstBeats packs a program as i_in payloads (last set on the final word).
func (c *CoreRTL) InstBeats(words []core.Word) []*big.Int {
	l := c.Man.Stream(arch.StreamI)
	inst, last := l.Field("inst"), l.Field("last")
	var beats []*big.Int
	for i, w := range words {
		v := new(big.Int)
		for j := len(w) - 1; j >= 0; j-- {
			v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(w[j]))
		}
		v.Lsh(v, uint(inst.LSB))
		if i == len(words)-1 {
			v.SetBit(v, last.LSB, 1)
		}
		beats = append(beats, v)
	}
	return beats
}

// DataBeats packs the host stream's bytes as d_in payloads; the final beat
// carries last (an empty stream is one empty beat with last, so a transfer
// that needs data fails as an underflow instead of waiting).
func (c *CoreRTL) DataBeats(in []byte) ([]*big.Int, error) {
	l := c.Man.Stream(arch.StreamD)
	n := l.Field("data").Lanes
	var beats []*big.Int
	for i := 0; i == 0 || i < len(in); i += n {
		chunk := in[i:min(i+n, len(in))]
		data, keep := make([]int64, len(chunk)), make([]int64, len(chunk))
		for k, b := range chunk {
			data[k], keep[k] = int64(int8(b)), 1
		}
		lastV := int64(0)
		if i+n >= len(in) {
			lastV = 1
		}
		v, err := l.Pack(arch.Values{"data": data, "keep": keep, "last": {lastV}})
		if err != nil {
			return nil, fmt.Errorf("core: d_in: %w", err)
		}
		beats = append(beats, v)
	}
	return beats, nil
}

// Run runs a program with its host stream on the RTL core.
func (c *CoreRTL) Run(ctx context.Context, simName string, words []core.Word, in []byte, opt CoreRunOptions) (*CoreOutcome, error) {
	data, err := c.DataBeats(in)
	if err != nil {
		return nil, err
	}
	stim := &sim.CoreStimulus{Inst: c.InstBeats(words), Data: data, Seed: opt.Seed, StallPercent: opt.StallPercent,
		MaxCycles: opt.MaxCycles, BreakValid: opt.BreakValid}
	if opt.ThenWords != nil {
		then, err := c.DataBeats(opt.ThenIn)
		if err != nil {
			return nil, err
		}
		stim.After = &sim.CoreStimulus{Inst: c.InstBeats(opt.ThenWords), Data: then}
		stim.SoftResetAt = opt.SoftResetAt
	}
	res, err := sim.RunCore(ctx, simName, c.Top, stim, opt.Sim)
	if err != nil {
		return nil, err
	}
	o := &CoreOutcome{Violations: res.Violation, TBCycles: res.Cycles, Sim: res.Sim}
	l := c.Man.Stream(arch.StreamO)
	df, kf := l.Field("data"), l.Field("keep")
	for _, beat := range res.Out {
		vals, keep := df.Unpack(beat), kf.Unpack(beat)
		for k := range vals {
			if keep[k] != 0 {
				o.Out = append(o.Out, byte(vals[k]))
			}
		}
	}
	need := func(name string) (uint64, error) {
		v, ok := res.Regs[name]
		if !ok {
			return 0, fmt.Errorf("core: register %s was not read back", name)
		}
		return v, nil
	}
	var errs []error
	get := func(name string) uint64 {
		v, err := need(name)
		errs = append(errs, err)
		return v
	}
	wide := func(name string) uint64 { return get(name+"_lo") | get(name+"_hi")<<32 }
	status := get("status")
	o.PC = int(get("pc"))
	o.Counters = CoreCounters{Cycles: wide("cycles"), Busy: wide("busy"), WStall: wide("wstall"), MACs: wide("macs")}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t := c.Top
	o.Done = status>>t.DoneBit&1 != 0
	if status>>t.ErrorBit&1 != 0 {
		o.Code = core.ErrorCode(status >> 8 & 0xff)
	}
	return o, nil
}

// Expected is what core.Machine says the program does, as a CoreOutcome
// (Out, Done, Code, PC and the MACs counter).
func (c *CoreRTL) Expected(words []core.Word, in []byte) (*CoreOutcome, error) {
	m, err := core.NewMachine(c.Config)
	if err != nil {
		return nil, err
	}
	out, err := m.Run(words, in)
	o := &CoreOutcome{Out: out, PC: m.PC, Done: err == nil, Counters: CoreCounters{MACs: uint64(m.Stats.MACs)}}
	if err != nil {
		var f *core.Fault
		if !errors.As(err, &f) {
			return nil, err
		}
		o.Code = f.Code
	}
	return o, nil
}

// CompareCore reports how the RTL's outcome differs from the model's:
// the output stream, done, the error code, the pc and the useful-MACs
// counter (nil if equal).
func CompareCore(want, got *CoreOutcome) error {
	var errs []error
	if string(want.Out) != string(got.Out) {
		n := 0
		for n < min(len(want.Out), len(got.Out)) && want.Out[n] == got.Out[n] {
			n++
		}
		errs = append(errs, fmt.Errorf("output: %d bytes, want %d; first difference at byte %d", len(got.Out), len(want.Out), n))
	}
	if want.Done != got.Done || want.Code != got.Code {
		errs = append(errs, fmt.Errorf("status: done %v error %d (%v), want done %v error %d (%v)", got.Done, got.Code, got.Code, want.Done, want.Code, want.Code))
	}
	if want.Counters.MACs != got.Counters.MACs {
		errs = append(errs, fmt.Errorf("useful MACs counter %d, want %d", got.Counters.MACs, want.Counters.MACs))
	}
	if want.PC != got.PC {
		errs = append(errs, fmt.Errorf("pc %d, want %d", got.PC, want.PC))
	}
	if len(got.Violations) > 0 {
		errs = append(errs, fmt.Errorf("AXI protocol: %d violations, first: %s", len(got.Violations), got.Violations[0]))
	}
	return errors.Join(errs...)
}

// CoreExecutor runs program segments (compile.Executor) on the RTL core,
// one simulation per segment, and sums the counters of every run.
type CoreExecutor struct {
	RTL   *CoreRTL
	Sim   string // "icarus" or "verilator"
	Opt   CoreRunOptions
	Total CoreCounters
	Runs  int
}

// Run runs one segment.
func (x *CoreExecutor) Run(words []core.Word, in []byte) ([]byte, error) {
	o, err := x.RTL.Run(context.Background(), x.Sim, words, in, x.Opt)
	if err != nil {
		return nil, err
	}
	x.Runs++
	x.Total.Cycles += o.Counters.Cycles
	x.Total.Busy += o.Counters.Busy
	x.Total.WStall += o.Counters.WStall
	x.Total.MACs += o.Counters.MACs
	if len(o.Violations) > 0 {
		return o.Out, fmt.Errorf("core: AXI protocol: %s", o.Violations[0])
	}
	if !o.Done {
		return o.Out, &core.Fault{Code: o.Code, PC: o.PC, Msg: "the RTL core stopped"}
	}
	return o.Out, nil
}
