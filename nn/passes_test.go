package nn

import (
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
)

// convBNModel is x → Conv(w, b) → c → BatchNormalization → y, plus
// whatever extra nodes a test adds.
func convBNModel(r *rand.Rand, extra ...tnode) tmodel {
	pos := randTensor(r, 3)
	for i := range pos.Float32 {
		pos.Float32[i] += 1.5 // variances > 0
	}
	return tmodel{
		opset:   15,
		inputs:  []Value{{Name: "x", DType: Float32, Shape: []int{1, 2, 5, 5}}},
		outputs: []Value{{Name: "y", DType: Float32}},
		inits: map[string]*Tensor{
			"w": randTensor(r, 3, 2, 3, 3), "b": randTensor(r, 3),
			"scale": randTensor(r, 3), "beta": randTensor(r, 3), "mean": randTensor(r, 3), "var": pos,
		},
		nodes: append([]tnode{
			{op: "Conv", name: "conv", in: []string{"x", "w", "b"}, out: []string{"c"}, attrs: map[string]any{"pads": []int64{1, 1, 1, 1}}},
			{op: "BatchNormalization", name: "bn", in: []string{"c", "scale", "beta", "mean", "var"}, out: []string{"y"}, attrs: map[string]any{"epsilon": float32(1e-3)}},
		}, extra...),
	}
}

func ops(g *Graph) string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.Op)
	}
	return strings.Join(s, " ")
}

func TestFoldBatchNorm(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	x := randTensor(r, 1, 2, 5, 5)
	tests := []struct {
		desc  string
		model tmodel
		want  string // node ops after the pass
	}{
		{"conv then bn", convBNModel(r), "Conv"},
		{"conv without bias", func() tmodel {
			m := convBNModel(r)
			m.nodes[0].in = []string{"x", "w"}
			return m
		}(), "Conv"},
		{"conv output read twice", func() tmodel {
			m := convBNModel(r, tnode{op: "Relu", in: []string{"c"}, out: []string{"z"}})
			m.outputs = append(m.outputs, Value{Name: "z", DType: Float32})
			return m
		}(), "Conv BatchNormalization Relu"},
		{"bn after relu", func() tmodel {
			m := convBNModel(r)
			m.nodes = []tnode{m.nodes[0], {op: "Relu", in: []string{"c"}, out: []string{"r"}}, m.nodes[1]}
			m.nodes[2].in[0] = "r"
			return m
		}(), "Conv Relu BatchNormalization"},
		{"weights not constant", func() tmodel {
			m := convBNModel(r)
			m.inputs = append(m.inputs, Value{Name: "w2", DType: Float32, Shape: []int{3, 2, 3, 3}})
			m.nodes[0].in[1] = "w2"
			return m
		}(), "Conv BatchNormalization"},
	}
	for _, tc := range tests {
		g := tc.model.parse(t)
		feed := map[string]*Tensor{"x": x}
		for _, v := range g.Inputs {
			if v.Name == "w2" {
				feed["w2"] = tc.model.inits["w"]
			}
		}
		before, err := Run(g, feed)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if err := FoldBatchNorm(g); err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if got := ops(g); got != tc.want {
			t.Errorf("%s: nodes %q, want %q", tc.desc, got, tc.want)
		}
		after, err := Run(g, feed)
		if err != nil {
			t.Fatalf("%s: after folding: %v", tc.desc, err)
		}
		for name, want := range before {
			if err := compareTensors(after[name], want, 1e-5, 1e-5); err != nil {
				t.Errorf("%s: output %s: %v", tc.desc, name, err)
			}
		}
	}
}

func TestFoldBatchNormKeepsSharedWeights(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	m := convBNModel(r, tnode{op: "Conv", in: []string{"x", "w"}, out: []string{"z"}})
	m.outputs = append(m.outputs, Value{Name: "z", DType: Float32})
	g := m.parse(t)
	w := append([]float32{}, g.Initializers["w"].Float32...)
	if err := FoldBatchNorm(g); err != nil {
		t.Fatal(err)
	}
	if ops(g) != "Conv Conv" {
		t.Fatalf("nodes %q", ops(g))
	}
	if g.Nodes[0].Inputs[1] == "w" || g.Nodes[1].Inputs[1] != "w" {
		t.Errorf("weights: folded conv reads %q, other conv reads %q", g.Nodes[0].Inputs[1], g.Nodes[1].Inputs[1])
	}
	checkTensor(t, "shared weights", g.Initializers["w"], Float32Tensor([]int{3, 2, 3, 3}, w))
	if _, ok := g.Initializers["scale"]; ok {
		t.Error("batch-norm parameters left behind")
	}
}

