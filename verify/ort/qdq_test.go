//go:build ort

package ort

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

var (
	ortImages    = flag.Int("ort-images", 100, "test images each QDQ model runs on ONNX Runtime and the golden model")
	ortRTLImages = flag.Int("ort-rtl-images", 4, "of those, images that also run on the RTL (Verilator)")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if err := Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	Close()
	os.Exit(code)
}

// floatConfig is the configuration the checks run: the shipped lowprec
// configuration (an 8x8 array, the float-scale requantizer, pooling with
// L2).
func floatConfig(t *testing.T) gen.Config {
	t.Helper()
	cfg, err := gen.LoadConfig(filepath.Join(filepath.Dir(modeltest.Path("x")), "..", "configs", "lowprec.json"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// nhwc reorders an ONNX NCHW (or N×F) output into tpugen's NHWC layout of
// shape s.
func nhwc(o Output, s quant.Shape) ([]int8, error) {
	if len(o.Int8) != s.Len() {
		return nil, fmt.Errorf("ONNX Runtime gave %d values (shape %v), tpugen's tensor is %v", len(o.Int8), o.Shape, s)
	}
	if len(o.Shape) != 4 {
		return o.Int8, nil
	}
	out := make([]int8, len(o.Int8))
	for n := 0; n < s.N; n++ {
		for c := 0; c < s.C; c++ {
			for y := 0; y < s.H; y++ {
				for x := 0; x < s.W; x++ {
					out[s.Index(n, y, x, c)] = o.Int8[((n*s.C+c)*s.H+y)*s.W+x]
				}
			}
		}
	}
	return out, nil
}

// tally counts compared values and differences per checked tensor.
type tally struct {
	order        []string
	values, diff map[string]int
	first        map[string]string
}

func newTally() *tally {
	return &tally{values: map[string]int{}, diff: map[string]int{}, first: map[string]string{}}
}

func (t *tally) add(name string, want, got []int8, where string) {
	if _, ok := t.values[name]; !ok {
		t.order = append(t.order, name)
	}
	t.values[name] += len(want)
	for i := range want {
		if want[i] != got[i] {
			if t.diff[name] == 0 {
				t.first[name] = fmt.Sprintf("%s index %d: ONNX Runtime %d, tpugen %d", where, i, want[i], got[i])
			}
			t.diff[name]++
		}
	}
}

// qdqModels are the committed QDQ models and their data sets.
var qdqModels = []struct{ file, data string }{
	{"lenet5_mnist_qdq.onnx", dataset.MNIST},
	{"lenet5_mnist_qdq_pc.onnx", dataset.MNIST},
	{"fashion_cnn_qdq.onnx", dataset.Fashion},
	{"fashion_cnn_qdq_pc.onnx", dataset.Fashion},
}

// TestQDQModels runs each committed QDQ model on ONNX Runtime with every
// QuantizeLinear output added as a graph output, and the same images
// through tpugen's network with the float-scale requantizer. Every op is
// checked on its own: it reads ONNX Runtime's int8 input (the first
// QuantizeLinear's output is the network's input), and its int8 output is
// compared with ONNX Runtime's, and a layer with a fused pool is compared
// before the pool too. The first images also run on the RTL, which must
// equal the golden model.
func TestQDQModels(t *testing.T) {
	cfg := floatConfig(t)
	acfg := cfg.Resolve()
	for _, qm := range qdqModels {
		t.Run(qm.file, func(t *testing.T) {
			model := modeltest.Quantize(t, qm.file, qm.data, 1)
			// Average pools run on the host, in ONNX Runtime's float32
			// arithmetic: the layer before one writes "<op>/prepool".
			net, err := verify.HostAveragePools(model.Net, acfg)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(modeltest.Path(qm.file))
			if err != nil {
				t.Fatal(err)
			}
			g, err := ParseGraph(data)
			if err != nil {
				t.Fatal(err)
			}
			// The tensors to fetch: every tpugen tensor a QuantizeLinear
			// quantizes, and each layer's tensor before its fused pool.
			fetch := map[string]string{} // tpugen tensor or "<op>/prepool" → ONNX output
			for name := range net.Tensors {
				if q, ok := g.Quantized[name]; ok {
					fetch[name] = q
				}
			}
			for _, op := range model.Net.Ops { // before the split: every fused pool
				if !op.OnHardware() || op.Layer.Pool == nil {
					continue
				}
				n := g.Node(op.Name)
				var prev *string
				for n != nil && n.GetOpType() != "MaxPool" && n.GetOpType() != "AveragePool" {
					if _, ok := g.Quantized[n.GetOutput()[0]]; ok {
						prev = &n.GetOutput()[0]
					}
					n = g.Next(n)
				}
				if n == nil || prev == nil {
					t.Fatalf("%s: no pool found after the layer in the ONNX graph", op.Name)
				}
				q, ok := g.Quantized[*prev]
				if !ok {
					t.Fatalf("%s: the tensor %s before the pool is not quantized", op.Name, *prev)
				}
				fetch[op.Name+"/prepool"] = q
			}
			if _, ok := fetch[net.Input]; !ok {
				t.Fatalf("the network input %s is not a QuantizeLinear's input", net.Input)
			}
			keys := make([]string, 0, len(fetch))
			for k := range fetch {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var outs []string
			var types []int32
			for _, k := range keys {
				outs = append(outs, fetch[k])
				types = append(types, g.QuantType[fetch[k]])
			}
			mdata, err := g.WithOutputs(outs, types)
			if err != nil {
				t.Fatal(err)
			}
			inName := g.Model.GetGraph().GetInput()[0].GetName()
			sess, err := NewSession(mdata, []string{inName}, outs)
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()

			var man *arch.Manifest
			var dir string
			var simr sim.Simulator
			if *ortRTLImages > 0 {
				man, dir, simr = genRTL(t, cfg)
			}
			tl := newTally()
			rtlValues, rtlDiff := 0, 0
			n := min(*ortImages, model.Test.Len())
			for img := 0; img < n; img++ {
				pix := modeltest.Pixels(model.Test.Images[img])
				in, err := Float32([]int64{1, 1, int64(model.Test.H), int64(model.Test.W)}, pix)
				if err != nil {
					t.Fatal(err)
				}
				res, err := sess.Run(in)
				in.Destroy()
				if err != nil {
					t.Fatal(err)
				}
				ref := map[string]verify.Value{}
				for i, k := range keys {
					s := net.Tensors[k]
					var shape quant.Shape
					if s != nil {
						shape = s.Shape
					} else {
						shape = prepoolShape(t, net, k)
					}
					shape.N = 1
					v, err := nhwc(res[i], shape)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					ref[k] = verify.Value{Data: v, Shape: shape}
				}
				checkOps(t, acfg, net, ref, tl, fmt.Sprintf("image %d", img))
				if img < *ortRTLImages {
					v, d := checkRTL(t, acfg, man, dir, simr, net, ref[net.Input].Data)
					rtlValues += v
					rtlDiff += d
				}
			}
			total, diffs := 0, 0
			for _, k := range tl.order {
				t.Logf("%-28s %8d int8 values compared, %d differ %s", k, tl.values[k], tl.diff[k], tl.first[k])
				total += tl.values[k]
				diffs += tl.diff[k]
				if tl.diff[k] > 0 {
					t.Errorf("%s: %d of %d int8 values differ from ONNX Runtime (first: %s)", k, tl.diff[k], tl.values[k], tl.first[k])
				}
			}
			t.Logf("%s: %d images on ONNX Runtime %s, %d int8 values compared, %d differ; RTL (%d images): %d values, %d differ from the golden model",
				qm.file, n, Version(), total, diffs, min(n, *ortRTLImages), rtlValues, rtlDiff)
			if rtlDiff > 0 {
				t.Errorf("the RTL differs from the golden model in %d values", rtlDiff)
			}
		})
	}
}

// prepoolShape is the shape of layer op's output before its pool.
func prepoolShape(t *testing.T, net *compile.Network, key string) quant.Shape {
	for _, op := range net.Ops {
		if op.Name+"/prepool" == key {
			in := net.Tensors[op.Inputs[0]].Shape
			l := op.Bind(make([]int8, in.Len()), in)
			s, err := l.OutputShape()
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("no tensor %s", key)
	return quant.Shape{}
}

// checkOps computes every op of the network from ONNX Runtime's values
// (ref) where it has them, else from tpugen's own, and tallies each op's
// output against ref.
func checkOps(t *testing.T, cfg arch.Config, net *compile.Network, ref map[string]verify.Value, tl *tally, where string) {
	t.Helper()
	vals := map[string]verify.Value{net.Input: ref[net.Input]}
	for _, op := range net.Ops {
		in := vals[op.Inputs[0]]
		var out verify.Value
		var err error
		if op.OnHardware() {
			l := op.Bind(in.Data, in.Shape)
			if p := l.Pool; p != nil {
				nopool := *l
				nopool.Pool = nil
				pre, preShape, perr := verify.LayerReference(cfg, &nopool)
				if perr != nil {
					t.Fatalf("%s: %v", op.Name, perr)
				}
				r := ref[op.Name+"/prepool"]
				tl.add(op.Name+" (before pool)", r.Data, pre, where)
				// The pool reads ONNX Runtime's tensor: each step on its own.
				prm := p.Params()
				switch p.Kind {
				case arch.AveragePool:
					out.Data, out.Shape, err = quant.AveragePool(r.Data, preShape, prm)
				case arch.L2Pool:
					out.Data, out.Shape, err = quant.L2Pool(r.Data, preShape, prm, p.ZeroPoint)
				default:
					out.Data, out.Shape, err = quant.MaxPool(r.Data, preShape, prm)
				}
			} else {
				out.Data, out.Shape, err = verify.LayerReference(cfg, l)
			}
		} else {
			var ins [][]int8
			var shapes []quant.Shape
			for _, name := range op.Inputs {
				ins = append(ins, vals[name].Data)
				shapes = append(shapes, vals[name].Shape)
			}
			out.Data, out.Shape, err = op.RunHostRounding(ins, shapes, cfg.Rounding)
		}
		if err != nil {
			t.Fatalf("%s: %v", op.Name, err)
		}
		if r, ok := ref[op.Output]; ok {
			tl.add(fmt.Sprintf("%s (%s)", op.Name, op.Describe()), r.Data, out.Data, where)
			out = r
		}
		vals[op.Output] = out
	}
}

func genRTL(t *testing.T, cfg gen.Config) (*arch.Manifest, string, sim.Simulator) {
	t.Helper()
	out, err := gen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), cfg.Name)
	if err := out.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	man, err := arch.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.SimulatorByName("verilator")
	if err != nil {
		t.Fatal(err)
	}
	return man, dir, s
}

// checkRTL runs one image (ONNX Runtime's int8 input) through the network
// on the RTL and counts the hardware layers' values that differ from the
// golden model's.
func checkRTL(t *testing.T, cfg arch.Config, man *arch.Manifest, dir string, s sim.Simulator, net *compile.Network, input []int8) (values, diff int) {
	t.Helper()
	golden, err := verify.GoldenNetwork(cfg, net, input, 1)
	if err != nil {
		t.Fatal(err)
	}
	run, err := verify.RunNetwork(context.Background(), s, man, dir, net, input, 1, golden, verify.GEMMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range run.Ops {
		if o.Hardware {
			values += o.Shape.Len()
			diff += o.Mismatch.Count
		}
	}
	return values, diff
}
