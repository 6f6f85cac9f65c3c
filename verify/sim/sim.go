// Package sim runs Verilog in Icarus Verilog and Verilator and
// returns what the design did, so that tests can compare it with the Go
// golden model.
//
// A design is described by Top (its ports, clock, reset and valid/ready
// streams) and a run by Stimulus (plain-input changes, stream payloads and
// stall patterns). For every design a harness is generated once (a Verilog
// testbench for Icarus, a C++ main for Verilator); it reads the stimulus from
// plain text files named by plusargs, so one build serves every run (a
// Verilator session, below, serves many runs from one process). Both
// simulators follow the cycle semantics described on Stimulus and produce
// identical results; Icarus is 4-state and reports x/z on sampled outputs,
// sink payloads and handshakes, Verilator is 2-state and fast, and its builds
// are cached.
//
// # Run files
//
// The files are plain text so that other testbenches can produce or consume
// them. Hex values are lower case, without prefix, ceil(width/4) digits
// (readers accept fewer); Icarus prints x or z digits for unknown bits. With
// k the index of a stream in Top.Sources or Top.Sinks:
//
//	file            plusarg         content
//	stim.txt        +stim=          "<cycle> <port-index> <hex>" per plain-input change,
//	                                sorted by cycle; port-index indexes Top.Ports
//	source<k>.txt   +src<k>=        one hex payload per line, in order
//	source<k>.stall +src<k>_stall=  one line per cycle from 0: 1 withholds valid, 0 not;
//	                                cycles after the last line do not stall
//	sink<k>.stall   +sink<k>_stall= the same for ready
//	                +expect<k>=     beats expected on sink k
//	                +cycles=        run exactly this many cycles (0: until the streams are done)
//	                +max_cycles=    cycle limit of a stream run
//	                +vcd=           write a VCD waveform here
//	source<k>.acc   +src<k>_acc=    output: "<cycle>" per accepted payload
//	sink<k>.out     +sink<k>_out=   output: "<cycle> <hex>" per beat
//	trace.txt       +trace=         output: "<cycle> <hex> <hex> ..." per cycle, one hex
//	                                per output port in Top.Ports order
//	status.txt      +status=        output, one line: "done <cycles>", "limit <cycles>" or
//	                                "x <cycle> <port>" (an x/z handshake; Icarus only)
//
// # Sessions
//
// Verilator.Open starts a session: a Verilator harness (built and cached
// like Run's, under its own key, with more C++ optimization since it lives
// long) that stays running and simulates one stimulus per Session.Run,
// exchanging binary messages over its stdin and stdout instead of files, so
// that thousands of runs pay for no process starts, no files and no text.
// Every run constructs a fresh model and resets it, so a session run gives
// the same Result as Verilator.Run of the same stimulus; traces and VCD
// waveforms are not supported (use Run). Stall functions are evaluated in Go
// up to the horizon of the stall files and sent as bitmaps.
//
// All words are 64-bit little-endian; a value of width w is ceil(w/64) limbs,
// least significant first. The harness greets with
//
//	"TPGSHELO" version ports sources sinks
//
// and then answers each request with one response:
//
//	request:  "TPGSRUN1" n  (n words follow:)
//	          cycles max-cycles linger changes
//	          per source: payloads stall-bits;  per sink: expected-beats stall-bits
//	          per change, sorted by cycle: cycle port-index limbs
//	          per source: its payloads' limbs
//	          per source, then per sink: stall bitmap, ceil(stall-bits/64) words,
//	          cycle c at bit c%64 of word c/64; cycles from stall-bits on do not stall
//	response: "TPGSRES1" n  (n words follow:)
//	          status (0 done, 1 cycle limit) cycles sim-nanoseconds
//	          per source: count, then the cycle of each accepted payload
//	          per sink: count, then per beat: cycle limbs
//
// The tags are ASCII read as little-endian words. The harness reads a whole
// request, simulates, then writes the whole response; end of input ends it.
// Whatever the design prints goes to stderr, which the session keeps for
// error messages when the harness dies.
//
// verify describes designs with its own small structs and must not import
// hdl, gen or blocks: the simulator layer stays usable for hand-written RTL.
package sim

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Direction is the direction of a port as seen from the design.
type Direction int

const (
	In Direction = iota
	Out
)