func TestRemoveIdentity(t *testing.T) {
	in := []Value{{Name: "x", DType: Float32, Shape: []int{2}}}
	tests := []struct {
		desc    string
		nodes   []tnode
		outputs []string
		want    string
	}{
		{"middle", []tnode{
			{op: "Relu", in: []string{"x"}, out: []string{"a"}},
			{op: "Identity", in: []string{"a"}, out: []string{"b"}},
			{op: "Sigmoid", in: []string{"b"}, out: []string{"y"}},
		}, []string{"y"}, "Relu Sigmoid"},
		{"to a graph output", []tnode{
			{op: "Relu", in: []string{"x"}, out: []string{"a"}},
			{op: "Dropout", in: []string{"a"}, out: []string{"y"}},
		}, []string{"y"}, "Relu"},
		{"input straight to output stays", []tnode{
			{op: "Identity", in: []string{"x"}, out: []string{"y"}},
		}, []string{"y"}, "Identity"},
		{"dropout with a used mask stays", []tnode{
			{op: "Dropout", in: []string{"x"}, out: []string{"y", "m"}},
		}, []string{"y", "m"}, "Dropout"},
		{"chain", []tnode{
			{op: "Identity", in: []string{"x"}, out: []string{"a"}},
			{op: "Identity", in: []string{"a"}, out: []string{"b"}},
			{op: "Relu", in: []string{"b"}, out: []string{"y"}},
		}, []string{"y"}, "Relu"},
	}
	x := f32([]int{2}, -1, 2)
	for _, tc := range tests {
		m := tmodel{opset: 13, inputs: in, nodes: tc.nodes}
		for _, o := range tc.outputs {
			m.outputs = append(m.outputs, Value{Name: o, DType: Float32})
		}
		g := m.parse(t)
		before, err := Run(g, map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if err := RemoveIdentity(g); err != nil {
			t.Fatal(err)
		}
		if got := ops(g); got != tc.want {
			t.Errorf("%s: nodes %q, want %q", tc.desc, got, tc.want)
		}
		after, err := Run(g, map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatalf("%s: after: %v", tc.desc, err)
		}
		for name, want := range before {
			if _, isInput := map[string]bool{"x": true}[name]; !isInput && g.IsOutput(name) {
				checkTensor(t, tc.desc+" "+name, after[name], want)
			}
		}
	}
}

func TestApply(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	m := convBNModel(r, tnode{op: "Identity", in: []string{"y"}, out: []string{"z"}})
	m.outputs = []Value{{Name: "z", DType: Float32}}
	g := m.parse(t)
	var order []string
	trace := func(name string) Pass {
		return Pass{Name: name, Run: func(*Graph) error { order = append(order, name); return nil }}
	}
	err := Apply(g,
		Pass{Name: "remove-identity", Run: RemoveIdentity},
		trace("after-identity"),
		Pass{Name: "fold-batchnorm", Run: FoldBatchNorm},
		Pass{Name: "infer-shapes", Run: func(g *Graph) error { return InferShapes(g, nil) }},
	)
	if err != nil {
		t.Fatal(err)
	}
	if ops(g) != "Conv" || len(order) != 1 || g.Values["z"].Shape == nil {
		t.Errorf("nodes %q, trace %v, z %v", ops(g), order, g.Values["z"])
	}
	boom := errors.New("boom")
	err = Apply(g, Pass{Name: "explode", Run: func(*Graph) error { return boom }}, trace("never"))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "pass explode: boom") || len(order) != 1 {
		t.Errorf("error %v, trace %v", err, order)
	}
}

// padConvModel is x → Pad(pads) → p → Conv(w, b) → y at opset 13, pads
// and the Pad's value (nil: omitted) as initializers.
func padConvModel(r *rand.Rand, pads []int64, value *Tensor, padAttrs, convAttrs map[string]any) tmodel {
	m := tmodel{
		opset:   13,
		inputs:  []Value{{Name: "x", DType: Float32, Shape: []int{1, 2, 5, 5}}},
		outputs: []Value{{Name: "y", DType: Float32}},
		inits: map[string]*Tensor{
			"pads": Int64Tensor([]int{len(pads)}, pads),
			"w":    randTensor(r, 3, 2, 3, 3), "b": randTensor(r, 3),
		},
		nodes: []tnode{
			{op: "Pad", name: "pad", in: []string{"x", "pads"}, out: []string{"p"}, attrs: padAttrs},
			{op: "Conv", name: "conv", in: []string{"p", "w", "b"}, out: []string{"y"}, attrs: convAttrs},
		},
	}
	if value != nil {
		m.inits["value"] = value
		m.nodes[0].in = append(m.nodes[0].in, "value")
	}
	return m
}

