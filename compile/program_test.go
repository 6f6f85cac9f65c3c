package compile_test

import (
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/verify"
)

// quantizeModel imports a committed model and quantizes it on calib
// training images, as verify's model tests do.
func quantizeModel(t *testing.T, file, data string, calib int) (*compile.Network, func(i int) []int8) {
	m := modeltest.Quantize(t, file, data, calib)
	return m.Net, m.Image
}

func coreConfig(a arch.Config) core.Config {
	return core.Config{Arch: a, UBBytes: 1 << 20, WeightBytes: 64 << 10}
}

// TestProgramModels compiles each committed model to one program for a
// batch of 16 and runs it on the instruction-level model: every image's
// output must equal the golden network's.
func TestProgramModels(t *testing.T) {
	for _, m := range []struct{ file, data string }{
		{"lenet5_mnist.onnx", dataset.MNIST},
		{"fashion_cnn.onnx", dataset.Fashion},
	} {
		t.Run(m.file, func(t *testing.T) {
			net, image := quantizeModel(t, m.file, m.data, 50)
			const batch = 16
			var input []int8
			for i := 0; i < batch; i++ {
				input = append(input, image(i)...)
			}
			single := gen.DefaultConfig().Resolve()
			single.Name, single.Rounding = "single-rounding", arch.SingleRounding
			for _, a := range []arch.Config{gen.DefaultConfig().Resolve(), smallCore(), single} {
				cfg := coreConfig(a)
				prog, err := compile.CompileProgram(cfg, net, batch)
				if err != nil {
					t.Fatalf("%s: %v", a.Name, err)
				}
				mach, err := core.NewMachine(cfg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := compile.RunProgram(mach, prog, input)
				if err != nil {
					t.Fatalf("%s: %v", a.Name, err)
				}
				want, err := verify.GoldenNetwork(a, net, input, batch)
				if err != nil {
					t.Fatal(err)
				}
				g, w := got[net.Output], want[net.Output]
				if g.Shape != w.Shape {
					t.Fatalf("%s: output shape %v, golden %v", a.Name, g.Shape, w.Shape)
				}
				per := w.Shape.Len() / batch
				for i := 0; i < batch; i++ {
					if string(int8Bytes(g.Data[i*per:(i+1)*per])) != string(int8Bytes(w.Data[i*per:(i+1)*per])) {
						t.Errorf("%s: image %d: core %v, golden %v", a.Name, i, g.Data[i*per:(i+1)*per], w.Data[i*per:(i+1)*per])
					}
				}
				// Every tensor the host saw equals the golden one.
				for name, v := range got {
					if string(int8Bytes(v.Data)) != string(int8Bytes(want[name].Data)) {
						t.Errorf("%s: tensor %s differs from the golden network", a.Name, name)
					}
				}
				checkText(t, prog)
				var total int
				for _, tn := range net.Tensors {
					total += tn.Shape.Len() * batch
				}
				if prog.UBPeak >= total {
					t.Errorf("%s: UB peak %d bytes, no less than all tensors (%d): dead tensors are not reused", a.Name, prog.UBPeak, total)
				}
				var host []string
				for _, s := range prog.Segments {
					for _, o := range s.Host {
						host = append(host, o.Describe())
					}
				}
				t.Logf("%s on %s: %d segments, %d instructions, UB peak %d bytes, %d MACs, host steps %v", m.file, a.Name,
					len(prog.Segments), prog.Instructions(), prog.UBPeak, mach.Stats.MACs, host)
			}
		})
	}
}

// smallCore has few accumulator rows, lanes and parameter sets, so layers
// split into passes, column tiles and bands of output rows.
func smallCore() arch.Config {
	a := gen.DefaultConfig().Resolve()
	a.Name, a.Cols, a.Rows, a.AccDepth, a.ParamSets, a.PoolHeight = "small-core", 4, 4, 64, 2, 8
	return a
}

func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestProgramRefusals(t *testing.T) {
	net, _ := quantizeModel(t, "lenet5_mnist.onnx", dataset.MNIST, 5)
	a := gen.DefaultConfig().Resolve()
	tiny := a
	tiny.AccDepth = 16
	narrow := a
	narrow.PoolWidth = 16
	for _, tc := range []struct {
		cfg  core.Config
		want string
	}{
		{core.Config{Arch: a, UBBytes: 4096, WeightBytes: 64 << 10}, "enlarge the unified buffer"},
		{core.Config{Arch: a, UBBytes: 64 << 10, WeightBytes: 1000}, "enlarge the weight memory"},
		{core.Config{Arch: tiny, UBBytes: 64 << 10, WeightBytes: 64 << 10}, "enlarge acc_depth (16) to at least 56"},
		{core.Config{Arch: narrow, UBBytes: 64 << 10, WeightBytes: 64 << 10}, "raise pool_width (16)"},
	} {
		_, err := compile.CompileProgram(tc.cfg, net, 16)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %v, want one line saying %q", err, tc.want)
		}
	}
}

