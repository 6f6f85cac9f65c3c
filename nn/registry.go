package nn

import (
	"fmt"
	"math"
	"sort"
)

// MaxOpset is the newest default-domain opset nn reads. The operators are
// implemented as opsets 7 to 17 define them; a model importing an older
// opset loads when each of its operators is defined there as in opset 7
// (the registry's since field).
const MaxOpset = 17

// opSpec is one operator of the registry: arity, attributes, validation
// at load, shape inference and the float reference implementation.
type opSpec struct {
	// since is the oldest opset whose definition of the operator this
	// implementation follows.
	since          int
	minIn, maxIn   int
	minOut, maxOut int
	// attrs lists the attributes the operator reads, with their types;
	// any other attribute is an error.
	attrs map[string]AttrType
	// check validates attribute values at load (nil: nothing to check).
	check func(n *Node, opset int) error
	// infer returns the outputs' types and static shapes from the inputs'
	// (konst[i] is input i's value when it is an initializer, else nil).
	infer func(n *Node, opset int, in []Value, konst []*Tensor) ([]Value, error)
	// run computes the outputs; absent optional inputs are nil.
	run func(n *Node, opset int, in []*Tensor) ([]*Tensor, error)
}

// windowAttrs are the attributes of Conv-like and pooling operators.
func windowAttrs(extra map[string]AttrType) map[string]AttrType {
	m := map[string]AttrType{"auto_pad": AttrString, "kernel_shape": AttrInts, "pads": AttrInts, "strides": AttrInts}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// operators is the registry: every operator nn imports and runs.
func operators() map[string]opSpec {
	conv := windowAttrs(map[string]AttrType{"dilations": AttrInts, "group": AttrInt})
	return map[string]opSpec{
		// conv.go
		"Conv": {since: 1, minIn: 2, maxIn: 3, minOut: 1, maxOut: 1, attrs: conv,
			check: checkConv, infer: inferConv, run: runConv},
		// gemm.go
		"Gemm": {since: 6, minIn: 2, maxIn: 3, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"alpha": AttrFloat, "beta": AttrFloat, "broadcast": AttrInt, "transA": AttrInt, "transB": AttrInt},
			check: checkGemm, infer: inferGemm, run: runGemm},
		"MatMul": {since: 1, minIn: 2, maxIn: 2, minOut: 1, maxOut: 1, infer: inferMatMul, run: runMatMul},
		// add.go
		"Add": {since: 7, minIn: 2, maxIn: 2, minOut: 1, maxOut: 1, infer: inferAdd, run: runAdd},
		// activation.go
		"Relu": {since: 6, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1, infer: inferRelu, run: runRelu},
		// sign.go
		"Sign": {since: 9, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1, infer: inferFloatSame, run: runSign},
		"Clip": {since: 6, minIn: 1, maxIn: 3, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"min": AttrFloat, "max": AttrFloat},
			check: checkClip, infer: inferClip, run: runClip},
		"LeakyRelu": {since: 6, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"alpha": AttrFloat}, check: checkFinite("alpha"),
			infer: inferFloatSame, run: runLeakyRelu},
		"Sigmoid": {since: 6, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1, infer: inferFloatSame, run: runSigmoid},
		"Tanh":    {since: 6, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1, infer: inferFloatSame, run: runTanh},
		"Softmax": {since: 1, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"axis": AttrInt}, infer: inferSoftmax, run: runSoftmax},
		// pool.go
		"MaxPool": {since: 1, minIn: 1, maxIn: 1, minOut: 1, maxOut: 2,
			attrs: windowAttrs(map[string]AttrType{"ceil_mode": AttrInt, "dilations": AttrInts, "storage_order": AttrInt}),
			check: checkPool, infer: inferPool, run: runMaxPool},
		"AveragePool": {since: 1, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			attrs: windowAttrs(map[string]AttrType{"ceil_mode": AttrInt, "count_include_pad": AttrInt}),
			check: checkPool, infer: inferPool, run: runAveragePool},
		"GlobalAveragePool": {since: 1, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			infer: inferGlobalPool, run: runGlobalAveragePool},
		// lppool.go
		"LpPool": {since: 2, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			attrs: windowAttrs(map[string]AttrType{"p": AttrInt, "ceil_mode": AttrInt, "dilations": AttrInts}),
			check: checkLpPool, infer: inferPool, run: runLpPool},
		// normalization.go
		"BatchNormalization": {since: 6, minIn: 5, maxIn: 5, minOut: 1, maxOut: 5,
			attrs: map[string]AttrType{"epsilon": AttrFloat, "is_test": AttrInt, "momentum": AttrFloat, "spatial": AttrInt, "training_mode": AttrInt},
			check: checkBatchNorm, infer: inferBatchNorm, run: runBatchNorm},
		// pad.go
		"Pad": {since: 2, minIn: 1, maxIn: 3, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"mode": AttrString, "pads": AttrInts, "value": AttrFloat},
			check: checkPad, infer: inferPad, run: runPad},
		// cast.go
		"Cast": {since: 6, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"to": AttrInt}, check: checkCast, infer: inferCast, run: runCast},
		// shapeops.go
		"Reshape": {since: 5, minIn: 2, maxIn: 2, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"allowzero": AttrInt}, check: checkBool("allowzero"),
			infer: inferReshape, run: runReshape},
		"Flatten": {since: 1, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"axis": AttrInt}, infer: inferFlatten, run: runFlatten},
		"Identity": {since: 1, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1, infer: inferSame, run: runIdentity},
		"Dropout": {since: 7, minIn: 1, maxIn: 3, minOut: 1, maxOut: 2,
			attrs: map[string]AttrType{"ratio": AttrFloat, "seed": AttrInt},
			check: checkDropout, infer: inferDropout, run: runDropout},
		"ConstantOfShape": {since: 9, minIn: 1, maxIn: 1, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"value": AttrTensor}, check: checkConstantOfShape,
			infer: inferConstantOfShape, run: runConstantOfShape},
		"Constant": {since: 1, minIn: 0, maxIn: 0, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"value": AttrTensor, "value_float": AttrFloat, "value_floats": AttrFloats,
				"value_int": AttrInt, "value_ints": AttrInts}},
		// quantize.go
		"QuantizeLinear": {since: 10, minIn: 2, maxIn: 3, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"axis": AttrInt}, infer: inferQuantize, run: runQuantizeLinear},
		"DequantizeLinear": {since: 10, minIn: 2, maxIn: 3, minOut: 1, maxOut: 1,
			attrs: map[string]AttrType{"axis": AttrInt}, infer: inferDequantize, run: runDequantizeLinear},
		"QLinearConv": {since: 10, minIn: 8, maxIn: 9, minOut: 1, maxOut: 1, attrs: conv,
			check: checkConv, infer: inferQLinearConv, run: runQLinearConv},
		"QLinearMatMul": {since: 10, minIn: 8, maxIn: 8, minOut: 1, maxOut: 1,
			infer: inferQLinearMatMul, run: runQLinearMatMul},
		"ConvInteger": {since: 10, minIn: 2, maxIn: 4, minOut: 1, maxOut: 1, attrs: conv,
			check: checkConv, infer: inferConvInteger, run: runConvInteger},
		"MatMulInteger": {since: 10, minIn: 2, maxIn: 4, minOut: 1, maxOut: 1,
			infer: inferMatMulInteger, run: runMatMulInteger},
	}
}

