package ptq

import (
	"fmt"
	"math"

	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/quant"
)

// Pre-quantized models. A QDQ model (PyTorch's and ONNX Runtime's export
// of a quantized network) holds its quantization as QuantizeLinear and
// DequantizeLinear nodes around float operators. Quantize lowers it
// keeping that quantization: the strip-qdq pass records every activation's
// parameters and the integer weights and biases, and removes the Q/DQ
// nodes, leaving the float-structured graph that the float path matches
// and lowers; the lowering then takes the model's parameters (fixedQuant)
// instead of calibrated ones, and its integers instead of quantizing the
// float weights.

// fixedQuant is the quantization a pre-quantized model fixes.
type fixedQuant struct {
	// params are the activations' int8 parameters by float tensor, from
	// the QuantizeLinear that reads the tensor. uint8 activations become
	// int8 with the same scale and the zero point less 128 (exact: the
	// int8 code is the uint8 code less 128).
	params map[string]quant.Params
	// unsigned holds the activations the model stores as uint8.
	unsigned map[string]bool
	// consts are the integer constants behind the float initializers that
	// replaced DequantizeLinear nodes of constants (weights and biases).
	consts map[string]intConst
}

// intConst is an integer constant and the parameters its
// DequantizeLinear applied.
type intConst struct {
	codes      *nn.Tensor // int8, uint8 or int32, in the ONNX layout
	scales     []float32  // one (per tensor) or one per slice along axis
	zeroPoints []int32    // as many as scales
	axis       int        // -1: per tensor
}

// constant returns the integer form of a float initializer, if the model
// gave one (f may be nil: a float model).
func (f *fixedQuant) constant(name string) (intConst, bool) {
	if f == nil || name == "" {
		return intConst{}, false
	}
	c, ok := f.consts[name]
	return c, ok
}

// preQuantized reports a graph that holds QuantizeLinear or
// DequantizeLinear nodes.
func preQuantized(g *nn.Graph) bool {
	for _, n := range g.Nodes {
		if n.Op == "QuantizeLinear" || n.Op == "DequantizeLinear" {
			return true
		}
	}
	return false
}

// stripQDQ is the strip-qdq pass: it runs after FoldConstants (which
// leaves QuantizeLinear and DequantizeLinear of constants as nodes and
// removes the exporter's no-op Casts between a QuantizeLinear and its
// DequantizeLinear nodes). In order:
//  1. a DequantizeLinear of a constant (a weight or bias, or the
//     QuantizeLinear of a constant float tensor) becomes a float
//     initializer, its integer form kept in f.consts;
//  2. a QuantizeLinear of an activation x, read only by
//     DequantizeLinear nodes with the same parameters, is removed with
//     them: their readers read x, and f.params[x] holds the parameters;
//  3. a DequantizeLinear left (of a graph input) is an error.
func (f *fixedQuant) stripQDQ(g *nn.Graph) error {
	f.params, f.consts, f.unsigned = map[string]quant.Params{}, map[string]intConst{}, map[string]bool{}
	if g.Values == nil {
		g.Values = map[string]nn.Value{}
	}
	for _, n := range append([]*nn.Node{}, g.Nodes...) {
		if n.Op != "DequantizeLinear" {
			continue
		}
		if err := f.stripConstant(g, n); err != nil {
			return fmt.Errorf("%v: %w", n, err)
		}
	}
	for _, n := range append([]*nn.Node{}, g.Nodes...) {
		if n.Op != "QuantizeLinear" {
			continue
		}
		if err := f.stripActivation(g, n); err != nil {
			return fmt.Errorf("%v: %w", n, err)
		}
	}
	for _, n := range g.Nodes {
		if n.Op == "DequantizeLinear" {
			return fmt.Errorf("%v dequantizes %q, which no QuantizeLinear writes: integer graph inputs are not supported", n, n.Input(0))
		}
	}
	pruneInitializers(g)
	return nil
}

