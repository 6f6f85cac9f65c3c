package compile_test

import (
	"slices"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/internal/modeltest"
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
