package verify

import (
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
)

// Wrap reduces v to bits-bit two's complement (signed) or modulo 2^bits
// (unsigned): the accumulator's overflow behaviour.
func Wrap(v int64, bits int, signed bool) int64 {
	if bits >= 64 {
		return v
	}
	u := uint64(v) & (1<<uint(bits) - 1)
	if signed && u>>(uint(bits)-1) == 1 {
		return int64(u) - 1<<uint(bits)
	}
	return int64(u)
}

// GoldenGEMM computes C = A × B the way the accumulators do: exact products
// (binary dot products of the lanes on a mac "xnor" unit),
// sums wrapped to acc_bits. It is plain integer arithmetic, independent of
// the RTL.
func GoldenGEMM(cfg arch.Config, a, b compile.Matrix) compile.Matrix {
	m, k := a.Dims()
	_, n := b.Dims()
	c := compile.NewMatrix(m, n)
	step := func(x, w int64) int64 { return x * w }
	if cfg.MAC.IsBinary() {
		step = func(x, w int64) int64 { return quant.XnorDot(x, w, cfg.InputBits) }
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int64
			for x := 0; x < k; x++ {
				// Wrapping each step is the same as wrapping once (the sum is
				// taken modulo 2^acc_bits) and keeps int64 from overflowing.
				s = Wrap(s+step(a[i][x], b[x][j]), cfg.AccBits, cfg.AccSigned())
			}
			c[i][j] = s
		}
	}
	return c
}

// LayerReference computes the layer with quant's reference kernels, with
// every numeric choice of the hardware (the requantizer's rounding) taken
// from cfg. For Conv the result is NHWC; for FC, Batch×OutFeatures (or the
// MapH×MapW map); pooled when the layer pools.
func LayerReference(cfg arch.Config, l *compile.Layer) ([]int8, quant.Shape, error) {
	shape, err := l.OutputShape()
	if err != nil {
		return nil, quant.Shape{}, err
	}
	stage := l.Requant.OutputStage(cfg.Rounding)
	var out []int8
	switch l.Kind {
	case compile.FC:
		if cfg.MAC.IsBinary() {
			out, err = quant.BinaryFullyConnected(l.Input, l.InShape.N, l.Weights, l.WeightShape.N, cfg.InputBits, l.Bias,
				quant.FCParams{InputZeroPoint: l.InputZP, Output: stage})
			break
		}
		out, err = quant.FullyConnected(l.Input, l.InShape.N, l.Weights, l.WeightShape.N, l.Bias,
			quant.FCParams{InputZeroPoint: l.InputZP, Output: stage})
	case compile.Conv:
		if cfg.MAC.IsBinary() {
			return nil, quant.Shape{}, fmt.Errorf("layer: configuration %s is binary (mac xnor): it runs fully connected layers of packed lanes, not convolutions", cfg.Name)
		}
		out, _, err = quant.Conv2D(l.Input, l.InShape, l.Weights, l.WeightShape, l.Bias,
			quant.ConvParams{Window: l.Window, InputZeroPoint: l.InputZP, Output: stage})
	default:
		return nil, quant.Shape{}, fmt.Errorf("layer: unknown kind %v", l.Kind)
	}
	if err != nil {
		return nil, quant.Shape{}, fmt.Errorf("layer reference: %w", err)
	}
	for i, v := range out {
		out[i] = l.Act.Apply(v)
	}
	if p := l.Pool; p != nil {
		switch p.Kind {
		case arch.AveragePool:
			out, shape, err = quant.AveragePool(out, shape, p.Params())
		case arch.L2Pool:
			out, shape, err = quant.L2Pool(out, shape, p.Params(), p.ZeroPoint)
		default:
			out, shape, err = quant.MaxPool(out, shape, p.Params())
		}
		if err != nil {
			return nil, quant.Shape{}, fmt.Errorf("layer reference pool: %w", err)
		}
	}
	if l.Softmax != nil {
		if out, err = quant.SoftmaxInt8(out, shape.C, *l.Softmax); err != nil {
			return nil, quant.Shape{}, fmt.Errorf("layer reference softmax: %w", err)
		}
	}
	return out, shape, nil
}