// stripConstant replaces a DequantizeLinear of a constant by the float
// initializer ONNX's definition gives, keeping the integers. A constant
// is an initializer, or a QuantizeLinear of initializers that nothing else
// reads.
func (f *fixedQuant) stripConstant(g *nn.Graph, n *nn.Node) error {
	codes, ok := g.Initializers[n.Input(0)]
	q := g.Producer(n.Input(0))
	switch {
	case ok:
		q = nil
	case q != nil && q.Op == "QuantizeLinear" && constantInputs(g, q) && len(g.Consumers(q.Output(0))) == 1 && !g.IsOutput(q.Output(0)):
		var err error
		if codes, err = evalNode(g, q); err != nil {
			return err
		}
	default:
		return nil // an activation: stripActivation's
	}
	for _, in := range n.Inputs[1:] {
		if _, ok := g.Initializers[in]; in != "" && !ok {
			return fmt.Errorf("the scale and zero point of constant %q must be constants", n.Input(0))
		}
	}
	g.Initializers[n.Input(0)] = codes
	real, err := evalNode(g, n)
	if err != nil {
		return err
	}
	c := intConst{codes: codes, axis: -1, scales: g.Initializers[n.Input(1)].Float32}
	c.zeroPoints = make([]int32, len(c.scales))
	if zp := n.Input(2); zp != "" {
		c.zeroPoints = int32s(g.Initializers[zp])
	}
	if len(c.scales) > 1 {
		c.axis = int(n.AttrInt("axis", 1))
		if c.axis < 0 {
			c.axis += len(codes.Shape)
		}
	}
	out := n.Output(0)
	g.Initializers[out] = real
	g.Values[out] = real.Value(out)
	f.consts[out] = c
	removeNode(g, n)
	if q != nil {
		removeNode(g, q)
		delete(g.Initializers, n.Input(0))
	}
	return nil
}

// stripActivation removes a QuantizeLinear of an activation and the
// DequantizeLinear nodes that read it, recording its parameters.
func (f *fixedQuant) stripActivation(g *nn.Graph, q *nn.Node) error {
	x, y := q.Input(0), q.Output(0)
	if _, ok := g.Initializers[x]; ok {
		return fmt.Errorf("quantizes constant %q, which no DequantizeLinear reads alone", x)
	}
	p, err := activationParams(g, q)
	if err != nil {
		return err
	}
	if g.IsOutput(y) {
		return fmt.Errorf("the graph output %q is quantized: the network's output must be float", y)
	}
	dqs := g.Consumers(y)
	for _, dq := range dqs {
		if dq.Op != "DequantizeLinear" || dq.Input(0) != y {
			return fmt.Errorf("%v reads the quantized %q: only DequantizeLinear may", dq, y)
		}
		dp, err := activationParams(g, dq)
		if err != nil {
			return fmt.Errorf("%v: %w", dq, err)
		}
		if !sameParams(dp, p) {
			return fmt.Errorf("%v dequantizes %q with scale %v, zero point %d; it was quantized with scale %v, zero point %d",
				dq, y, dp.Scale, dp.ZeroPoint, p.Scale, p.ZeroPoint)
		}
	}
	// A dequantized graph output takes over x's name: x's producer writes
	// it (the graph input cannot be renamed).
	for _, dq := range dqs {
		if out := dq.Output(0); g.IsOutput(out) {
			if g.Producer(x) == nil || g.IsOutput(x) {
				return fmt.Errorf("graph output %q is the quantized graph input %q", out, x)
			}
			renameTensor(g, x, out)
			delete(g.Values, x)
			x = out
		}
	}
	if old, ok := f.params[x]; ok && !sameParams(old, p) {
		return fmt.Errorf("%q is quantized twice, with scales %v and %v", x, old.Scale, p.Scale)
	}
	f.params[x] = p
	f.unsigned[x] = storedUint8(g, q)
	for _, dq := range dqs {
		if out := dq.Output(0); out != x {
			renameUses(g, out, x)
			delete(g.Values, out)
		}
		removeNode(g, dq)
	}
	removeNode(g, q)
	delete(g.Values, y)
	return nil
}