// SupportedOps lists the operators nn imports, sorted.
func SupportedOps() []string {
	var names []string
	for name := range operators() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// OpSupported reports whether op (default domain) loads at the opset.
func OpSupported(op string, opset int) bool {
	spec, ok := operators()[op]
	return ok && opset >= spec.since && opset <= MaxOpset
}

// checkNode validates a node against its registry entry: opset, arity,
// attribute names and types, then the operator's own check.
func checkNode(n *Node, spec opSpec, opset int) error {
	if opset < spec.since {
		return fmt.Errorf("%w before opset %d", ErrUnsupported, spec.since)
	}
	if len(n.Inputs) < spec.minIn || len(n.Inputs) > spec.maxIn {
		return fmt.Errorf("%d inputs, want %s", len(n.Inputs), arity(spec.minIn, spec.maxIn))
	}
	if len(n.Outputs) < spec.minOut || len(n.Outputs) > spec.maxOut {
		return fmt.Errorf("%d outputs, want %s", len(n.Outputs), arity(spec.minOut, spec.maxOut))
	}
	for i := 0; i < spec.minIn; i++ {
		if n.Inputs[i] == "" {
			return fmt.Errorf("required input %d is empty", i)
		}
	}
	if n.Outputs[0] == "" {
		return fmt.Errorf("output 0 is empty")
	}
	for _, name := range sortedKeys(n.Attrs) {
		want, ok := spec.attrs[name]
		if !ok {
			return fmt.Errorf("attribute %q %w", name, ErrUnsupported)
		}
		if got := n.Attrs[name].Type; got != want {
			return fmt.Errorf("attribute %q is %v, want %v", name, got, want)
		}
	}
	if spec.check != nil {
		return spec.check(n, opset)
	}
	return nil
}

func arity(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkBool accepts an int attribute that is 0 or 1.
func checkBool(name string) func(*Node, int) error {
	return func(n *Node, _ int) error {
		if v := n.AttrInt(name, 0); v != 0 && v != 1 {
			return fmt.Errorf("attribute %s=%d out of range (0 or 1)", name, v)
		}
		return nil
	}
}

// checkFinite accepts a float attribute that is finite.
func checkFinite(name string) func(*Node, int) error {
	return func(n *Node, _ int) error {
		if v := float64(n.AttrFloat(name, 0)); math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("attribute %s=%v out of range (finite)", name, v)
		}
		return nil
	}
}

// Shared input checks for the run and infer functions.

// wantType checks an input's element type.
func wantType(what string, got DType, allowed ...DType) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return fmt.Errorf("%s is %v, want %v", what, got, allowed)
}

// inferSame gives the output the first input's type and shape.
func inferSame(_ *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	return []Value{{DType: in[0].DType, Shape: in[0].Shape}}, nil
}

// normAxis maps an axis in [-rank, rank) (or [-rank, rank] when end is
// allowed) to [0, rank).
func normAxis(axis int64, rank int, allowEnd bool) (int, error) {
	hi := int64(rank)
	if allowEnd {
		hi++
	}
	if axis < -int64(rank) || axis >= hi {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}
