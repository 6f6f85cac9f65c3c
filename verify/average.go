package verify

import (
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
)

// HostAveragePools returns net with each hardware layer's fused average
// pool moved to a host op after the layer, for a configuration with the
// float-scale requantizer (rounding float), so that the network averages
// as ONNX Runtime does. The pooling unit averages the window's integer sum
// (TFLite's rounding), ONNX Runtime in float32 (quant.AveragePoolORT),
// whose ties depend on the rounding of every dequantized tap and partial
// sum: no rule on the integer sum gives its result. The layer then writes
// a tensor "<op>/prepool" with the pooled tensor's parameters (a pool
// keeps them). Layers, ops and the tensor map are copied; net is not
// changed. Other configurations, and networks without such a pool, get
// net itself.
func HostAveragePools(net *compile.Network, cfg arch.Config) (*compile.Network, error) {
	if !cfg.Rounding.IsFloat() {
		return net, nil
	}
	var out *compile.Network
	for i, op := range net.Ops {
		if !op.OnHardware() || op.Layer.Pool == nil || op.Layer.Pool.Kind != arch.AveragePool {
			if out != nil {
				out.Ops = append(out.Ops, op)
			}
			continue
		}
		if out == nil {
			c := *net
			c.Ops = append([]*compile.Op{}, net.Ops[:i]...)
			c.Tensors = make(map[string]*compile.Tensor, len(net.Tensors)+1)
			for k, v := range net.Tensors {
				c.Tensors[k] = v
			}
			out = &c
		}
		pooled := net.Tensors[op.Output]
		in := net.Tensors[op.Inputs[0]]
		if pooled == nil || in == nil {
			return nil, fmt.Errorf("network %s: op %s reads or writes an undeclared tensor", net.Name, op.Name)
		}
		shape, err := op.Bind(make([]int8, in.Shape.Len()), in.Shape).OutputShape()
		if err != nil {
			return nil, fmt.Errorf("network %s: op %s: %w", net.Name, op.Name, err)
		}
		shape.N = 1
		pre := &compile.Tensor{Name: op.Name + "/prepool", Shape: shape, Params: pooled.Params, Uint8: pooled.Uint8}
		if _, ok := out.Tensors[pre.Name]; ok {
			return nil, fmt.Errorf("network %s: tensor %s exists already", net.Name, pre.Name)
		}
		out.Tensors[pre.Name] = pre
		p := *op.Layer.Pool
		layer := *op.Layer
		layer.Pool = nil
		lop := *op
		lop.Layer, lop.Output = &layer, pre.Name
		fa, err := out.FloatAverage(pre.Name, op.Output)
		if err != nil {
			return nil, err
		}
		pool := &compile.Op{Name: op.Name + "/pool", Kind: compile.OpPool, Inputs: []string{pre.Name}, Output: op.Output,
			Pool: p.Params(), PoolKind: arch.AveragePool, Average: &fa}
		out.Ops = append(out.Ops, &lop, pool)
	}
	if out == nil {
		return net, nil
	}
	return out, out.Check()
}
