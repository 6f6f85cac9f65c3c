package nn

// Sign is ONNX's element-wise sign (-1, 0 or +1; opset 9). A binarized
// network's activations are Sign outputs; ptq lowers a Gemm fed by a Sign
// with weights all in {-1, +1} onto a binary unit (ptq.LowerBinary),
// where 0 counts as +1.

func runSign(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{mapFloat(in[0], func(v float64) float64 {
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return v // 0, and NaN stays NaN
	})}, nil
}
