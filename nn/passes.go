package nn

import "fmt"

// Pass is a named graph rewrite. A compile is a list of passes applied in
// order (FINN's transformations, hls4ml's optimizer flows).
type Pass struct {
	Name string
	Run  func(*Graph) error
}

// Apply runs the passes in order, stopping at the first error.
func Apply(g *Graph, passes ...Pass) error {
	for _, p := range passes {
		if err := p.Run(g); err != nil {
			return fmt.Errorf("pass %s: %w", p.Name, err)
		}
	}
	return nil
}

// removeNode deletes n from the node list.
func (g *Graph) removeNode(n *Node) {
	for i, m := range g.Nodes {
		if m == n {
			g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
			return
		}
	}
}

// renameUses makes every node that reads from read to instead.
func (g *Graph) renameUses(from, to string) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == from {
				n.Inputs[i] = to
			}
		}
	}
}

// pruneInitializers drops initializers no node reads and no output names.
func (g *Graph) pruneInitializers() {
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

// RemoveIdentity removes Identity nodes and inference-mode Dropout nodes
// (no mask in use, no training_mode input other than a constant false):
// their readers read the input instead. When the output is a graph output
// the producer of the input is renamed to it instead; a node that passes a
// graph input, an initializer or another graph output straight through
// stays.
func RemoveIdentity(g *Graph) error {
	for _, n := range append([]*Node{}, g.Nodes...) {
		if passThrough(g, n) {
			g.bypass(n)
		}
	}
	g.pruneInitializers()
	return nil
}

// bypass removes a node whose output 0 equals its input 0: the readers of
// the output read the input instead. When the output is a graph output the
// producer of the input is renamed to it instead; a node that passes a
// graph input, an initializer or another graph output straight through
// stays (bypass reports whether it removed the node).
func (g *Graph) bypass(n *Node) bool {
	in, out := n.Inputs[0], n.Outputs[0]
	if g.IsOutput(out) {
		p := g.Producer(in)
		if p == nil || g.IsOutput(in) {
			return false
		}
		for i, o := range p.Outputs {
			if o == in {
				p.Outputs[i] = out
			}
		}
		g.removeNode(n)
		g.renameUses(in, out)
		delete(g.Values, in)
		return true
	}
	g.removeNode(n)
	g.renameUses(out, in)
	delete(g.Values, out)
	return true
}

// passThrough reports an Identity, or a Dropout that is the identity.
func passThrough(g *Graph, n *Node) bool {
	switch n.Op {
	case "Identity":
		return true
	case "Dropout":
		if mask := n.Output(1); mask != "" && (len(g.Consumers(mask)) > 0 || g.IsOutput(mask)) {
			return false
		}
		if tm := n.Input(2); tm != "" {
			t, ok := g.Initializers[tm]
			return ok && t.DType == Bool && len(t.Bool) == 1 && !t.Bool[0]
		}
		return true
	}
	return false
}

// FoldBatchNorm folds each BatchNormalization that follows a Conv into the
// Conv's weights and bias, W'[m] = W[m]·s[m], B'[m] = (B[m] − mean[m])·s[m]
// + beta[m] with s = scale/√(var + epsilon), when the Conv output has no
// other reader and all parameters are initializers. The Conv takes over
// the BatchNormalization's output name; its new weights get new names, so
// weights shared with other nodes are left alone.
func FoldBatchNorm(g *Graph) error {
	for _, bn := range append([]*Node{}, g.Nodes...) {
		if bn.Op != "BatchNormalization" || len(bn.Outputs) != 1 {
			continue
		}
		x := bn.Inputs[0]
		conv := g.Producer(x)
		if conv == nil || conv.Op != "Conv" || g.IsOutput(x) || len(g.Consumers(x)) != 1 {
			continue
		}
		w, ok := g.Initializers[conv.Input(1)]
		if !ok || w.DType != Float32 || len(w.Shape) < 3 || w.Check() != nil {
			continue
		}
		m := w.Shape[0]
		var bias *Tensor
		if conv.Input(2) != "" {
			if bias, ok = g.Initializers[conv.Input(2)]; !ok || !isFloatVector(bias, m) {
				continue
			}
		}
		params := make([][]float32, 4)
		for i := range params {
			t, ok := g.Initializers[bn.Input(i+1)]
			if !ok || !isFloatVector(t, m) {
				params = nil
				break
			}
			params[i] = t.Float32
		}
		if params == nil {
			continue
		}
		mul, add := batchNormAffine(bn, params[0], params[1], params[2], params[3])
		per := len(w.Float32) / max(m, 1)
		fw := make([]float32, len(w.Float32))
		for i, v := range w.Float32 {
			fw[i] = float32(float64(v) * mul[i/per])
		}
		fb := make([]float32, m)
		for c := range fb {
			b := 0.0
			if bias != nil {
				b = float64(bias.Float32[c])
			}
			fb[c] = float32(b*mul[c] + add[c])
		}
		wName := g.uniqueName(conv.Input(1) + "_bn")
		g.Initializers[wName] = Float32Tensor(append([]int{}, w.Shape...), fw)
		bName := g.uniqueName(conv.Name + "_bn_B")
		g.Initializers[bName] = Float32Tensor([]int{m}, fb)
		conv.Inputs = []string{conv.Inputs[0], wName, bName}
		conv.Outputs[0] = bn.Outputs[0]
		g.removeNode(bn)
		delete(g.Values, x)
	}
	g.pruneInitializers()
	return nil
}

func isFloatVector(t *Tensor, n int) bool {
	return t.DType == Float32 && len(t.Shape) == 1 && t.Shape[0] == n && len(t.Float32) == n
}

// FoldPad removes Pad nodes whose pads are constant and all zero, in any
// mode (they are the identity; a graph output is kept as RemoveIdentity
// keeps it), and folds a constant-mode Pad with value 0 into the Conv that is its only
// reader (auto_pad NOTSET), adding its pads to the Conv's: this is how
// exporters write padding that ONNX's Conv attribute could have held. The
// Pad must leave the batch and channel axes of the N×C×H×W data alone and
// add, not crop, on H and W. Any other Pad stays for the executor.
func FoldPad(g *Graph) error {
	for _, n := range append([]*Node{}, g.Nodes...) {
		if n.Op != "Pad" {
			continue
		}
		pads, ok := constPads(g, n)
		if !ok {
			continue
		}
		zero := true
		for _, p := range pads {
			zero = zero && p == 0
		}
		if zero {
			g.bypass(n)
			continue
		}
		foldPadIntoConv(g, n, pads)
	}
	g.pruneInitializers()
	return nil
}

// constPads returns a Pad node's pads when they are known before run time:
// the attribute before opset 11, else an int64 initializer.
func constPads(g *Graph, n *Node) ([]int64, bool) {
	if g.Opset < 11 {
		pads := n.AttrInts("pads")
		return pads, pads != nil
	}
	t, ok := g.Initializers[n.Input(1)]
	if !ok || t.DType != Int64 || len(t.Shape) != 1 || t.Check() != nil {
		return nil, false
	}
	return t.Int64, true
}

// foldPadIntoConv moves the spatial zero padding of a 4-D Pad into the
// Conv that alone reads it, when it can.
func foldPadIntoConv(g *Graph, n *Node, pads []int64) {
	if n.AttrString("mode", "constant") != "constant" || !zeroPadValue(g, n) || len(pads) != 8 {
		return
	}
	// [N_begin, C_begin, H_begin, W_begin, N_end, C_end, H_end, W_end]
	if pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return
	}
	for _, p := range pads {
		if p < 0 {
			return
		}
	}
	out := n.Outputs[0]
	readers := g.Consumers(out)
	if g.IsOutput(out) || len(readers) != 1 {
		return
	}
	conv := readers[0]
	if conv.Op != "Conv" || conv.AttrString("auto_pad", "NOTSET") != "NOTSET" || conv.Inputs[0] != out {
		return
	}
	for _, in := range conv.Inputs[1:] {
		if in == out {
			return
		}
	}
	// Conv pads are [H_begin, W_begin, H_end, W_end].
	folded := []int64{pads[2], pads[3], pads[6], pads[7]}
	if conv.HasAttr("pads") {
		old := conv.AttrInts("pads")
		if len(old) != len(folded) {
			return
		}
		for i := range folded {
			folded[i] += old[i]
		}
	}
	for _, p := range folded {
		if p > maxWindowAttr {
			return
		}
	}
	if conv.Attrs == nil {
		conv.Attrs = map[string]Attr{}
	}
	conv.Attrs["pads"] = Attr{Type: AttrInts, Ints: folded}
	conv.Inputs[0] = n.Inputs[0]
	g.removeNode(n)
	delete(g.Values, out)
}

