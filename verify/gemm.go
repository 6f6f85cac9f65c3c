package verify

import (
	"context"
	"fmt"
	"math/big"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/verify/sim"
)

// GEMMOptions tunes a GEMM or layer run.
type GEMMOptions struct {
	Sim       sim.Options
	SinkStall func(cycle int) bool // random backpressure on the result stream
	WStall    func(cycle int) bool // gaps in the weight stream
	AStall    func(cycle int) bool // gaps in the activation stream
	MaxCycles int                  // 0: derived from the cycle model
}

// GEMMRun is the outcome of one GEMM on the RTL.
type GEMMRun struct {
	C           compile.Matrix
	Cycles      int
	Predicted   int     // the analytical cycle model's prediction
	Ideal       float64 // MACs / (rows × cols)
	Utilization float64 // Ideal / Cycles
	Result      *sim.Result
}

// A DesignError is the design under test misbehaving on a result stream: a
// beat the plan does not expect, a missing beat, a wrong accumulator
// address or parameter-set tag. The design is untrusted; its behaviour
// becomes a failed case, never a crash of the verifier.
type DesignError struct {
	Stream string
	Beat   int // index of the offending beat on Stream
	Cycle  int // cycle of that beat (-1: the beat never came)
	Msg    string
}

func (e *DesignError) Error() string {
	if e.Cycle < 0 {
		return fmt.Sprintf("%s: %s", e.Stream, e.Msg)
	}
	return fmt.Sprintf("%s beat %d (cycle %d): %s", e.Stream, e.Beat, e.Cycle, e.Msg)
}

// linger is how long a run goes on after the last expected result: long
// enough for anything still in the array and the pipeline to come out, so
// a design that sends more than it should is caught.
func linger(man *arch.Manifest) int {
	return 2*man.Derived.Latency + 64
}

// checkBeats checks that a result stream carried exactly want beats.
func checkBeats(stream string, beats []sim.Beat, want int) error {
	switch {
	case len(beats) > want:
		return &DesignError{Stream: stream, Beat: want, Cycle: beats[want].Cycle,
			Msg: fmt.Sprintf("the RTL sent %d result beats, the plan expects %d; this is the first extra one", len(beats), want)}
	case len(beats) < want:
		return &DesignError{Stream: stream, Beat: len(beats), Cycle: -1,
			Msg: fmt.Sprintf("the RTL sent %d result beats, the plan expects %d", len(beats), want)}
	}
	return nil
}

// unpack reads one field of a result beat.
func unpack(l *arch.Layout, b sim.Beat, field string) ([]int64, error) {
	return l.Unpack(b.Data, field)
}

// RunGEMM runs C = A × B on the generated matrix unit in dir.
func RunGEMM(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, a, b compile.Matrix, opt GEMMOptions) (*GEMMRun, error) {
	plan, err := compile.PlanGEMM(man, a, b)
	if err != nil {
		return nil, err
	}
	pred := PredictGEMMCycles(man, plan.M, plan.K, plan.N)
	if man.Config.WeightCompression.IsCompressed() {
		if n, err := predictCompressed(man, plan, 0, plan.M-1, 0); err == nil {
			pred = n
		}
	}
	w, err := weightStream(man, plan.W)
	if err != nil {
		return nil, err
	}
	top := SimTop(man, dir)
	stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: w, arch.StreamA: plan.A},
		map[string]func(int) bool{arch.StreamW: opt.WStall, arch.StreamA: opt.AStall, arch.StreamC: opt.SinkStall},
		map[string]int{arch.StreamC: len(plan.Out)})
	stim.MaxCycles = opt.MaxCycles
	if stim.MaxCycles == 0 {
		stim.MaxCycles = 4*pred + 10_000
	}
	stim.Linger = linger(man)
	res, err := s.Run(ctx, top, stim, opt.Sim)
	if err != nil {
		return nil, err
	}
	cs := man.Stream(arch.StreamC)
	got := res.Sinks[top.SinkIndex(arch.StreamC)]
	if err := checkBeats(arch.StreamC, got, len(plan.Out)); err != nil {
		return nil, err
	}
	c := compile.NewMatrix(plan.M, plan.N)
	for i, beat := range got {
		o := plan.Out[i]
		addr, err := unpack(cs, beat, "addr")
		if err != nil {
			return nil, err
		}
		if addr[0] != int64(o.Addr) {
			return nil, &DesignError{Stream: arch.StreamC, Beat: i, Cycle: beat.Cycle,
				Msg: fmt.Sprintf("carries accumulator address %d, want %d", addr[0], o.Addr)}
		}
		sums, err := unpack(cs, beat, "sums")
		if err != nil {
			return nil, err
		}
		for j := 0; j < o.Lanes; j++ {
			c[o.Row][o.Col0+j] = sums[j]
		}
	}
	macs := float64(plan.M) * float64(plan.K) * float64(plan.N)
	ideal := macs / float64(man.Config.Rows*man.Config.Cols)
	return &GEMMRun{C: c, Cycles: res.Cycles, Predicted: pred, Ideal: ideal, Utilization: ideal / float64(res.Cycles), Result: res}, nil
}