// checkText: the program's text assembles to the segments' words.
func checkText(t *testing.T, prog *compile.Program) {
	t.Helper()
	var want []core.Word
	for _, seg := range prog.Segments {
		w, err := seg.Words()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, w...)
	}
	got, err := core.Assemble(prog.Text())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("program text assembles to %d words, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("program text word %d differs", i)
		}
	}
}

// TestProgramBatches: odd batches leave partial chunks of images and rows.
func TestProgramBatches(t *testing.T) {
	net, image := quantizeModel(t, "lenet5_mnist.onnx", dataset.MNIST, 20)
	for _, batch := range []int{1, 5} {
		var input []int8
		for i := 0; i < batch; i++ {
			input = append(input, image(100+i)...)
		}
		for _, a := range []arch.Config{gen.DefaultConfig().Resolve(), smallCore()} {
			cfg := coreConfig(a)
			prog, err := compile.CompileProgram(cfg, net, batch)
			if err != nil {
				t.Fatal(err)
			}
			mach, _ := core.NewMachine(cfg)
			got, err := compile.RunProgram(mach, prog, input)
			if err != nil {
				t.Fatal(err)
			}
			want, err := verify.GoldenNetwork(a, net, input, batch)
			if err != nil {
				t.Fatal(err)
			}
			if string(int8Bytes(got[net.Output].Data)) != string(int8Bytes(want[net.Output].Data)) {
				t.Errorf("batch %d on %s: core %v, golden %v", batch, a.Name, got[net.Output].Data, want[net.Output].Data)
			}
		}
	}
}

// TestProgramFault: a corrupted program stops with the core's error code,
// named with its segment.
func TestProgramFault(t *testing.T) {
	net, image := quantizeModel(t, "lenet5_mnist.onnx", dataset.MNIST, 5)
	cfg := coreConfig(gen.DefaultConfig().Resolve())
	prog, err := compile.CompileProgram(cfg, net, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the first weight load: the first convolution reads weights
	// never written.
	seg := prog.Segments[0]
	k := 0 // the chunk of the host stream the instruction reads
	for i, in := range seg.Insts {
		if in.Op == core.OpReadWeights {
			seg.Insts = append(seg.Insts[:i:i], seg.Insts[i+1:]...)
			seg.In = append(seg.In[:k:k], seg.In[k+1:]...)
			break
		}
		if in.Op == core.OpReadHost || in.Op == core.OpLoadParams {
			k++
		}
	}
	mach, _ := core.NewMachine(cfg)
	_, err = compile.RunProgram(mach, prog, image(0))
	if err == nil || !strings.Contains(err.Error(), "segment 0: core error 5 (read of unwritten data)") {
		t.Errorf("error %v, want the unwritten-data fault", err)
	}
}

// TestProgramArrayBound reports, for LeNet at batch 32 and batch 1 on the
// default configuration, the best array utilization the compiled program
// allows (core.Bound), and checks that its MACs are the network's.
func TestProgramArrayBound(t *testing.T) {
	net, _ := quantizeModel(t, "lenet5_mnist.onnx", dataset.MNIST, 5)
	cfg := coreConfig(gen.DefaultConfig().Resolve())
	for _, batch := range []int{1, 32} {
		prog, err := compile.CompileProgram(cfg, net, batch)
		if err != nil {
			t.Fatal(err)
		}
		var words []core.Word
		for _, s := range prog.Segments {
			w, err := s.Words()
			if err != nil {
				t.Fatal(err)
			}
			words = append(words, w...)
		}
		b, err := core.Bound(cfg, words)
		if err != nil {
			t.Fatal(err)
		}
		var macs int64
		for _, op := range net.Ops {
			if op.OnHardware() {
				macs += op.MACs()
			}
		}
		if b.MACs != macs*int64(batch) {
			t.Errorf("batch %d: program MACs %d, network %d", batch, b.MACs, macs*int64(batch))
		}
		t.Logf("LeNet batch %d on %s: %d instructions, %d MACs, array-busy bound %d cycles, utilization at most %.1f%%",
			batch, cfg.Arch.Name, len(words), b.MACs, b.Cycles, 100*b.Utilization())
	}
}