// activationParams reads the per-tensor parameters of a QuantizeLinear or
// DequantizeLinear of an activation as int8 ones.
func activationParams(g *nn.Graph, n *nn.Node) (quant.Params, error) {
	scale, ok := g.Initializers[n.Input(1)]
	if !ok || scale.DType != nn.Float32 || len(scale.Float32) != 1 {
		return quant.Params{}, fmt.Errorf("activation scale %q must be one float constant (per tensor)", n.Input(1))
	}
	zp, dt := int32(0), nn.Uint8 // ONNX's default zero point is uint8 0
	if name := n.Input(2); name != "" {
		t, ok := g.Initializers[name]
		if !ok || len(int32s(t)) != 1 {
			return quant.Params{}, fmt.Errorf("activation zero point %q must be one constant", name)
		}
		zp, dt = int32s(t)[0], t.DType
	}
	p := quant.Params{Scale: scale.Float32[0], ZeroPoint: zp, DType: quant.Int8}
	switch dt {
	case nn.Uint8:
		p.ZeroPoint -= 128
	case nn.Int8:
	default:
		return quant.Params{}, fmt.Errorf("activation zero point %q is %v: want uint8 or int8 activations", n.Input(2), dt)
	}
	return p, p.Validate()
}

// storedUint8 reports whether a QuantizeLinear's codes are uint8 (ONNX's
// default when it has no zero point), as activationParams reads them.
func storedUint8(g *nn.Graph, q *nn.Node) bool {
	name := q.Input(2)
	if name == "" {
		return true
	}
	t, ok := g.Initializers[name]
	return ok && t.DType == nn.Uint8
}

func sameParams(a, b quant.Params) bool {
	return math.Float32bits(a.Scale) == math.Float32bits(b.Scale) && a.ZeroPoint == b.ZeroPoint && a.DType == b.DType
}

// check verifies that a group of a pre-quantized model keeps the model's
// parameters: every tensor it computes that the model quantizes has the
// parameters the lowered op writes (the exporter's Q/DQ pairs between a
// layer and its activation or pooling, and around pooling, flatten and a
// lone clamp, repeat the same scale and zero point, so they are no-ops;
// other parameters would need a requantization the op does not have).
func (f *fixedQuant) check(gr *group, out quant.Params) error {
	if gr.main.Op == "Softmax" {
		return nil
	}
	for _, n := range []*nn.Node{gr.main, gr.act, gr.pool} {
		if n == nil {
			continue
		}
		name := n.Output(0)
		if q, ok := f.params[name]; ok && !sameParams(q, out) {
			return fmt.Errorf("the model quantizes %q with scale %v, zero point %d, but the op writes scale %v, zero point %d: a requantization inside the op is not supported",
				name, q.Scale, q.ZeroPoint, out.Scale, out.ZeroPoint)
		}
	}
	return nil
}

// constantInputs reports whether every input of n is an initializer.
func constantInputs(g *nn.Graph, n *nn.Node) bool {
	for _, in := range n.Inputs {
		if _, ok := g.Initializers[in]; in != "" && !ok {
			return false
		}
	}
	return true
}

// evalNode runs one node whose inputs are initializers on nn's executor
// (ONNX's definition of the operator) and returns its output 0.
func evalNode(g *nn.Graph, n *nn.Node) (*nn.Tensor, error) {
	sub := &nn.Graph{Name: g.Name, Source: g.Source, Opset: g.Opset, Initializers: map[string]*nn.Tensor{},
		Nodes: []*nn.Node{n}, Outputs: []nn.Value{{Name: n.Output(0)}}, Values: map[string]nn.Value{}}
	for _, in := range n.Inputs {
		if in != "" {
			sub.Initializers[in] = g.Initializers[in]
		}
	}
	out, err := nn.Run(sub, nil)
	if err != nil {
		return nil, err
	}
	return out[n.Output(0)], nil
}

// int32s returns an integer tensor's elements (nil for other types).
func int32s(t *nn.Tensor) []int32 {
	var out []int32
	switch t.DType {
	case nn.Uint8:
		for _, v := range t.Uint8 {
			out = append(out, int32(v))
		}
	case nn.Int8:
		for _, v := range t.Int8 {
			out = append(out, int32(v))
		}
	case nn.Int32:
		out = append(out, t.Int32...)
	}
	return out
}

