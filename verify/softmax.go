package verify

import (
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
)

// FuseSoftmax returns net with each host softmax that only reads a
// hardware layer's output folded into that layer, for a configuration
// with the softmax unit (cfg.Softmax) whose rows hold the layer's
// channels (at most cols): a classifier's last layer and its softmax then
// run on chip. Layers and ops are copied; net is not changed. Without the
// unit, or when nothing fits, it returns net itself.
func FuseSoftmax(net *compile.Network, cfg arch.Config) *compile.Network {
	if !cfg.Softmax {
		return net
	}
	readers := map[string]int{}
	producer := map[string]*compile.Op{}
	for _, op := range net.Ops {
		for _, in := range op.Inputs {
			readers[in]++
		}
		producer[op.Output] = op
	}
	out := *net
	out.Ops = nil
	fused := map[*compile.Op]*compile.Op{} // the layer op → its fused copy
	for _, op := range net.Ops {
		if op.Kind == compile.OpSoftmax {
			p := producer[op.Inputs[0]]
			if f, ok := fused[p]; ok && readers[op.Inputs[0]] == 1 && op.Inputs[0] != net.Output &&
				p.Layer.Softmax == nil && p.Layer.WeightShape.N <= cfg.Cols {
				l := *f.Layer
				sp := op.Softmax
				l.Softmax = &sp
				f.Layer = &l
				f.Output = op.Output
				continue
			}
		}
		c := *op
		if op.Kind == compile.OpLayer {
			fused[op] = &c
		}
		out.Ops = append(out.Ops, &c)
	}
	return &out
}
