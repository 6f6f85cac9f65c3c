package verify_test

import (
	"flag"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/verify"
)

var coreNet = flag.Int("core-net", 0, "TestCoreNetwork: run LeNet on rtl-out/core in Verilator with this batch (0: skip)")

// TestCoreNetwork compiles LeNet into one program per batch, runs it on
// the shipped core in Verilator and compares every image's output with
// the program on core.Machine; it reports the core's counters.
func TestCoreNetwork(t *testing.T) {
	if *coreNet <= 0 {
		t.Skip("run with -core-net BATCH")
	}
	man, err := arch.LoadManifest("../rtl-out/core")
	if err != nil {
		t.Fatal(err)
	}
	c, err := verify.NewCoreRTL(man, "../rtl-out/core")
	if err != nil {
		t.Fatal(err)
	}
	m := modeltest.Quantize(t, "lenet5_mnist.onnx", dataset.MNIST, 50)
	batch := *coreNet
	var input []int8
	for i := 0; i < batch; i++ {
		input = append(input, m.Image(i)...)
	}
	prog, err := compile.CompileProgram(c.Config, m.Net, batch)
	if err != nil {
		t.Fatal(err)
	}
	hist := map[string]int{}
	for _, s := range prog.Segments {
		for _, in := range s.Insts {
			f, _ := core.FormatOf(in.Op)
			hist[f.Mnemonic]++
		}
	}
	t.Logf("LeNet batch %d: %d segments, instructions %v, UB peak %d bytes", batch, len(prog.Segments), hist, prog.UBPeak)
	mach, err := core.NewMachine(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	want, err := compile.RunProgram(mach, prog, input)
	if err != nil {
		t.Fatal(err)
	}
	x := &verify.CoreExecutor{RTL: c, Sim: "verilator", Opt: verify.CoreRunOptions{MaxCycles: 1 << 30}}
	got, err := compile.RunProgram(x, prog, input)
	if err != nil {
		t.Fatal(err)
	}
	out := prog.Net.Output
	if string(int8Bytes(want[out].Data)) != string(int8Bytes(got[out].Data)) {
		t.Fatalf("network output differs from core.Machine's")
	}
	s := x.Total
	ideal := float64(s.MACs) / float64(c.Config.Arch.Rows*c.Config.Arch.Cols)
	t.Logf("RTL core: %d cycles, array busy %d, weight stall %d, useful MACs %d; utilization incl. data movement %.1f%% (ideal %.0f cycles), %.0f cycles per image",
		s.Cycles, s.Busy, s.WStall, s.MACs, 100*ideal/float64(s.Cycles), ideal, float64(s.Cycles)/float64(batch))
}

func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}