// weights returns the constant as a layer's int8 weights, in order (see
// planner.layer), and one scale per output channel: a per-tensor scale is
// every channel's. The matrix unit takes signed weights with zero point 0,
// quantized per tensor or along the output channels; their range may
// include −128.
func (c intConst) weights(name string, order []int, units, outAxis int) ([]int8, []float32, error) {
	if c.codes.DType != nn.Int8 {
		return nil, nil, fmt.Errorf("weights %q are %v: the matrix unit takes int8 weights", name, c.codes.DType)
	}
	if c.axis >= 0 && c.axis != outAxis {
		return nil, nil, fmt.Errorf("weights %q are quantized along axis %d, not along the output channels (axis %d)", name, c.axis, outAxis)
	}
	for _, zp := range c.zeroPoints {
		if zp != 0 {
			return nil, nil, fmt.Errorf("weights %q have zero point %d: the matrix unit takes symmetric weights (zero point 0)", name, zp)
		}
	}
	if len(order) != len(c.codes.Int8) || (len(c.scales) != 1 && len(c.scales) != units) {
		return nil, nil, fmt.Errorf("weights %q: %d values and %d scales for %d output channels", name, len(c.codes.Int8), len(c.scales), units)
	}
	w := make([]int8, len(order))
	for i, j := range order {
		w[i] = c.codes.Int8[j]
	}
	scales := make([]float32, units)
	for ch := range scales {
		scales[ch] = c.scales[min(ch, len(c.scales)-1)]
	}
	return w, scales, nil
}

// bias returns the constant as a layer's int32 bias at the accumulator's
// scale, inScale × wScales[channel]. The exporter writes the bias at that
// scale; when the model's scale is not the same float32 (within two units
// in the last place, for a product rounded in another precision), or its
// zero point is not 0, the bias's real value is requantized to the
// accumulator's scale, rounding as TFLite's converter does.
func (c intConst) bias(name string, units int, inScale float32, wScales []float32) ([]int32, error) {
	if c.codes.DType != nn.Int32 || len(c.codes.Shape) != 1 || len(c.codes.Int32) != units {
		return nil, fmt.Errorf("bias %q is %v, want int32[%d]", name, c.codes, units)
	}
	out := make([]int32, units)
	for ch := range out {
		scale, zp := c.scales[min(ch, len(c.scales)-1)], c.zeroPoints[min(ch, len(c.zeroPoints)-1)]
		acc := inScale * wScales[ch]
		if zp == 0 && closeFloat32(scale, acc) {
			out[ch] = c.codes.Int32[ch]
			continue
		}
		real := float64(scale) * (float64(c.codes.Int32[ch]) - float64(zp))
		out[ch] = quant.QuantizeBias(float32(real), inScale, wScales[ch])
	}
	return out, nil
}

// closeFloat32 reports two positive float32 values at most two units in
// the last place apart.
func closeFloat32(a, b float32) bool {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	return a > 0 && b > 0 && d >= -2 && d <= 2
}

// Graph edits on nn's exported IR.

func removeNode(g *nn.Graph, n *nn.Node) {
	for i, m := range g.Nodes {
		if m == n {
			g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
			return
		}
	}
}

// renameUses makes every node that reads from read to instead.
func renameUses(g *nn.Graph, from, to string) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == from {
				n.Inputs[i] = to
			}
		}
	}
}

// renameTensor renames a tensor where it is written and read.
func renameTensor(g *nn.Graph, from, to string) {
	for _, n := range g.Nodes {
		for i, o := range n.Outputs {
			if o == from {
				n.Outputs[i] = to
			}
		}
	}
	renameUses(g, from, to)
}

// pruneInitializers drops initializers nothing reads.
func pruneInitializers(g *nn.Graph) {
	used := map[string]bool{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range g.Outputs {
		used[o.Name] = true
	}
	for name := range g.Initializers {
		if !used[name] {
			delete(g.Initializers, name)
			delete(g.Values, name)
		}
	}
}
