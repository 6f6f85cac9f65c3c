package nn

import "fmt"

// InferShapes gives every tensor of the graph a static shape and type, in
// g.Values, from the input shapes: shapes[name] replaces an input's
// declared shape (it must agree with the declared static dimensions);
// inputs not in shapes must be declared static. Graph inputs and outputs
// take the resolved shapes. It fails where a shape depends on data that is
// only known at run time.
func InferShapes(g *Graph, shapes map[string][]int) error {
	vals := map[string]Value{}
	declared := map[string]bool{}
	for i, v := range g.Inputs {
		declared[v.Name] = true
		if s, ok := shapes[v.Name]; ok {
			if v.Shape != nil && !agrees(v.Shape, s) {
				return fmt.Errorf("%s: input %q: shape %v does not match the declared %v", g.Source, v.Name, s, v.Shape)
			}
			v.Shape = append([]int{}, s...)
		}
		if !v.Static() {
			return fmt.Errorf("%s: input %q has shape %v: give a static shape", g.Source, v.Name, v.Shape)
		}
		if _, err := numElements(v.Shape); err != nil {
			return fmt.Errorf("%s: input %q: %w", g.Source, v.Name, err)
		}
		g.Inputs[i] = v
		vals[v.Name] = v
	}
	for _, name := range sortedKeys(shapes) {
		if !declared[name] {
			return fmt.Errorf("%s: %q is not a graph input", g.Source, name)
		}
	}
	for name, t := range g.Initializers {
		vals[name] = t.Value(name)
	}
	ops := operators()
	for _, n := range g.Nodes {
		if err := inferNode(n, ops, g.Opset, g.Initializers, vals); err != nil {
			return fmt.Errorf("%s: node %q (op %s): %w", g.Source, n.Name, n.Op, err)
		}
	}
	for i, o := range g.Outputs {
		v, ok := vals[o.Name]
		if !ok {
			return fmt.Errorf("%s: output %q has no inferred shape", g.Source, o.Name)
		}
		if o.Shape != nil && !agrees(o.Shape, v.Shape) || o.DType != v.DType {
			return fmt.Errorf("%s: output %q is %v%v, the model declares %v%v", g.Source, o.Name, v.DType, v.Shape, o.DType, o.Shape)
		}
		g.Outputs[i] = v
	}
	g.Values = vals
	return nil
}

// agrees reports whether a shape matches a declaration's rank and static
// dimensions.
func agrees(decl, s []int) bool {
	if len(decl) != len(s) {
		return false
	}
	for i, d := range decl {
		if d >= 0 && s[i] != d {
			return false
		}
	}
	return true
}

func inferNode(n *Node, ops map[string]opSpec, opset int, inits map[string]*Tensor, vals map[string]Value) error {
	spec, ok := ops[n.Op]
	if !ok || spec.infer == nil {
		return fmt.Errorf("operator %w", ErrUnsupported)
	}
	in := make([]Value, len(n.Inputs))
	konst := make([]*Tensor, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		v, ok := vals[name]
		if !ok {
			return fmt.Errorf("input %q has no known shape", name)
		}
		in[i], konst[i] = v, inits[name]
	}
	outs, err := spec.infer(n, opset, in, konst)
	if err != nil {
		return err
	}
	for i, name := range n.Outputs {
		if name == "" {
			continue
		}
		if i >= len(outs) {
			return fmt.Errorf("no shape for output %q", name)
		}
		v := outs[i]
		v.Name = name
		if !v.Static() {
			return fmt.Errorf("output %q has shape %v", name, v.Shape)
		}
		if _, err := numElements(v.Shape); err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		vals[name] = v
	}
	return nil
}
