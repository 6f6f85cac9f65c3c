package verify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/verify/sim"
)

// CoreRegressVersion numbers the core regression's programs. Version 3
// changed the random programs (fused activates, transfers behind the
// compute engine, kernels up to 9x7), so a mutation result counts only for
// the version that ran it.
const CoreRegressVersion = 3

// CoreCase is one program of the core regression with its host stream.
type CoreCase struct {
	Name  string
	Words []core.Word
	In    []byte
	// Code is the fault core.Machine must stop with (ErrNone: HALT); a
	// directed case states it so that a change of the model that misses
	// the fault is noticed instead of silently weakening the case.
	Code core.ErrorCode
	// Any accepts whatever the model does (random programs).
	Any   bool
	Stall int // percent of cycles each stream and register channel stalls
	Seed  uint32
}

// CoreDirected returns one program per error code of core.Machine, for
// every instruction that can raise it, and a clean one, sized for cfg (an
// address just past each buffer, the accumulator's last rows, one lane too
// many), plus an illegal opcode and a reserved bit set.
func CoreDirected(cfg core.Config) ([]CoreCase, error) {
	U, W, C, D := cfg.UBBytes, cfg.WeightBytes, cfg.Arch.Cols, cfg.Arch.AccDepth
	P := core.ParamBlockBytes(C)
	bytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + 11)
		}
		return b
	}
	zeros := func(n int) []byte { return make([]byte, n) }
	// Blocks packed by core's own layout: lane 1 shifting by 40, and a
	// table activation sent without its table.
	bad := &core.ParamSet{Lanes: make([]core.LaneParams, C)}
	bad.Lanes[1].Shift = 40
	badShift := bad.Bytes(C)
	PW := core.ParamWordBytes(C)
	tableMode := (&core.ParamSet{Act: arch.ActTable}).Bytes(C)[:PW]
	type dc struct {
		desc string
		src  string
		in   []byte
		code core.ErrorCode
	}
	// A long convolve of a one-pixel map: its padding makes as many
	// output rows as the accumulators hold (2*pad-3 a side, pad <= 31).
	longPad := 4
	for longPad < 31 && (2*longPad-1)*(2*longPad-1) <= D {
		longPad++
	}
	cases := []dc{
		{"round trip", "read_host ub=3 len=21\nread_weights waddr=5 len=9\nsync\nwrite_host ub=3 len=21\nwrite_host ub=10 len=1\nwrite_host ub=0 len=0\nhalt", bytes(30), core.ErrNone},
		{"unwritten", "read_host ub=0 len=12\nwrite_host ub=2 len=13\nhalt", bytes(12), core.ErrUnwritten},
		{"unwritten first", fmt.Sprintf("write_host ub=%d len=1\nhalt", U-56), nil, core.ErrUnwritten},
		{"ub range", fmt.Sprintf("read_host ub=%d len=7\nhalt", U-6), bytes(7), core.ErrUBRange},
		{"weight range", fmt.Sprintf("read_weights waddr=%d len=9\nhalt", W-8), bytes(9), core.ErrWeightRange},
		{"underflow", "read_host ub=0 len=17\nhalt", bytes(16), core.ErrHostUnderflow},
		{"underflow empty", "read_weights waddr=0 len=1\nhalt", nil, core.ErrHostUnderflow},
		{"no halt", "read_host ub=0 len=4\nsync", bytes(4), core.ErrNoHalt},
		// The compute instructions' faults (a parameter block of zeros is valid).
		{"params set", fmt.Sprintf("load_params set=%d len=%d\nhalt", cfg.Arch.ParamSets, P), zeros(P), core.ErrParamSet},
		{"params len", fmt.Sprintf("load_params set=0 len=%d\nhalt", P-4), zeros(P), core.ErrBadField},
		{"params shift", fmt.Sprintf("load_params set=1 len=%d\nhalt", P), badShift, core.ErrBadField},
		{"params short", fmt.Sprintf("load_params set=1 len=%d\nhalt", P), zeros(P - 104), core.ErrHostUnderflow},
		// A block of the words alone, for an activation without a table.
		{"params words", fmt.Sprintf("load_params set=1 len=%d\nhalt", PW), zeros(PW), core.ErrNone},
		{"params words table", fmt.Sprintf("load_params set=1 len=%d\nhalt", PW), tableMode, core.ErrBadField},
		{"params words short", fmt.Sprintf("load_params set=1 len=%d\nhalt", PW), zeros(PW - 48), core.ErrHostUnderflow},
		{"matmul lanes", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=%d\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=0\nhalt", 4*(C+1), C+1), bytes(16 + 4*(C+1)), core.ErrBadField},
		{"matmul ub", fmt.Sprintf("read_weights waddr=0 len=%d\nmatmul ub=%d m=4 k=4 waddr=0 n=%d acc=0\nhalt", 4*C, U-6, C), bytes(4 * C), core.ErrUBRange},
		{"matmul weights", fmt.Sprintf("read_host ub=0 len=16\nmatmul ub=0 m=4 k=4 waddr=%d n=%d acc=0\nhalt", W-8, C), bytes(16), core.ErrWeightRange},
		{"matmul acc", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=%d\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=%d\nhalt", 4*C, C, D-2), bytes(16 + 4*C), core.ErrAccRange},
		{"matmul unwritten weights", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=%d\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=0\nhalt", 4*C-1, C), bytes(15 + 4*C), core.ErrUnwritten},
		{"matmul unwritten acts", fmt.Sprintf("read_host ub=0 len=15\nread_weights waddr=0 len=%d\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=0\nhalt", 4*C, C), bytes(15 + 4*C), core.ErrUnwritten},
		{"activate unloaded", "activate acc=0 m=4 n=4 set=1 out=0 pitch=4\nhalt", nil, core.ErrParamSet},
		{"activate frames", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=5 n=4 set=0 out=0 pitch=4 fh=2 fw=1\nhalt", P), zeros(P), core.ErrBadField},
		{"activate pitch", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=3\nhalt", P), zeros(P), core.ErrBadField},
		{"activate acc", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=%d m=5 n=4 set=0 out=0 pitch=4\nhalt", P, D-4), zeros(P), core.ErrAccRange},
		{"activate out", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=8 n=4 set=0 out=%d pitch=4\nhalt", P, U-26), zeros(P), core.ErrUBRange},
		{"convolve window", "read_host ub=0 len=16\nread_weights waddr=0 len=64\nconvolve ub=0 h=2 w=2 c=4 k=3 waddr=0 n=1 acc=0\nhalt", bytes(80), core.ErrBadField},
		{"convolve c0", "read_host ub=0 len=16\nread_weights waddr=0 len=64\nconvolve ub=0 h=2 w=2 c=4 k=1 waddr=0 n=1 acc=0 c0=1\nhalt", bytes(80), core.ErrBadField},
		{"depthwise channels", "read_host ub=0 len=16\nread_weights waddr=0 len=64\nconvolve ub=0 h=2 w=2 c=4 k=1 waddr=0 n=2 acc=0 depthwise=1 c0=3\nhalt", bytes(80), core.ErrBadField},
		{"convolve unwritten", "read_host ub=0 len=15\nread_weights waddr=0 len=64\nconvolve ub=0 h=2 w=2 c=4 k=1 waddr=0 n=2 acc=0\nhalt", bytes(80), core.ErrUnwritten},
		{"convolve ub", fmt.Sprintf("read_weights waddr=0 len=64\nconvolve ub=%d h=4 w=4 c=4 k=1 waddr=0 n=2 acc=0\nhalt", U-56), bytes(64), core.ErrUBRange},
		// A fused activate: checked at once, then only the matmul or
		// convolve writing its rows and reading none of its output may follow.
		{"fused halt", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nhalt", P), zeros(P), core.ErrBadField},
		{"fused sync", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nsync\nhalt", P), zeros(P), core.ErrBadField},
		{"fused read_host", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nread_host ub=64 len=4\nhalt", P), zeros(P + 4), core.ErrBadField},
		{"fused read_weights", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nread_weights waddr=0 len=4\nhalt", P), zeros(P + 4), core.ErrBadField},
		{"fused load_params", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nload_params set=1 len=%d\nhalt", P, P), zeros(2 * P), core.ErrBadField},
		{"fused write_host", fmt.Sprintf("read_host ub=64 len=4\nload_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nwrite_host ub=64 len=4\nhalt", P), zeros(4 + P), core.ErrBadField},
		{"fused twice", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nactivate acc=0 m=4 n=4 set=0 out=0 pitch=4 fuse=1\nhalt", P), zeros(P), core.ErrBadField},
		{"fused checked", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=8 n=4 set=0 out=%d pitch=4 fuse=1\nhalt", P, U-26), zeros(P), core.ErrUBRange},
		{"fused acc", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=%d\nload_params set=0 len=%d\nactivate acc=1 m=4 n=4 set=0 out=64 pitch=4 fuse=1\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=0\nhalt", 4*C, P, C), append(bytes(16+4*C), zeros(P)...), core.ErrBadField},
		{"fused rows", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=%d\nload_params set=0 len=%d\nactivate acc=0 m=2 n=4 set=0 out=64 pitch=4 fuse=1\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=0\nhalt", 4*C, P, C), append(bytes(16+4*C), zeros(P)...), core.ErrBadField},
		{"fused over input", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=%d\nload_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=15 pitch=4 fuse=1\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=0\nhalt", 4*C, P, C), append(bytes(16+4*C), zeros(P)...), core.ErrBadField},
		{"fused convolve rows", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=64\nload_params set=0 len=%d\nactivate acc=0 m=3 n=2 set=0 out=64 pitch=2 fuse=1\nconvolve ub=0 h=2 w=2 c=4 k=1 waddr=0 n=2 acc=0\nhalt", P), append(bytes(80), zeros(P)...), core.ErrBadField},
		{"fused matmul", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=%d\nload_params set=0 len=%d\nactivate acc=0 m=4 n=4 set=0 out=64 pitch=4 fuse=1\nmatmul ub=0 m=4 k=4 waddr=0 n=%d acc=0\nwrite_host ub=64 len=16\nhalt", 4*C, P, C), append(bytes(16+4*C), zeros(P)...), core.ErrNone},
		// The compute engine runs a matmul behind host transfers: a fault
		// it finds late is its own (pc and code), even after a transfer
		// behind it has started; a transfer's fault waits for it to finish.
		{"engine fault behind transfer", fmt.Sprintf("read_host ub=0 len=63\nread_weights waddr=0 len=%d\nmatmul ub=0 m=16 k=4 waddr=0 n=%d acc=0\nread_weights waddr=%d len=64\nhalt", 4*C, C, 4*C), bytes(63 + 4*C + 64), core.ErrUnwritten},
		{"transfer fault behind engine", fmt.Sprintf("read_host ub=0 len=1\nread_weights waddr=0 len=100\nconvolve ub=0 h=1 w=1 c=1 k=5 pad=%d waddr=0 n=4 acc=0\nread_weights waddr=100 len=28\nhalt", longPad), bytes(1 + 100 + 8), core.ErrHostUnderflow},
		{"fused convolve", fmt.Sprintf("read_host ub=0 len=16\nread_weights waddr=0 len=64\nload_params set=0 len=%d\nactivate acc=0 m=4 n=2 set=0 out=64 pitch=2 fuse=1\nconvolve ub=0 h=2 w=2 c=4 k=1 waddr=0 n=2 acc=0\nwrite_host ub=64 len=8\nhalt", P), append(bytes(80), zeros(P)...), core.ErrNone},
	}
	// Shifts at both ends of their range and zero: the random layers'
	// shifts are all negative, so a range check that breaks only
	// non-negative shifts went unseen.
	bounds := &core.ParamSet{Lanes: make([]core.LaneParams, C)}
	for j := range bounds.Lanes {
		bounds.Lanes[j].Shift = []int32{30, -31, 0}[j%3]
	}
	blk := bounds.Bytes(C)
	cases = append(cases, dc{"params shift bounds", fmt.Sprintf("load_params set=0 len=%d\nhalt", len(blk)), blk, core.ErrNone})
	var out []CoreCase
	for _, c := range cases {
		w, err := core.Assemble(c.src)
		if err != nil {
			return nil, fmt.Errorf("core directed case %s: %w", c.desc, err)
		}
		out = append(out, CoreCase{Name: "directed " + c.desc, Words: w, In: c.in, Code: c.code, Stall: 30, Seed: 7})
	}
	illegal, err := core.Assemble("read_host ub=0 len=4\nsync\nhalt")
	if err != nil {
		return nil, err
	}
	illegal[1] = core.Word{12}
	reserved, err := core.Assemble("sync\nhalt")
	if err != nil {
		return nil, err
	}
	reserved[0][2] |= 1 << 5
	out = append(out, CoreCase{Name: "directed illegal", Words: illegal, In: bytes(4), Code: core.ErrIllegalOpcode},
		CoreCase{Name: "directed reserved", Words: reserved, Any: true})
	return out, nil
}

// CoreRandom returns n seeded random programs, in turn: host transfers
// that run to HALT, host transfers with one fault, a layer (parameters,
// one or two MATMULs, ACTIVATE with a random activation and pooling) and a
// convolution (the on-chip window generator), each with random stalls.
func CoreRandom(cfg core.Config, n int, seed uint64) []CoreCase {
	var out []CoreCase
	for i := 0; i < n; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i)<<8|0xC0))
		c := CoreCase{Any: true, Seed: uint32(seed)<<16 ^ uint32(i) + 1}
		switch i % 4 {
		case 0, 1:
			c.Name = fmt.Sprintf("random program %d", i)
			if i%4 == 1 {
				c.Name += " with a fault"
			}
			c.Words, c.In = RandomCoreProgram(r, cfg, 4+r.IntN(20), i%4 == 1)
			c.Stall = r.IntN(60)
		case 2:
			c.Name = fmt.Sprintf("random layer %d", i)
			c.Words, c.In = RandomComputeProgram(r, cfg)
			c.Stall = r.IntN(40)
		default:
			c.Name = fmt.Sprintf("random convolution %d", i)
			c.Words, c.In = RandomConvProgram(r, cfg)
			c.Stall = r.IntN(40)
		}
		out = append(out, c)
	}
	return out
}

// CoreRegressOptions configure CoreRegress.
type CoreRegressOptions struct {
	Random    int    // random programs after the directed ones
	Seed      uint64 // of the random programs
	Sim       string // "verilator" (default) or "icarus"
	MaxCycles int    // per program (0: 200,000; a hung core fails its case)
	SimOpt    sim.Options
}

// CoreRegress runs the core regression (CoreDirected, then CoreRandom) on
// the core in dir, one program at a time, each against core.Machine
// (CompareCore: output stream, status, pc, the MACs counter and the AXI
// protocol checker), and returns the first failing case ("" if none) and
// the cases run. It is the core's regression for a design that is not the
// generator's own (a mutant's directory, hand-edited RTL).
func CoreRegress(ctx context.Context, man *arch.Manifest, dir string, opt CoreRegressOptions) (string, int, error) {
	c, err := NewCoreRTL(man, dir)
	if err != nil {
		return "", 0, err
	}
	cases, err := CoreDirected(c.Config)
	if err != nil {
		return "", 0, err
	}
	cases = append(cases, CoreRandom(c.Config, opt.Random, opt.Seed)...)
	simName := opt.Sim
	if simName == "" {
		simName = "verilator"
	}
	maxCycles := opt.MaxCycles
	if maxCycles <= 0 {
		maxCycles = 200_000
	}
	for i, cc := range cases {
		want, err := c.Expected(cc.Words, cc.In)
		if err != nil {
			return "", i, fmt.Errorf("core case %s: model: %w", cc.Name, err)
		}
		if !cc.Any && want.Code != cc.Code {
			return "", i, fmt.Errorf("core case %s: the model stops with %v, the case is meant for %v", cc.Name, want.Code, cc.Code)
		}
		got, err := c.Run(ctx, simName, cc.Words, cc.In, CoreRunOptions{Seed: cc.Seed, StallPercent: cc.Stall, MaxCycles: maxCycles, Sim: opt.SimOpt})
		if err != nil {
			if ctx.Err() != nil {
				return "", i, ctx.Err()
			}
			// A build failure is the tools' (or the design's); anything
			// later is the run's outcome (a hang, x on a register).
			if msg := err.Error(); strings.Contains(msg, "verilator build") || strings.Contains(msg, "icarus compile") {
				return "", i + 1, err
			}
			return fmt.Sprintf("%s: %s", cc.Name, err), i + 1, nil
		}
		if err := CompareCore(want, got); err != nil {
			return fmt.Sprintf("%s: %s", cc.Name, strings.ReplaceAll(err.Error(), "\n", "; ")), i + 1, nil
		}
	}
	return "", len(cases), nil
}
