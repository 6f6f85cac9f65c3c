package compile_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// widths lists the output channels of the network's hardware layers.
func widths(net *compile.Network) []int {
	var w []int
	for _, op := range net.Ops {
		if op.OnHardware() {
			w = append(w, op.Layer.WeightShape.N)
		}
	}
	return w
}

func macs(net *compile.Network) int64 {
	var n int64
	for _, op := range net.Ops {
		n += op.MACs()
	}
	return n
}

// TestRemovePrunedChannelsExact removes the pruned channels of the
// committed LeNets and checks, on test images through the golden model,
// that the network's output (and the logits before the softmax) is the
// original's bit for bit, that the structured models shrink to the widths
// their manifest entries give, and that the MACs drop as listed there.
func TestRemovePrunedChannelsExact(t *testing.T) {
	for _, tc := range []struct {
		file    string
		widths  []int
		removed float64 // share of the MACs removed (models/README.md)
	}{
		{"lenet5_mnist.onnx", []int{6, 16, 120, 84, 10}, 0},
		{"lenet5_mnist_prune_struct50.onnx", []int{4, 8, 120, 84, 10}, 0.5359},
		{"lenet5_mnist_prune_struct75.onnx", []int{2, 8, 88, 72, 10}, 0.7507},
		{"lenet5_mnist_prune_tile50.onnx", []int{6, 16, 80, 68, 10}, 0.0499},
		{"lenet5_mnist_prune_mag80.onnx", nil, -1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m := modeltest.Quantize(t, tc.file, dataset.MNIST, 20)
			cfg := defaultManifest(t).Config
			pruned, report, err := compile.RemovePrunedChannels(m.Net, cfg.Rounding)
			if err != nil {
				t.Fatal(err)
			}
			if tc.widths != nil && !slices.Equal(widths(pruned), tc.widths) {
				t.Errorf("widths %v, want %v (removed %+v)", widths(pruned), tc.widths, report)
			}
			if !slices.Equal(widths(m.Net), []int{6, 16, 120, 84, 10}) {
				t.Errorf("the original network changed: widths %v", widths(m.Net))
			}
			got := 1 - float64(macs(pruned))/float64(macs(m.Net))
			if tc.removed >= 0 && (got < tc.removed-0.0001 || got > tc.removed+0.0001) {
				t.Errorf("%.4f of the MACs removed, want %.4f", got, tc.removed)
			}
			const n = 16
			var input []int8
			for i := 0; i < n; i++ {
				input = append(input, m.Image(i)...)
			}
			want, err := verify.GoldenNetwork(cfg, m.Net, input, n)
			if err != nil {
				t.Fatal(err)
			}
			have, err := verify.GoldenNetwork(cfg, pruned, input, n)
			if err != nil {
				t.Fatal(err)
			}
			last := m.Net.Ops[len(m.Net.Ops)-1]
			for _, name := range append(slices.Clone(last.Inputs), m.Net.Output) {
				if !slices.Equal(want[name].Data, have[name].Data) {
					t.Errorf("tensor %s differs from the original network's", name)
				}
			}
			t.Logf("widths %v, %.2f%% of the MACs removed, %d layers pruned", widths(pruned), 100*got, len(report))
		})
	}
}

// TestRemovePrunedChannelsKeepsDense checks that a network without pruned
// channels comes back as a copy with nothing removed.
func TestRemovePrunedChannelsKeepsDense(t *testing.T) {
	m := modeltest.Quantize(t, "lenet5_mnist.onnx", dataset.MNIST, 5)
	pruned, report, err := compile.RemovePrunedChannels(m.Net, arch.DoubleRounding)
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != 0 || pruned == m.Net {
		t.Fatalf("dense LeNet: %d layers pruned; a copy must come back", len(report))
	}
}

