package nn

import (
	"fmt"
	"math"
)

// LpPool over N×C×D1×…×Dk: y = (Σ |x|^p)^(1/p) over each window's taps
// inside the input (padding contributes |0|^p = 0, so leaving it out is
// the same).

func checkLpPool(n *Node, opset int) error {
	if p := n.AttrInt("p", 2); p < 1 {
		return fmt.Errorf("attribute p=%d must be at least 1", p)
	}
	if err := checkBool("ceil_mode")(n, opset); err != nil {
		return err
	}
	return checkWindow(n, true)
}

func runLpPool(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	w, err := resolvePool(n, x.Shape)
	if err != nil {
		return nil, err
	}
	p := float64(n.AttrInt("p", 2))
	shape := append([]int{x.Shape[0], x.Shape[1]}, w.out...)
	y := pool(x, w, func(plane []float64, taps []tap, _ []int) float64 {
		sum := 0.0
		for _, t := range taps {
			sum += math.Pow(math.Abs(plane[t.in]), p)
		}
		return math.Pow(sum, 1/p)
	})
	return []*Tensor{fromFloat64s(Float32, shape, y)}, nil
}
