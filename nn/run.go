package nn

import (
	"fmt"
)

// Run executes the graph on the float reference and returns its outputs.
// inputs maps every graph input's name to a tensor of its declared type
// and of a shape that agrees with its static dimensions.
func Run(g *Graph, inputs map[string]*Tensor) (map[string]*Tensor, error) {
	all, err := RunAll(g, inputs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Tensor, len(g.Outputs))
	for _, o := range g.Outputs {
		out[o.Name] = all[o.Name]
	}
	return out, nil
}

// RunAll is Run returning every tensor: inputs, initializers and each
// node's outputs (for layer-by-layer comparisons).
func RunAll(g *Graph, inputs map[string]*Tensor) (map[string]*Tensor, error) {
	env := make(map[string]*Tensor, len(g.Initializers)+len(inputs)+len(g.Nodes))
	for name, t := range g.Initializers {
		env[name] = t
	}
	declared := map[string]bool{}
	for _, v := range g.Inputs {
		declared[v.Name] = true
		t, ok := inputs[v.Name]
		if !ok {
			return nil, fmt.Errorf("%s: input %q not given", g.Source, v.Name)
		}
		if err := checkInput(v, t); err != nil {
			return nil, fmt.Errorf("%s: input %q: %w", g.Source, v.Name, err)
		}
		env[v.Name] = t
	}
	for _, name := range sortedKeys(inputs) {
		if !declared[name] {
			return nil, fmt.Errorf("%s: %q is not a graph input", g.Source, name)
		}
	}
	ops := operators()
	for _, n := range g.Nodes {
		if err := runNode(n, ops, g.Opset, env); err != nil {
			return nil, fmt.Errorf("%s: node %q (op %s): %w", g.Source, n.Name, n.Op, err)
		}
	}
	for _, o := range g.Outputs {
		if env[o.Name] == nil {
			return nil, fmt.Errorf("%s: output %q was not computed", g.Source, o.Name)
		}
	}
	return env, nil
}

// checkInput checks a fed tensor against the graph input's declaration.
func checkInput(v Value, t *Tensor) error {
	if err := t.Check(); err != nil {
		return err
	}
	if t.DType != v.DType {
		return fmt.Errorf("got %v, want %v", t.DType, v.DType)
	}
	if v.Shape == nil {
		return nil
	}
	if len(t.Shape) != len(v.Shape) {
		return fmt.Errorf("got shape %v, want %v", t.Shape, v.Shape)
	}
	for i, d := range v.Shape {
		if d >= 0 && t.Shape[i] != d {
			return fmt.Errorf("got shape %v, want %v", t.Shape, v.Shape)
		}
	}
	return nil
}

// runNode validates a node's inputs with its shape inference, runs it and
// checks that the outputs are what inference promised.
func runNode(n *Node, ops map[string]opSpec, opset int, env map[string]*Tensor) error {
	spec, ok := ops[n.Op]
	if !ok || spec.run == nil {
		return fmt.Errorf("operator %w", ErrUnsupported)
	}
	in := make([]*Tensor, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		t, ok := env[name]
		if !ok {
			return fmt.Errorf("input %q is not defined", name)
		}
		in[i] = t
	}
	want, err := spec.infer(n, opset, values(in), in)
	if err != nil {
		return err
	}
	out, err := spec.run(n, opset, in)
	if err != nil {
		return err
	}
	for i, name := range n.Outputs {
		if name == "" {
			continue
		}
		if i >= len(out) || out[i] == nil {
			return fmt.Errorf("output %d (%q) not produced", i, name)
		}
		if err := out[i].Check(); err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		if i < len(want) && (out[i].DType != want[i].DType || fmt.Sprint(out[i].Shape) != fmt.Sprint(want[i].Shape)) {
			return fmt.Errorf("output %q is %v, inference said %v%v", name, out[i], want[i].DType, want[i].Shape)
		}
		env[name] = out[i]
	}
	return nil
}

// values describes tensors for the infer functions; absent ones get the
// zero Value (empty name).
func values(in []*Tensor) []Value {
	vs := make([]Value, len(in))
	for i, t := range in {
		if t != nil {
			vs[i] = t.Value(fmt.Sprint("input ", i))
		}
	}
	return vs
}
