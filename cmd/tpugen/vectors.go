package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/npy"
	"github.com/tpugen/tpugen/verify"
)

func runVectors(e *env, args []string) error {
	fs := e.flagSet("[-model M.onnx] [-data mnist|fashion|DIR] -image I -out DIR [-config FILE | -rtl DIR]",
		"Writes per-layer golden vectors of one test image through the quantized model, for\n"+
			"other testbenches to replay: for every op its int8 input and expected output (text and\n"+
			"NumPy .npy), and for every hardware layer its weights, biases, requantization\n"+
			"parameters and, per pass, the stream beats of the matrix unit in the run-file hex\n"+
			"format (w_in.txt, a_in.txt, p_in.txt to send; y_out.txt expected), laid out as the\n"+
			"configuration's manifest says. DIR/README.txt describes the files.",
		"  tpugen vectors -model models/lenet5_mnist.onnx -image 0 -out vectors/\n"+
			"  tpugen vectors -model models/lenet5_mnist.onnx -image 7 -config configs/small.json -out v7/")
	model := fs.String("model", defaultModel, "ONNX model `FILE` (float)")
	data := fs.String("data", "", "test set: mnist, fashion or a `DIR` of IDX files (default: the model's, else mnist)")
	index := fs.Int("image", 0, "test image `I`")
	out := fs.String("out", "", "output `DIR` (required; created, or replaced if it holds vectors)")
	calib := fs.Int("calib", 200, "calibrate activations on the first `N` training images")
	method := fs.String("calib-method", "minmax", "calibration `METHOD`: minmax, percentile, mse or entropy")
	src := e.rtlFlags(fs)
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	if *out == "" {
		return badInputf("-out DIR is required (see tpugen vectors -h)")
	}
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(*out, "README.txt")); err != nil {
			return badInputf("-out %s exists and holds no vectors (no README.txt); refusing to replace it", *out)
		}
	}
	m := modelRun{model: *model, data: *data, n: 1, skip: *index, batch: 1, calib: *calib, method: *method,
		scale: nanValue(), mean: nanValue(), std: nanValue()}
	if *index < 0 {
		return badInputf("-image %d: want an index of the test set", *index)
	}
	man, _, cleanup, err := src.open()
	if err != nil {
		return err
	}
	defer cleanup()
	lm, err := e.loadModel(&m)
	if err != nil {
		return err
	}
	files, err := goldenVectors(man, lm, m.model, m.data, *index)
	if err != nil {
		return err
	}
	if err := writeTree(*out, files); err != nil {
		return badInput(err)
	}
	fmt.Fprintf(e.stdout, "wrote %d files for %d ops to %s\n", len(files), len(lm.net.Ops), *out)
	return nil
}

// goldenVectors computes test image index through the quantized model on
// the golden model and returns the vector files (relative path → content).
func goldenVectors(man *arch.Manifest, lm *loadedModel, model, data string, index int) (map[string][]byte, error) {
	net := lm.net
	golden, err := verify.GoldenNetwork(man.Config, net, lm.int8Image(index), 1)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var readme strings.Builder
	fmt.Fprintf(&readme, "Golden vectors of %s, %s test image %d (label %d), for configuration %s.\n", model, data, index, lm.test.Labels[index], man.Config.Name)
	fmt.Fprintf(&readme, "Tensors are int8 NHWC (batch 1); .txt files hold one value per line, .npy the same array.\n")
	fmt.Fprintf(&readme, "Hardware layers hold weights.npy (OHWI or N×K), bias.npy (int32, the model's), multipliers.npy,\n")
	fmt.Fprintf(&readme, "shifts.npy and layer.json, and per pass (a layer with more output channels than the parameter\n")
	fmt.Fprintf(&readme, "sets hold takes several) the beats of the matrix unit's streams as hex payloads, one per line,\n")
	fmt.Fprintf(&readme, "packed by the manifest's layouts: send p_in.txt first, then w_in.txt and a_in.txt; y_out.txt is\n")
	fmt.Fprintf(&readme, "what the unit must send back, in order.\n\n")
	for k, op := range net.Ops {
		dir := fmt.Sprintf("%02d_%s", k, strings.ReplaceAll(shortName(op.Name), "/", "_"))
		in, outV := golden[op.Inputs[0]], golden[op.Output]
		addTensor(files, dir+"/input", in)
		addTensor(files, dir+"/output", outV)
		where := "host"
		if op.OnHardware() {
			where = "hardware"
			if err := layerVectors(files, dir, man, op.Bind(in.Data, in.Shape), outV); err != nil {
				return nil, fmt.Errorf("%s: %w", op.Name, err)
			}
		}
		fmt.Fprintf(&readme, "%s  %s (%s), output %v\n", dir, op.Describe(), where, outV.Shape)
	}
	files["README.txt"] = []byte(readme.String())
	return files, nil
}

func nanValue() float64 { return math.NaN() }

