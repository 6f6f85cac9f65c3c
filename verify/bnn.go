package verify

import (
	"context"
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify/sim"
)

// A sign chain is a binarized network lowered to fully connected layers
// (ptq.LowerBinary): int8 layers run on an integer unit, binary layers
// (packed {-1, +1} lanes) on a binary unit (mac "xnor"), and between two
// layers the host turns the output's signs into the next layer's input.

// SignLayer is one layer of a sign chain: Layer is a template (Input and
// InShape are set per batch).
type SignLayer struct {
	Name   string
	Layer  *compile.Layer
	Binary bool
}

// SignChain is the network: its layers, and Next, which turns layer i's
// int8 output (batch × units) into layer i+1's input and returns its
// features (lanes for a binary layer).
type SignChain struct {
	Layers []SignLayer
	Next   func(out []int8, batch, units int, binary bool) ([]int8, int, error)
}

// SignUnit is where a kind of layer runs: a simulator on the RTL in Dir,
// or (Sim nil) the golden model only. Man is needed either way: the golden
// model computes as its configuration says.
type SignUnit struct {
	Sim sim.Simulator
	Man *arch.Manifest
	Dir string
}

// SignLayerRun is one layer over a batch.
type SignLayerRun struct {
	Output    []int8 // batch × units
	Units     int
	Passes    int
	Cycles    int
	Predicted int
	MACs      int64 // batch × depth × units, depth in lanes for a binary layer
	Mismatch  Mismatch
}

// RunSignChain runs a batch of int8 inputs (batch × features) through the
// chain: each layer on its unit (intUnit or binUnit), compared with the
// golden model (LayerReference on the same input) when it runs on the RTL.
// The next layer is fed what the RTL computed.
func RunSignChain(ctx context.Context, chain SignChain, input []int8, batch int, intUnit, binUnit SignUnit, opt GEMMOptions) ([]SignLayerRun, error) {
	if batch < 1 || len(input)%batch != 0 {
		return nil, fmt.Errorf("sign chain: %d input values do not split into %d images", len(input), batch)
	}
	x, features := input, len(input)/batch
	var runs []SignLayerRun
	for i, sl := range chain.Layers {
		u := intUnit
		if sl.Binary {
			u = binUnit
		}
		if u.Man == nil {
			return nil, fmt.Errorf("sign chain: layer %s has no unit to run on", sl.Name)
		}
		if sl.Binary != u.Man.Config.MAC.IsBinary() {
			return nil, fmt.Errorf("sign chain: layer %s (binary %t) cannot run on configuration %s (mac %s)", sl.Name, sl.Binary, u.Man.Config.Name, u.Man.Config.MAC)
		}
		l := *sl.Layer
		l.Input, l.InShape = x, quant.Shape{N: batch, H: 1, W: 1, C: features}
		want, shape, err := LayerReference(u.Man.Config, &l)
		if err != nil {
			return nil, fmt.Errorf("sign chain: %s golden: %w", sl.Name, err)
		}
		r := SignLayerRun{Output: want, Units: l.WeightShape.N,
			MACs: int64(batch) * int64(features) * int64(l.WeightShape.N)}
		if u.Sim != nil {
			var or OpRun
			out, err := runLayerPasses(ctx, u.Sim, u.Man, u.Dir, &l, opt, &or)
			if err != nil {
				return runs, fmt.Errorf("sign chain: %s: %w", sl.Name, err)
			}
			r.Output, r.Passes, r.Cycles, r.Predicted = out.Data, or.Passes, or.Cycles, or.Predicted
			r.Mismatch = CompareTensors(want, out.Data, shape)
		}
		runs = append(runs, r)
		if i+1 < len(chain.Layers) {
			if x, features, err = chain.Next(r.Output, batch, r.Units, chain.Layers[i+1].Binary); err != nil {
				return runs, fmt.Errorf("sign chain: after %s: %w", sl.Name, err)
			}
		}
	}
	return runs, nil
}
