package compile

import "github.com/tpugen/tpugen/arch"

// Pass is one run of a layer over a range of its output channels.
type Pass struct {
	Layer *Layer // the layer restricted to channels [C0, C0+Layer.WeightShape.N)
	C0    int
}

// SplitChannels splits a layer whose output channels exceed maxChannels
// (the matrix unit's columns times its parameter sets) into passes over
// consecutive channel ranges; each pass reuses the input. A layer that fits
// is one pass of itself.
func SplitChannels(l *Layer, maxChannels int) []Pass {
	n := l.WeightShape.N
	if n <= maxChannels {
		return []Pass{{Layer: l, C0: 0}}
	}
	per := len(l.Weights) / n
	var out []Pass
	for c0 := 0; c0 < n; c0 += maxChannels {
		c1 := min(n, c0+maxChannels)
		p := *l
		p.WeightShape.N = c1 - c0
		p.Weights = l.Weights[c0*per : c1*per]
		p.Bias = l.Bias[c0:c1]
		if len(l.Requant.Multipliers) > 1 {
			p.Requant.Multipliers = l.Requant.Multipliers[c0:c1]
			p.Requant.Shifts = l.Requant.Shifts[c0:c1]
		}
		if len(l.Requant.Scales) > 1 {
			p.Requant.Scales = l.Requant.Scales[c0:c1]
		}
		out = append(out, Pass{Layer: &p, C0: c0})
	}
	return out
}

// Scatter copies a pass's output (channels-last, its own channel count)
// into the layer's output of channels channels.
func (p Pass) Scatter(dst, src []int8, channels int) {
	c := p.Layer.WeightShape.N
	for i := 0; i < len(src)/c; i++ {
		copy(dst[i*channels+p.C0:i*channels+p.C0+c], src[i*c:(i+1)*c])
	}
}

// PassPlan is one pass of a layer and its plan.
type PassPlan struct {
	Pass
	Plan *LayerPlan
}

// PlanPasses plans l on the manifest's matrix unit in as many passes over
// its output channels as the parameter sets need.
func PlanPasses(man *arch.Manifest, l *Layer) ([]PassPlan, error) {
	var out []PassPlan
	for _, p := range SplitChannels(l, man.Config.Cols*man.Config.ParamSets) {
		plan, err := PlanLayer(man, p.Layer)
		if err != nil {
			return nil, err
		}
		out = append(out, PassPlan{Pass: p, Plan: plan})
	}
	return out, nil
}
