package compile_test

import (
	"os"
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
)

func TestZZDump(t *testing.T) {
	net, _ := quantizeModel(t, "lenet5_mnist.onnx", dataset.MNIST, 5)
	g, err := gen.LoadConfig("../configs/core.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.Config{Arch: g.Resolve(), UBBytes: 131072, WeightBytes: 65536}
	prog, err := compile.CompileProgram(cfg, net, 32)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/lenet.s", []byte(prog.Text()), 0o644)
}

func TestZZConv(t *testing.T) {
	w, _ := core.Assemble("convolve ub=0x55c0 images=1 h=28 w=28 c=1 k=5 s=1 d=1 pad=2 zp=-128 waddr=0x0 n=6 acc=0\nconvolve ub=0x6200 images=5 h=14 w=14 c=6 k=5 s=1 d=1 pad=0 zp=-128 waddr=0x8000 n=8 acc=0\nhalt")
	g, _ := gen.LoadConfig("../configs/core.json")
	cfg := core.Config{Arch: g.Resolve(), UBBytes: 131072, WeightBytes: 65536}
	for i := 0; i < 2; i++ {
		c, err := core.Cycles(cfg, 20, append(append([]core.Word{}, w[i]), w[2]), nil)
		t.Log(c, err)
	}
}
