package ptq

import (
	"math/rand/v2"
	"testing"

	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/quant"
)

// TestQuantizeInt4 quantizes a small CNN with Bits 4: every tensor a layer
// reads is int4 (its codes in −8..7), every weight in −7..7, every layer
// that writes a tensor another layer reads clamps to −8..7, and only the
// class scores stay int8.
func TestQuantizeInt4(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	g := smallCNN(r)
	var samples []*nn.Tensor
	for i := 0; i < 8; i++ {
		samples = append(samples, nn.Float32Tensor([]int{1, 1, 8, 8}, randFloats(r, 64, 1)))
	}
	net, err := Quantize(g, Options{Calib: quant.CalibConfig{Method: quant.MethodMinMax}, Samples: samples, Bits: 4})
	if err != nil {
		t.Fatal(err)
	}
	layers := 0
	for _, op := range net.Ops {
		if op.Layer == nil {
			continue
		}
		layers++
		l := op.Layer
		in := net.Tensors[op.Inputs[0]].Params
		if in.DType != quant.Int4 {
			t.Errorf("%s reads %s, a %v tensor; want int4", op.Name, op.Inputs[0], in.DType)
		}
		for i, w := range l.Weights {
			if w < -7 || w > 7 {
				t.Fatalf("%s: weight %d is %d, outside −7..7", op.Name, i, w)
			}
		}
		out := net.Tensors[op.Output].Params
		lo, hi := l.Requant.Range()
		switch {
		case op.Output == net.Output || out.DType == quant.Int8:
			if out.DType != quant.Int8 {
				t.Errorf("%s writes the scores as %v, want int8", op.Name, out.DType)
			}
		case lo < -8 || hi > 7:
			t.Errorf("%s clamps to [%d, %d], want within [-8, 7]", op.Name, lo, hi)
		}
	}
	if layers != 2 {
		t.Fatalf("%d layers, want 2", layers)
	}
	if _, err := Quantize(smallCNN(r), Options{Samples: samples, Bits: 6}); err == nil {
		t.Error("Bits 6 was accepted")
	}
}
