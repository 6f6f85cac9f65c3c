package ptq

import (
	"path/filepath"
	"testing"

	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/quant"
)

// TestLowerBinaryExact lowers the committed binarized MLP and checks the
// lowering's claim: fed the float model's signs, each binary layer's int8
// output has the float model's sign (x >= 0 for Sign's +1) for every
// output that is not exactly 0 in float, so the binary layers compute
// the float network exactly.
func TestLowerBinaryExact(t *testing.T) {
	g, err := nn.Load(filepath.Join("..", "..", "models", "bnn_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	test, err := dataset.Load(dataset.MNIST, dataset.Test)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var x []float32
	for _, im := range test.Images[:n] {
		for _, p := range im {
			x = append(x, float32(p)/255)
		}
	}
	net, err := LowerBinary(g, 8, 1.0/255, -128, x)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := nn.RunAll(g, map[string]*nn.Tensor{g.Inputs[0].Name: nn.Float32Tensor([]int{n, 1, 28, 28}, x)})
	if err != nil {
		t.Fatal(err)
	}
	// The Gemm outputs in order, and the Sign outputs they read.
	var gemms, signsIn []string
	for _, node := range g.Nodes {
		if node.Op == "Gemm" {
			gemms = append(gemms, node.Output(0))
			signsIn = append(signsIn, node.Input(0))
		}
	}
	checked := 0
	for i, l := range net.Layers {
		if !l.Binary {
			continue
		}
		in := vals[signsIn[i]].Float32
		signs := make([]int8, len(in))
		for j, v := range in {
			signs[j] = -1
			if v >= 0 {
				signs[j] = 1
			}
		}
		packed, _, err := net.NextInput(signs, n, l.In, true)
		if err != nil {
			t.Fatal(err)
		}
		units := l.Layer.WeightShape.N
		out, err := quant.BinaryFullyConnected(packed, n, l.Layer.Weights, units, 8, l.Layer.Bias,
			quant.FCParams{Output: quant.OutputStage{Multipliers: l.Layer.Requant.Multipliers, Shifts: l.Layer.Requant.Shifts}})
		if err != nil {
			t.Fatal(err)
		}
		want := vals[gemms[i]].Float32
		for j, v := range out {
			if want[j] == 0 {
				continue
			}
			if (v >= 0) != (want[j] > 0) {
				t.Fatalf("%s: output %d is %d, the float model's %v", l.Name, j, v, want[j])
			}
			checked++
		}
	}
	if checked < n*256 {
		t.Fatalf("checked %d outputs, want at least %d", checked, n*256)
	}
}