func TestFoldPad(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	zeros := []int64{0, 0, 0, 0, 0, 0, 0, 0}
	spatial := []int64{0, 0, 1, 2, 0, 0, 0, 1}
	tests := []struct {
		desc  string
		model tmodel
		feed  map[string]*Tensor // besides x
		want  string             // node ops after the pass
		pads  string             // the Conv's pads after the pass, when it has one
	}{
		{"zero pads go", func() tmodel {
			m := padConvModel(r, zeros, nil, nil, nil)
			m.nodes[1] = tnode{op: "AveragePool", in: []string{"p"}, out: []string{"y"}, attrs: map[string]any{"kernel_shape": []int64{2, 2}}}
			return m
		}(), nil, "AveragePool", ""},
		{"zero pads from a Constant node go", func() tmodel {
			m := padConvModel(r, zeros, nil, nil, nil)
			delete(m.inits, "pads")
			m.nodes = append([]tnode{{op: "Constant", out: []string{"pads"}, attrs: map[string]any{"value": Int64Tensor([]int{8}, zeros)}}}, m.nodes...)
			return m
		}(), nil, "Conv", "[]"},
		{"zero pads in reflect mode go", padConvModel(r, zeros, nil, map[string]any{"mode": "reflect"}, nil), nil, "Conv", "[]"},
		{"zero pads, opset 7 attribute", func() tmodel {
			m := padConvModel(r, nil, nil, map[string]any{"pads": zeros}, nil)
			m.opset = 7
			delete(m.inits, "pads")
			m.nodes[0].in = []string{"x"}
			return m
		}(), nil, "Conv", "[]"},
		{"zero pads to a graph output", func() tmodel {
			m := padConvModel(r, zeros, nil, nil, nil)
			m.nodes = []tnode{
				{op: "Relu", in: []string{"x"}, out: []string{"a"}},
				{op: "Pad", in: []string{"a", "pads"}, out: []string{"y"}},
			}
			return m
		}(), nil, "Relu", ""},
		{"zero pads of a graph input to the output stay", func() tmodel {
			m := padConvModel(r, zeros, nil, nil, nil)
			m.nodes = []tnode{{op: "Pad", in: []string{"x", "pads"}, out: []string{"y"}}}
			return m
		}(), nil, "Pad", ""},
		{"spatial pads into the conv", padConvModel(r, spatial, nil, nil, nil), nil, "Conv", "[1 2 0 1]"},
		{"added to the conv's pads", padConvModel(r, spatial, nil, nil, map[string]any{"pads": []int64{1, 1, 1, 1}, "strides": []int64{2, 1}}),
			nil, "Conv", "[2 3 1 2]"},
		{"value 0 as an input", padConvModel(r, spatial, f32([]int{}, 0), map[string]any{"mode": "constant"}, nil), nil, "Conv", "[1 2 0 1]"},
		{"opset 7 attributes", func() tmodel {
			m := padConvModel(r, nil, nil, map[string]any{"pads": spatial, "value": float32(0)}, map[string]any{"dilations": []int64{2, 2}})
			m.opset = 7
			delete(m.inits, "pads")
			m.nodes[0].in = []string{"x"}
			return m
		}(), nil, "Conv", "[1 2 0 1]"},
		{"value 1 stays", padConvModel(r, spatial, f32([]int{}, 1), nil, nil), nil, "Pad Conv", "[]"},
		{"opset 7 value 1 stays", func() tmodel {
			m := padConvModel(r, nil, nil, map[string]any{"pads": spatial, "value": float32(1)}, nil)
			m.opset = 7
			delete(m.inits, "pads")
			m.nodes[0].in = []string{"x"}
			return m
		}(), nil, "Pad Conv", "[]"},
		{"batch pads stay", padConvModel(r, []int64{1, 0, 0, 0, 0, 0, 0, 0}, nil, nil, nil), nil, "Pad Conv", "[]"},
		{"negative pads stay", padConvModel(r, []int64{0, 0, -1, 0, 0, 0, 1, 0}, nil, nil, nil), nil, "Pad Conv", "[]"},
		{"reflect stays", padConvModel(r, spatial, nil, map[string]any{"mode": "reflect"}, nil), nil, "Pad Conv", "[]"},
		{"edge stays", padConvModel(r, spatial, nil, map[string]any{"mode": "edge"}, nil), nil, "Pad Conv", "[]"},
		{"SAME_UPPER conv stays", padConvModel(r, spatial, nil, nil, map[string]any{"auto_pad": "SAME_UPPER"}), nil, "Pad Conv", "[]"},
		{"two readers stay", func() tmodel {
			m := padConvModel(r, spatial, nil, nil, nil)
			m.nodes = append(m.nodes, tnode{op: "Relu", in: []string{"p"}, out: []string{"z"}})
			m.outputs = append(m.outputs, Value{Name: "z", DType: Float32})
			return m
		}(), nil, "Pad Conv Relu", "[]"},
		{"pad output is a graph output, stays", func() tmodel {
			m := padConvModel(r, spatial, nil, nil, nil)
			m.outputs = append(m.outputs, Value{Name: "p", DType: Float32})
			return m
		}(), nil, "Pad Conv", "[]"},
		{"conv reads it as weights, stays", func() tmodel {
			m := padConvModel(r, []int64{0, 0, 1, 1, 0, 0, 1, 1}, nil, nil, nil)
			m.inits["w1"] = randTensor(r, 3, 2, 1, 1)
			m.nodes[0].in[0] = "w1"
			m.nodes[1].in = []string{"x", "p", "b"}
			return m
		}(), nil, "Pad Conv", "[]"},
		{"pads from data stay", func() tmodel {
			m := padConvModel(r, spatial, nil, nil, nil)
			delete(m.inits, "pads")
			m.inputs = append(m.inputs, Value{Name: "pads", DType: Int64, Shape: []int{8}})
			return m
		}(), map[string]*Tensor{"pads": Int64Tensor([]int{8}, zeros)}, "Pad Conv", "[]"},
		{"value from data stays", func() tmodel {
			m := padConvModel(r, spatial, nil, nil, nil)
			m.inputs = append(m.inputs, Value{Name: "value", DType: Float32, Shape: []int{}})
			m.nodes[0].in = append(m.nodes[0].in, "value")
			return m
		}(), map[string]*Tensor{"value": f32([]int{}, 0)}, "Pad Conv", "[]"},
		{"before a max pool, stays", func() tmodel {
			m := padConvModel(r, spatial, nil, nil, nil)
			m.nodes[1] = tnode{op: "MaxPool", in: []string{"p"}, out: []string{"y"}, attrs: map[string]any{"kernel_shape": []int64{2, 2}}}
			return m
		}(), nil, "Pad MaxPool", ""},
	}
	x := randTensor(r, 1, 2, 5, 5)
	for _, tc := range tests {
		g := tc.model.parse(t)
		feed := map[string]*Tensor{"x": x}
		for name, v := range tc.feed {
			feed[name] = v
		}
		before, err := Run(g, feed)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if err := FoldPad(g); err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if got := ops(g); got != tc.want {
			t.Errorf("%s: nodes %q, want %q", tc.desc, got, tc.want)
		}
		for _, n := range g.Nodes {
			if got := fmt.Sprint(n.AttrInts("pads")); n.Op == "Conv" && got != tc.pads {
				t.Errorf("%s: conv pads %s, want %s", tc.desc, got, tc.pads)
			}
		}
		after, err := Run(g, feed)
		if err != nil {
			t.Fatalf("%s: after folding: %v", tc.desc, err)
		}
		for _, o := range g.Outputs {
			if err := compareTensors(after[o.Name], before[o.Name], 1e-6, 1e-6); err != nil {
				t.Errorf("%s: output %s: %v", tc.desc, o.Name, err)
			}
		}
		if len(g.Outputs) != len(before) {
			t.Errorf("%s: %d outputs after, %d before", tc.desc, len(g.Outputs), len(before))
		}
	}
}