// zeroPadValue reports whether a Pad fills with zero: no value, or a
// constant one equal to 0.
func zeroPadValue(g *Graph, n *Node) bool {
	if g.Opset < 11 {
		return n.AttrFloat("value", 0) == 0
	}
	name := n.Input(2)
	if name == "" {
		return true
	}
	t, ok := g.Initializers[name]
	if !ok || t.Check() != nil || t.Len() != 1 {
		return false
	}
	return t.float64s()[0] == 0
}

// FoldConstants evaluates every node whose inputs are all initializers and
// replaces its outputs by initializers, in one pass over the nodes in
// order (so chains of constants fold), then removes no-op Casts (a Cast to
// the type its input already has). Three kinds of node stay: Dropout (its
// training mode draws at random; RemoveIdentity removes the inference
// one), and QuantizeLinear and DequantizeLinear, which in a pre-quantized
// model mark integer weights and biases whose integer form the quantizer
// keeps (folding them would leave only their float values).
func FoldConstants(g *Graph) error {
	if g.Values == nil {
		g.Values = map[string]Value{}
	}
	ops := operators()
	for _, n := range append([]*Node{}, g.Nodes...) {
		if !foldable(g, n) {
			continue
		}
		env := map[string]*Tensor{}
		for _, in := range n.Inputs {
			if in != "" {
				env[in] = g.Initializers[in]
			}
		}
		if err := runNode(n, ops, g.Opset, env); err != nil {
			return fmt.Errorf("%v: %w", n, err)
		}
		for _, o := range n.Outputs {
			if o != "" {
				g.Initializers[o] = env[o]
				g.Values[o] = env[o].Value(o)
			}
		}
		g.removeNode(n)
	}
	types := g.knownTypes()
	for _, n := range append([]*Node{}, g.Nodes...) {
		if n.Op != "Cast" {
			continue
		}
		if dt, ok := types[n.Inputs[0]]; ok && dt == DType(n.AttrInt("to", 0)) {
			g.bypass(n)
		}
	}
	g.pruneInitializers()
	return nil
}

