package nn

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tpugen/tpugen/nn/onnxpb"
)

// TestMutatedModels is a structure-aware complement to FuzzParse: it
// perturbs valid models where byte-level fuzzing rarely reaches
// (attribute values, shapes, operator types, wiring, element types) and
// checks that Parse, InferShapes and Run return errors rather than panic.
func TestMutatedModels(t *testing.T) {
	seeds := []*onnxpb.ModelProto{convModel().proto(), lenet().proto()}
	for _, suite := range conformanceSuites() {
		models, _ := filepath.Glob(filepath.Join(onnxTestData, suite, "*", "model.onnx"))
		for _, path := range models {
			data, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			if _, err := Parse(data, path); err != nil {
				continue
			}
			var m onnxpb.ModelProto
			if proto.Unmarshal(data, &m) == nil {
				seeds = append(seeds, &m)
			}
		}
	}
	r := rand.New(rand.NewSource(7))
	rounds := 4000
	if testing.Short() {
		rounds = 500
	}
	var loaded, ran int
	for i := 0; i < rounds; i++ {
		m := proto.Clone(seeds[r.Intn(len(seeds))]).(*onnxpb.ModelProto)
		for k := 1 + r.Intn(3); k > 0; k-- {
			mutate(r, m)
		}
		data, err := proto.Marshal(m)
		if err != nil {
			continue
		}
		l, rn := exercise(t, data, r)
		if l {
			loaded++
		}
		if rn {
			ran++
		}
	}
	t.Logf("%d mutants: %d loaded, %d ran without error", rounds, loaded, ran)
}

// mutate applies one random structural change.
func mutate(r *rand.Rand, m *onnxpb.ModelProto) {
	g := m.GetGraph()
	pick := func(n int) int { return r.Intn(max(n, 1)) }
	switch r.Intn(7) {
	case 0: // an attribute value
		if len(g.Node) == 0 {
			return
		}
		n := g.Node[pick(len(g.Node))]
		if len(n.Attribute) == 0 {
			return
		}
		a := n.Attribute[pick(len(n.Attribute))]
		v := []int64{-2, -1, 0, 1, 2, 3, 7, 1 << 16, 1 << 40}[r.Intn(9)]
		switch {
		case len(a.Ints) > 0:
			a.Ints[r.Intn(len(a.Ints))] = v
			if r.Intn(3) == 0 {
				a.Ints = a.Ints[:r.Intn(len(a.Ints))]
			}
		case a.I != nil:
			a.I = proto.Int64(v)
		case a.F != nil:
			a.F = proto.Float32(float32(v) / 3)
		case a.S != nil:
			a.S = []byte([]string{"SAME_LOWER", "VALID", "NOTSET", "x"}[r.Intn(4)])
		}
	case 1: // a graph input's dimension
		if len(g.Input) == 0 {
			return
		}
		shape := g.Input[pick(len(g.Input))].GetType().GetTensorType().GetShape()
		if shape == nil || len(shape.Dim) == 0 {
			return
		}
		d := shape.Dim[r.Intn(len(shape.Dim))]
		d.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: []int64{0, 1, 2, 5, -1}[r.Intn(5)]}
		if r.Intn(4) == 0 {
			shape.Dim = shape.Dim[:r.Intn(len(shape.Dim))]
		}
	case 2: // the operator
		if len(g.Node) == 0 {
			return
		}
		ops := SupportedOps()
		g.Node[pick(len(g.Node))].OpType = proto.String(ops[r.Intn(len(ops))])
	case 3: // an input wire
		if len(g.Node) == 0 {
			return
		}
		n := g.Node[pick(len(g.Node))]
		if len(n.Input) == 0 {
			return
		}
		var names []string
		for _, v := range g.Input {
			names = append(names, v.GetName())
		}
		for _, t := range g.Initializer {
			names = append(names, t.GetName())
		}
		names = append(names, "")
		n.Input[r.Intn(len(n.Input))] = names[r.Intn(len(names))]
		if r.Intn(3) == 0 {
			n.Input = n.Input[:r.Intn(len(n.Input))]
		}
	case 4: // an element type
		types := []int32{1, 2, 3, 6, 7, 9}
		if len(g.Input) > 0 && r.Intn(2) == 0 {
			if tt := g.Input[pick(len(g.Input))].GetType().GetTensorType(); tt != nil {
				tt.ElemType = proto.Int32(types[r.Intn(len(types))])
			}
		} else if len(g.Initializer) > 0 {
			g.Initializer[pick(len(g.Initializer))].DataType = proto.Int32(types[r.Intn(len(types))])
		}
	case 5: // an initializer's shape, keeping its element count
		if len(g.Initializer) == 0 {
			return
		}
		t := g.Initializer[pick(len(g.Initializer))]
		n := int64(1)
		for _, d := range t.Dims {
			n *= d
		}
		t.Dims = [][]int64{{n}, {1, n}, {n, 1}, {}, {n, 1, 1, 1}}[r.Intn(5)]
	case 6: // the opset
		m.OpsetImport = []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(int64(6 + r.Intn(12)))}}
	}
}

// exercise loads data and, when it loads, infers shapes and runs it on
// zero (or small random) inputs; any panic fails the test.
func exercise(t *testing.T, data []byte, r *rand.Rand) (loaded, ran bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			path := filepath.Join(t.TempDir(), "crasher.onnx")
			_ = os.WriteFile(path, data, 0o644)
			t.Fatalf("panic: %v (model written to %s)", p, path)
		}
	}()
	g, err := Parse(data, "mutant.onnx")
	if err != nil {
		return false, false
	}
	shapes := map[string][]int{}
	inputs := map[string]*Tensor{}
	for _, v := range g.Inputs {
		if v.Shape == nil {
			return true, false
		}
		s := make([]int, len(v.Shape))
		for i, d := range v.Shape {
			s[i] = max(d, 1)
		}
		shapes[v.Name] = s
		x, err := NewTensor(v.DType, s)
		if err != nil || x.Len() > 4096 {
			return true, false
		}
		if x.DType == Float32 {
			for i := range x.Float32 {
				x.Float32[i] = r.Float32()
			}
		}
		inputs[v.Name] = x
	}
	if InferShapes(g, shapes) != nil || !smallGraph(g) {
		return true, false
	}
	_, err = Run(g, inputs)
	return true, err == nil
}
