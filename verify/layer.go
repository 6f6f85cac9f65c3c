package verify

import (
	"context"
	"fmt"
	"math/big"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify/sim"
)

// LayerRun is the outcome of a layer on the RTL.
type LayerRun struct {
	Output      []int8 // as LayerReference: NHWC (conv) or Batch×Out (FC)
	Shape       quant.Shape
	Cycles      int
	MACs        int64   // M × K × N of the layer's GEMM
	Predicted   int     // the cycle model's prediction (PredictLayerCycles)
	Ideal       float64 // MACs / (rows × cols)
	Utilization float64
	Result      *sim.Result
}

// RunLayer runs the layer on the generated accelerator in dir (which must
// have the pipeline: requant, and activation/pool when the layer uses
// them). Parameters go first on p_in, then the GEMM streams; results come
// back on y_out, tagged with their column tile.
func RunLayer(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, l *compile.Layer, opt GEMMOptions) (*LayerRun, error) {
	plan, err := compile.PlanLayer(man, l)
	if err != nil {
		return nil, err
	}
	gp := plan.GEMM
	w, err := weightStream(man, gp.W)
	if err != nil {
		return nil, err
	}
	top := SimTop(man, dir)
	stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: w, arch.StreamA: gp.A, arch.StreamP: plan.Params},
		map[string]func(int) bool{arch.StreamW: opt.WStall, arch.StreamA: opt.AStall, arch.StreamY: opt.SinkStall},
		map[string]int{arch.StreamY: plan.Beats()})
	pred := PredictLayerCycles(man, plan)
	stim.MaxCycles = opt.MaxCycles
	if stim.MaxCycles == 0 {
		stim.MaxCycles = 4*pred + 4*len(plan.Params) + 10_000
	}
	stim.Linger = linger(man)
	res, err := s.Run(ctx, top, stim, opt.Sim)
	if err != nil {
		return nil, err
	}
	ys := man.Stream(arch.StreamY)
	got := res.Sinks[top.SinkIndex(arch.StreamY)]
	if err := checkBeats(arch.StreamY, got, plan.Beats()); err != nil {
		return nil, err
	}
	shape, C := plan.Shape, man.Config.Cols
	out := make([]int8, shape.Len())
	for i, beat := range got {
		t, p := i/plan.PerTile, i%plan.PerTile
		tag, err := unpack(ys, beat, "tag")
		if err != nil {
			return nil, err
		}
		if tag[0] != int64(t) {
			return nil, &DesignError{Stream: arch.StreamY, Beat: i, Cycle: beat.Cycle,
				Msg: fmt.Sprintf("carries parameter-set tag %d, want %d", tag[0], t)}
		}
		vals, err := unpack(ys, beat, "values")
		if err != nil {
			return nil, err
		}
		for j := 0; j < C && t*C+j < shape.C; j++ {
			out[p*shape.C+t*C+j] = int8(vals[j])
		}
	}
	macs := float64(gp.M) * float64(gp.K) * float64(gp.N)
	ideal := macs / float64(man.Config.Rows*man.Config.Cols)
	return &LayerRun{Output: out, Shape: shape, Cycles: res.Cycles, MACs: int64(macs), Predicted: pred,
		Ideal: ideal, Utilization: ideal / float64(res.Cycles), Result: res}, nil
}