// addTensor adds name.txt and name.npy of an int8 tensor.
func addTensor(files map[string][]byte, name string, v verify.Value) {
	var txt strings.Builder
	for _, x := range v.Data {
		fmt.Fprintln(&txt, x)
	}
	files[name+".txt"] = []byte(txt.String())
	var b bytes.Buffer
	s := v.Shape
	npy.Write(&b, []int{s.N, s.H, s.W, s.C}, v.Data)
	files[name+".npy"] = b.Bytes()
}

// layerVectors adds a hardware layer's parameters and, per pass, its
// stream beats with the y_out beats the golden output implies.
func layerVectors(files map[string][]byte, dir string, man *arch.Manifest, l *compile.Layer, out verify.Value) error {
	ws := l.WeightShape
	var b bytes.Buffer
	npy.Write(&b, []int{ws.N, ws.H, ws.W, ws.C}, l.Weights)
	files[dir+"/weights.npy"] = append([]byte{}, b.Bytes()...)
	for name, write := range map[string]func(io.Writer) error{
		"bias":        func(w io.Writer) error { return npy.Write(w, []int{len(l.Bias)}, l.Bias) },
		"multipliers": func(w io.Writer) error { return npy.Write(w, []int{len(l.Requant.Multipliers)}, l.Requant.Multipliers) },
		"shifts": func(w io.Writer) error {
			s := make([]int32, len(l.Requant.Shifts))
			for i, v := range l.Requant.Shifts {
				s[i] = int32(v)
			}
			return npy.Write(w, []int{len(s)}, s)
		},
	} {
		b.Reset()
		if err := write(&b); err != nil {
			return err
		}
		files[dir+"/"+name+".npy"] = append([]byte{}, b.Bytes()...)
	}
	lo, hi := l.Requant.Range()
	meta := map[string]any{"kind": l.Kind.String(), "input_zero_point": l.InputZP, "output_zero_point": l.Requant.ZeroPoint,
		"clamp": []int32{lo, hi}, "activation": l.Act.Func.String(), "rounding": man.Config.Rounding.String()}
	if l.Kind == compile.Conv {
		meta["window"] = l.Window
	}
	if l.Pool != nil {
		meta["pool"] = l.Pool
	}
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	files[dir+"/layer.json"] = append(js, '\n')

	passes, err := compile.PlanPasses(man, l)
	if err != nil {
		return err
	}
	for i, pp := range passes {
		p, plan := pp.Pass, pp.Plan
		pd := fmt.Sprintf("%s/pass%d", dir, i)
		files[pd+"/w_in.txt"] = hexLines(plan.GEMM.W, man.Stream(arch.StreamW).Width)
		files[pd+"/a_in.txt"] = hexLines(plan.GEMM.A, man.Stream(arch.StreamA).Width)
		files[pd+"/p_in.txt"] = hexLines(plan.Params, man.Stream(arch.StreamP).Width)
		beats, err := expectedBeats(man, plan, p, out)
		if err != nil {
			return err
		}
		files[pd+"/y_out.txt"] = hexLines(beats, man.Stream(arch.StreamY).Width)
	}
	return nil
}

// expectedBeats packs the golden output of a pass into the y_out beats the
// unit sends: per column tile, one beat per output pixel; lanes past the
// layer's channels carry what the pipeline makes of a zero accumulator
// with zero parameters (the output zero point, clamped and activated).
func expectedBeats(man *arch.Manifest, plan *compile.LayerPlan, p compile.Pass, out verify.Value) ([]*big.Int, error) {
	C, n := man.Config.Cols, p.Layer.WeightShape.N
	lo, hi := p.Layer.Requant.Range()
	pad := int64(p.Layer.Act.Apply(int8(max(lo, min(hi, p.Layer.Requant.ZeroPoint)))))
	ys := man.Stream(arch.StreamY)
	var beats []*big.Int
	for i := 0; i < plan.Beats(); i++ {
		t, px := i/plan.PerTile, i%plan.PerTile
		vals := make([]int64, C)
		for j := range vals {
			c := t*C + j
			vals[j] = pad
			if c < n {
				vals[j] = int64(out.Data[px*out.Shape.C+p.C0+c])
			}
		}
		b, err := ys.Pack(arch.Values{"values": vals, "tag": {int64(t)}})
		if err != nil {
			return nil, err
		}
		beats = append(beats, b)
	}
	return beats, nil
}

// hexLines formats payloads as the run files do: lower-case hex, no
// prefix, ceil(width/4) digits, one per line.
func hexLines(vs []*big.Int, width int) []byte {
	var b strings.Builder
	digits := (width + 3) / 4
	for _, v := range vs {
		s := v.Text(16)
		b.WriteString(strings.Repeat("0", max(0, digits-len(s))) + s + "\n")
	}
	return []byte(b.String())
}

// writeTree writes files (relative paths) into dir through a temporary
// sibling directory that replaces dir only when everything is written.
func writeTree(dir string, files map[string][]byte) error {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for name, data := range files {
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}
