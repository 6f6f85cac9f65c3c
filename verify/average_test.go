package verify_test

import (
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// TestHostAveragePools: beside the float-scale requantizer, LeNet-5's
// average pool (fused into conv2) moves to the host, where it averages as
// ONNX Runtime does (quant.AveragePoolORT over the layer's unpooled
// output); beside TFLite's requantizers the network stays as it is.
func TestHostAveragePools(t *testing.T) {
	model := modeltest.Quantize(t, "lenet5_mnist_qdq.onnx", dataset.MNIST, 1)
	net := model.Net
	kinds := func(n *compile.Network) string {
		var k []string
		for _, op := range n.Ops {
			k = append(k, op.Kind.String())
		}
		return strings.Join(k, " ")
	}
	before := kinds(net)
	fixed := lowprecConfig().Resolve()
	fixed.Rounding = arch.DoubleRounding
	if same, err := verify.HostAveragePools(net, fixed); err != nil || same != net {
		t.Fatalf("double rounding: got a new network (%v)", err)
	}
	cfg := lowprecConfig().Resolve()
	split, err := verify.HostAveragePools(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(split), "layer layer pool flatten layer layer layer softmax"; got != want {
		t.Fatalf("ops %q, want %q", got, want)
	}
	if kinds(net) != before || net.Ops[1].Layer.Pool == nil {
		t.Fatal("the network was changed")
	}
	pool := split.Ops[2]
	pre := split.Tensors[pool.Inputs[0]]
	if pool.Average == nil || pool.Output != net.Ops[1].Output || split.Ops[1].Output != pre.Name || !pre.Uint8 {
		t.Fatalf("pool op %+v reads %+v", pool, pre)
	}
	// Ten images: the pool's output is ONNX Runtime's average of the
	// layer's, and TFLite's integer average differs from it somewhere.
	const images = 10
	var input []int8
	for i := 0; i < images; i++ {
		input = append(input, model.Image(i)...)
	}
	vals, err := verify.GoldenNetwork(cfg, split, input, images)
	if err != nil {
		t.Fatal(err)
	}
	unsplit, err := verify.GoldenNetwork(cfg, net, input, images)
	if err != nil {
		t.Fatal(err)
	}
	p := quant.PoolParams{Window: quant.Window{StrideH: 2, StrideW: 2}, FilterH: 2, FilterW: 2}
	want, _, err := quant.AveragePoolORT(vals[pre.Name].Data, vals[pre.Name].Shape, p, *pool.Average)
	if err != nil {
		t.Fatal(err)
	}
	got, tflite := vals[pool.Output].Data, unsplit[pool.Output].Data
	differ := 0
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: %d, ONNX Runtime's average %d", i, got[i], want[i])
		}
		if tflite[i] != want[i] {
			differ++
		}
	}
	if differ == 0 {
		t.Error("the fused integer average never differs from ONNX Runtime's: the split is untested")
	}
	t.Logf("%d images: %d pooled values, %d differ from the pooling unit's integer average", images, len(want), differ)
}