// TestFoldPadLeNet runs the committed LeNet-5, whose AvgPool2d PyTorch
// exported as Pad (all zero) and AveragePool, before and after FoldPad.
func TestFoldPadLeNet(t *testing.T) {
	path := filepath.Join("..", "models", "lenet5_mnist.onnx")
	g, err := Load(path)
	if err != nil {
		t.Fatalf("%v (models/ is written by make models)", err)
	}
	if !strings.Contains(ops(g), "Pad") {
		t.Fatalf("%s: no Pad node to fold: %s", path, ops(g))
	}
	r := rand.New(rand.NewSource(7))
	x := randTensor(r, 2, 1, 28, 28)
	for i := range x.Float32 {
		x.Float32[i] = (x.Float32[i] + 1) / 2 // pixels in [0, 1]
	}
	before, err := Run(g, map[string]*Tensor{"input": x})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(g, Pass{Name: "fold-pad", Run: FoldPad}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ops(g), "Pad") {
		t.Errorf("nodes after fold-pad: %s", ops(g))
	}
	after, err := Run(g, map[string]*Tensor{"input": x})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range before {
		checkTensor(t, name, after[name], want)
	}
}

// foldModel exercises FoldConstants: constant chains (ConstantOfShape,
// Cast), no-op Casts on a graph input, between a QuantizeLinear and its
// DequantizeLinear, and into a graph output; a Cast that converts; a
// Dropout of a constant; an output computed from constants alone.
func foldModel() tmodel {
	to := func(dt DType) map[string]any { return map[string]any{"to": int(dt)} }
	return tmodel{
		opset:   13,
		inputs:  []Value{{Name: "x", DType: Float32, Shape: []int{-1, 2}}},
		outputs: []Value{{Name: "y", DType: Float32}, {Name: "qi", DType: Int32}, {Name: "k", DType: Float32}},
		inits: map[string]*Tensor{
			"shp": Int64Tensor([]int{0}, []int64{}),
			"s":   f32([]int{}, 0.1),
			"a":   f32([]int{2}, 0.5, -1),
			"b":   f32([]int{2}, 2, 3),
		},
		nodes: []tnode{
			{op: "ConstantOfShape", in: []string{"shp"}, out: []string{"z32"}, attrs: map[string]any{"value": Int32Tensor([]int{1}, []int32{3})}},
			{op: "Cast", in: []string{"z32"}, out: []string{"zp"}, attrs: to(Uint8)},
			{op: "Cast", in: []string{"x"}, out: []string{"xc"}, attrs: to(Float32)},
			{op: "QuantizeLinear", in: []string{"xc", "s", "zp"}, out: []string{"q"}},
			{op: "Cast", in: []string{"q"}, out: []string{"qc"}, attrs: to(Uint8)},
			{op: "Cast", in: []string{"q"}, out: []string{"qi"}, attrs: to(Int32)},
			{op: "DequantizeLinear", in: []string{"qc", "s", "zp"}, out: []string{"d"}},
			{op: "Dropout", in: []string{"a"}, out: []string{"dd"}},
			{op: "Add", in: []string{"d", "dd"}, out: []string{"e"}},
			{op: "Relu", in: []string{"e"}, out: []string{"r"}},
			{op: "Cast", in: []string{"r"}, out: []string{"y"}, attrs: to(Float32)},
			{op: "Add", in: []string{"a", "b"}, out: []string{"k"}},
		},
	}
}