func (d Direction) String() string {
	switch d {
	case In:
		return "input"
	case Out:
		return "output"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Port is one port of the top module.
type Port struct {
	Name   string
	Width  int
	Signed bool
	Dir    Direction
}

// Stream names three ports of the top module that form a valid/ready
// handshake. A beat transfers Data in a cycle where Valid and Ready are both
// high before the rising clock edge.
type Stream struct {
	Name, Valid, Ready, Data string
}

// Top describes a generated design to simulate.
type Top struct {
	Name    string   // top module name
	Files   []string // Verilog sources
	Ports   []Port
	Clock   string   // rising-edge clock port
	Reset   string   // synchronous active-high reset port, "" if none
	Sources []Stream // input streams driven by the harness (Valid, Data are DUT inputs; Ready a DUT output)
	Sinks   []Stream // output streams captured by the harness (Valid, Data DUT outputs; Ready a DUT input)
}

// Change sets a plain input (an input that is not the clock, the reset or
// part of a stream) to Value from cycle Cycle on; the value is held until the
// next change of that port. Plain inputs are zero until their first change.
type Change struct {
	Cycle int
	Port  string
	Value *big.Int
}

// DefaultMaxCycles is the cycle limit used when Stimulus.MaxCycles is zero.
const DefaultMaxCycles = 1_000_000

// Stimulus is one run of a design.
//
// Reset, when the design has one, is held high for two rising edges; cycle 0
// is the first cycle after it. In each cycle c the harness
//
//  1. applies the plain-input changes of cycle c, drives each source's valid
//     (queue not empty and not stalled) and data (the head payload, held while
//     valid is low) and each sink's ready (not stalled);
//  2. lets combinational logic settle;
//  3. samples the outputs (Trace) and the handshakes: a source whose valid and
//     ready are both high pops its head, a sink whose valid and ready are both
//     high records (c, data);
//  4. raises the clock.
//
// New inputs are applied only after the edge's register updates, so the
// design never sees inputs change at the edge.
type Stimulus struct {
	// Changes of plain inputs, in any order; changes of one cycle are applied
	// in the order given.
	Changes []Change
	// Sources holds the payload queue of each Top.Sources entry (nil: all
	// empty).
	Sources [][]*big.Int
	// SourceStall, per source, reports cycles in which the harness withholds
	// valid; nil (or a nil entry) never stalls. It is evaluated in Go when the
	// stimulus files (or a session's request) are written, since the run
	// length is unknown then, up to
	// a horizon: Cycles, else min(MaxCycles, 8*(payloads+expected beats)+4096).
	// Later cycles do not stall.
	SourceStall []func(cycle int) bool
	// SinkStall, per sink, reports cycles in which ready is low.
	SinkStall []func(cycle int) bool
	// Expect is the number of beats expected per sink. The run ends at the end
	// of the first cycle in which every source is drained and every sink has
	// at least its expected beats.
	Expect []int
	// Linger keeps a stream run going this many cycles after it is done,
	// with the sinks' stall patterns still applied, so beats a design sends
	// beyond the expected ones are recorded too (a design under test is
	// untrusted). Result.Cycles still ends where the streams were done.
	Linger int
	// Cycles, if positive, runs exactly this many cycles instead.
	Cycles int
	// MaxCycles bounds a stream run; reaching it is an error (a hung design).
	// Zero means DefaultMaxCycles.
	MaxCycles int
	// Trace records every output port in every cycle.
	Trace bool
}

// Beat is one transfer on a sink.
type Beat struct {
	Cycle int
	Data  *big.Int
}

// Result is what a run produced.
type Result struct {
	Cycles  int                   // cycles from the end of reset to the end of the run
	Sinks   [][]Beat              // beats received per sink, with the cycle each fired
	Sources [][]int               // cycle at which each source payload was accepted
	Outputs []map[string]*big.Int // per cycle, every output port, when Stimulus.Trace
	Sim     string                // "icarus" or "verilator"
	// BuildCached reports that the simulator binary came from the build cache.
	BuildCached bool
	// SimTime is the wall time of the simulation process alone (no build,
	// no stimulus writing, no trace parsing), for speed measurements; for a
	// Session, the harness's time for the run without the transfers.
	SimTime time.Duration
}

// Outcome returns a copy of r without what depends on how it was produced
// (which simulator, the build cache, timing), so two runs of the same
// stimulus can be compared: Icarus and Verilator must agree on the rest.
func (r *Result) Outcome() Result {
	x := *r
	x.Sim, x.BuildCached, x.SimTime = "", false, 0
	return x
}

// Options control how a run is carried out; none of them changes its result.
type Options struct {
	WorkDir   string    // where run files go (a temporary directory if empty; removed afterwards unless KeepFiles)
	CacheDir  string    // build cache; default $TPUGEN_CACHE, else os.UserCacheDir()/tpugen
	VCD       string    // if non-empty, dump a VCD waveform to this path
	KeepFiles bool      // keep the run files (and a temporary WorkDir) for debugging
	Log       io.Writer // progress lines; nil is quiet
}

// Simulator runs a design with a stimulus.
type Simulator interface {
	Name() string
	Run(ctx context.Context, top *Top, stim *Stimulus, opt Options) (*Result, error)
}

// SimulatorByName returns the simulator called name ("icarus" or
// "verilator") with default settings.
func SimulatorByName(name string) (Simulator, error) {
	switch name {
	case "icarus":
		return Icarus{}, nil
	case "verilator":
		return Verilator{}, nil
	}
	return nil, fmt.Errorf("sim: unknown simulator %q (want \"icarus\" or \"verilator\")", name)
}

// StreamStimulus builds a stimulus for t's streams by name: payloads for
// sources, stall patterns for either, and expected beats for sinks. Streams
// not named get nothing.
func (t *Top) StreamStimulus(payloads map[string][]*big.Int, stalls map[string]func(int) bool, expect map[string]int) *Stimulus {
	s := &Stimulus{}
	for _, src := range t.Sources {
		s.Sources = append(s.Sources, payloads[src.Name])
		s.SourceStall = append(s.SourceStall, stalls[src.Name])
	}
	for _, snk := range t.Sinks {
		s.SinkStall = append(s.SinkStall, stalls[snk.Name])
		s.Expect = append(s.Expect, expect[snk.Name])
	}
	return s
}

// SinkIndex is the index of the named sink in t.Sinks, or -1.
func (t *Top) SinkIndex(name string) int {
	for i, s := range t.Sinks {
		if s.Name == name {
			return i
		}
	}
	return -1
}
