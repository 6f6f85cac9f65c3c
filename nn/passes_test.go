package nn

import (
	"errors"
	"math/rand"
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