func TestFoldConstants(t *testing.T) {
	x := f32([]int{3, 2}, -1, 0.04, 0.05, 0.26, 2, -0.33)
	tests := []struct {
		desc   string
		change func(*tmodel)
		want   string
	}{
		{"static types", func(*tmodel) {}, "QuantizeLinear Cast DequantizeLinear Dropout Add Relu"},
		// Without a known rank shape inference fails: the Cast of the graph
		// input is still known to be a no-op, the others are not.
		{"unknown input rank", func(m *tmodel) { m.inputs[0].Shape = nil },
			"QuantizeLinear Cast Cast DequantizeLinear Dropout Add Relu Cast"},
	}
	for _, tc := range tests {
		m := foldModel()
		tc.change(&m)
		g := m.parse(t)
		before, err := Run(g, map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		if err := FoldConstants(g); err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if got := ops(g); got != tc.want {
			t.Errorf("%s: nodes %q, want %q", tc.desc, got, tc.want)
		}
		if zp := g.Initializers["zp"]; zp == nil || zp.DType != Uint8 || zp.Uint8[0] != 3 {
			t.Errorf("%s: zero point %v, want the folded uint8 3", tc.desc, zp)
		}
		for _, gone := range []string{"z32", "shp", "b"} {
			if _, ok := g.Initializers[gone]; ok {
				t.Errorf("%s: initializer %q is read by nothing but stays", tc.desc, gone)
			}
		}
		after, err := Run(g, map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatalf("%s: after: %v", tc.desc, err)
		}
		for _, o := range g.Outputs {
			checkTensor(t, tc.desc+" "+o.Name, after[o.Name], before[o.Name])
		}
	}
	// A constant node that cannot run is an error naming it.
	bad := tmodel{opset: 13, outputs: []Value{{Name: "y", DType: Float32}},
		inits: map[string]*Tensor{"a": f32([]int{2}, 1, 2), "shape": Int64Tensor([]int{1}, []int64{3})},
		nodes: []tnode{{op: "Reshape", name: "reshape", in: []string{"a", "shape"}, out: []string{"y"}}}}
	err := FoldConstants(bad.parse(t))
	if err == nil || !strings.Contains(err.Error(), `node "reshape" (op Reshape)`) {
		t.Errorf("bad reshape: %v", err)
	}
}
