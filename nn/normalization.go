package nn

import (
	"fmt"
	"math"
)

// BatchNormalization in its inference form:
// y = scale·(x − mean)/√(var + epsilon) + B over axis 1 (opset 6 with
// is_test=1, spatial=1 before opset 9, training_mode=0 from opset 14).

func checkBatchNorm(n *Node, opset int) error {
	if eps := float64(n.AttrFloat("epsilon", 1e-5)); !(eps >= 0) || math.IsInf(eps, 0) {
		return fmt.Errorf("attribute epsilon=%v out of range (finite, >= 0)", eps)
	}
	if n.HasAttr("is_test") {
		if opset >= 7 {
			return fmt.Errorf("attribute is_test does not exist from opset 7")
		}
		if t := n.AttrInt("is_test", 0); t != 1 {
			return fmt.Errorf("attribute is_test=%d (training) %w", t, ErrUnsupported)
		}
	} else if opset < 7 {
		return fmt.Errorf("attribute is_test=0 (training) %w", ErrUnsupported)
	}
	if n.HasAttr("spatial") {
		if opset >= 9 {
			return fmt.Errorf("attribute spatial does not exist from opset 9")
		}
		if s := n.AttrInt("spatial", 1); s != 1 {
			return fmt.Errorf("attribute spatial=%d (per-element statistics) %w", s, ErrUnsupported)
		}
	}
	if n.HasAttr("training_mode") && opset < 14 {
		return fmt.Errorf("attribute training_mode does not exist before opset 14")
	}
	if t := n.AttrInt("training_mode", 0); t != 0 {
		return fmt.Errorf("attribute training_mode=%d (training) %w", t, ErrUnsupported)
	}
	if len(n.Outputs) > 1 {
		return fmt.Errorf("%d outputs: training statistics %w", len(n.Outputs), ErrUnsupported)
	}
	return nil
}

func inferBatchNorm(n *Node, opset int, in []Value, konst []*Tensor) ([]Value, error) {
	x := in[0]
	if err := wantType("X", x.DType, Float32); err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("input X has shape %v: want N×C×…", x.Shape)
	}
	for i, name := range []string{"scale", "B", "mean", "var"} {
		v := in[i+1]
		if v.DType != Float32 || len(v.Shape) != 1 || v.Shape[0] != x.Shape[1] {
			return nil, fmt.Errorf("%s is %v%v, want float32[%d]", name, v.DType, v.Shape, x.Shape[1])
		}
	}
	return inferSame(n, opset, in, konst)
}

// batchNormAffine returns the per-channel multiplier and offset that the
// normalization amounts to (used by the executor and by FoldBatchNorm).
func batchNormAffine(n *Node, scale, bias, mean, variance []float32) (mul, add []float64) {
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	mul, add = make([]float64, len(scale)), make([]float64, len(scale))
	for c := range scale {
		mul[c] = float64(scale[c]) / math.Sqrt(float64(variance[c])+eps)
		add[c] = float64(bias[c]) - float64(mean[c])*mul[c]
	}
	return mul, add
}

func runBatchNorm(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	mean := in[3].Float32
	mul, _ := batchNormAffine(n, in[1].Float32, in[2].Float32, mean, in[4].Float32)
	c, inner := x.Shape[1], prod(x.Shape[2:])
	y := make([]float32, len(x.Float32))
	for i, v := range x.Float32 {
		ch := i / inner % c
		y[i] = float32((float64(v)-float64(mean[ch]))*mul[ch] + float64(in[2].Float32[ch]))
	}
	return []*Tensor{Float32Tensor(x.Shape, y)}, nil
}