// foldable reports a node FoldConstants evaluates.
func foldable(g *Graph, n *Node) bool {
	switch n.Op {
	case "Dropout", "QuantizeLinear", "DequantizeLinear":
		return false
	}
	for _, in := range n.Inputs {
		if _, ok := g.Initializers[in]; in != "" && !ok {
			return false
		}
	}
	return len(n.Inputs) > 0
}

// knownTypes returns the element type of every tensor whose type is known
// before run time. Types do not depend on shapes, so it infers shapes on a
// copy of the graph with every dynamic input dimension set to 1; where that
// fails (an input of unknown rank, a shape computed at run time) it falls
// back on the graph's inputs and initializers and the outputs of Casts
// (not on the model's value_info, which nothing checks).
func (g *Graph) knownTypes() map[string]DType {
	types := map[string]DType{}
	trial := *g
	trial.Inputs = make([]Value, len(g.Inputs))
	for i, v := range g.Inputs {
		v.Shape = append([]int(nil), v.Shape...)
		for j, d := range v.Shape {
			if d < 0 {
				v.Shape[j] = 1
			}
		}
		trial.Inputs[i] = v
	}
	trial.Outputs = append([]Value{}, g.Outputs...)
	if InferShapes(&trial, nil) == nil {
		for name, v := range trial.Values {
			types[name] = v.DType
		}
		return types
	}
	for _, v := range g.Inputs {
		types[v.Name] = v.DType
	}
	for name, t := range g.Initializers {
		types[name] = t.DType
	}
	for _, n := range g.Nodes {
		if n.Op == "Cast" {
			types[n.Outputs[0]] = DType(n.AttrInt("to", 0))
		}
	}
	return types
}