// foldNet is a small network whose pruned channel's constant is not the
// zero point, so removing it moves a real contribution into the next
// layer's bias: conv 1x1 2->3 (channel 1's weights zero, its bias large),
// host max pooling 2x2, then conv 2x2 3->2 with the given padding, or
// flatten and fc 12->2.
func foldNet(pad quant.Padding, fc bool) *compile.Network {
	r := rand.New(rand.NewPCG(9, 9))
	w := func(n int) []int8 {
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(r.IntN(255) - 127)
		}
		return out
	}
	rq := compile.Requant{Multipliers: []int32{1 << 30}, Shifts: []int{-4}, ZeroPoint: -20}
	a := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 4, W: 4, C: 2}, InputZP: 3,
		WeightShape: quant.Shape{N: 3, H: 1, W: 1, C: 2}, Weights: w(6), Bias: []int32{100, 900, -50},
		Window: quant.Window{StrideH: 1, StrideW: 1}, Requant: rq}
	a.Weights[2], a.Weights[3] = 0, 0 // channel 1: constant requant(900) = 36
	p := quant.Params{Scale: 0.1, ZeroPoint: -20}
	net := &compile.Network{Name: "fold", Input: "x", Output: "y", Tensors: map[string]*compile.Tensor{
		"x": {Name: "x", Shape: quant.Shape{N: 1, H: 4, W: 4, C: 2}, Params: quant.Params{Scale: 0.1, ZeroPoint: 3}},
		"a": {Name: "a", Shape: quant.Shape{N: 1, H: 4, W: 4, C: 3}, Params: p},
		"p": {Name: "p", Shape: quant.Shape{N: 1, H: 2, W: 2, C: 3}, Params: p},
	}}
	net.Ops = []*compile.Op{
		{Name: "a", Kind: compile.OpLayer, Inputs: []string{"x"}, Output: "a", Layer: a},
		{Name: "pool", Kind: compile.OpPool, Inputs: []string{"a"}, Output: "p", PoolKind: arch.MaxPool,
			Pool: quant.PoolParams{Window: quant.Window{StrideH: 2, StrideW: 2}, FilterH: 2, FilterW: 2}},
	}
	b := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 2, W: 2, C: 3}, InputZP: -20,
		WeightShape: quant.Shape{N: 2, H: 2, W: 2, C: 3}, Weights: w(24), Bias: []int32{7, -7},
		Window: quant.Window{StrideH: 1, StrideW: 1, Padding: pad}, Requant: rq}
	out := quant.Shape{N: 1, H: 1, W: 1, C: 2}
	if pad == quant.PaddingSame {
		out.H, out.W = 2, 2
	}
	if fc {
		net.Tensors["f"] = &compile.Tensor{Name: "f", Shape: quant.Shape{N: 1, H: 1, W: 1, C: 12}, Params: p}
		net.Ops = append(net.Ops, &compile.Op{Name: "flatten", Kind: compile.OpFlatten, Inputs: []string{"p"}, Output: "f"})
		b = &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: 1, H: 1, W: 1, C: 12}, InputZP: -20,
			WeightShape: quant.Shape{N: 2, H: 1, W: 1, C: 12}, Weights: w(24), Bias: []int32{7, -7}, Requant: rq}
		out = quant.Shape{N: 1, H: 1, W: 1, C: 2}
		net.Ops = append(net.Ops, &compile.Op{Name: "b", Kind: compile.OpLayer, Inputs: []string{"f"}, Output: "y", Layer: b})
	} else {
		net.Ops = append(net.Ops, &compile.Op{Name: "b", Kind: compile.OpLayer, Inputs: []string{"p"}, Output: "y", Layer: b})
	}
	net.Tensors["y"] = &compile.Tensor{Name: "y", Shape: out, Params: p}
	return net
}

// TestRemovePrunedChannelsFolds removes a pruned channel whose constant
// output is not the zero point, through host pooling into a valid conv
// and through flatten into an fc layer: the output must stay bit-exact on
// random inputs. Before a conv that pads, the channel must stay (its
// padded taps hold the zero point, not the constant).
func TestRemovePrunedChannelsFolds(t *testing.T) {
	cfg := defaultManifest(t).Config
	r := rand.New(rand.NewPCG(4, 4))
	for _, tc := range []struct {
		desc   string
		pad    quant.Padding
		fc     bool
		widths []int
	}{
		{"valid conv", quant.PaddingValid, false, []int{2, 2}},
		{"flatten, fc", quant.PaddingValid, true, []int{2, 2}},
		{"padded conv", quant.PaddingSame, false, []int{3, 2}},
	} {
		net := foldNet(tc.pad, tc.fc)
		if err := net.Check(); err != nil {
			t.Fatal(err)
		}
		pruned, report, err := compile.RemovePrunedChannels(net, cfg.Rounding)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if !slices.Equal(widths(pruned), tc.widths) {
			t.Fatalf("%s: widths %v, want %v", tc.desc, widths(pruned), tc.widths)
		}
		if len(report) == 1 && report[0].Values[0] == -20 {
			t.Fatalf("%s: the removed channel's constant is the zero point; the test wants a real fold", tc.desc)
		}
		for k := 0; k < 20; k++ {
			in := make([]int8, 32)
			for i := range in {
				in[i] = int8(r.IntN(256) - 128)
			}
			want, err := verify.GoldenNetwork(cfg, net, in, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := verify.GoldenNetwork(cfg, pruned, in, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(want["y"].Data, got["y"].Data) {
				t.Fatalf("%s: output %v, the unpruned network's %v", tc.desc, got["y"].Data, want["y"].Data)
			}
		}
	}
}
