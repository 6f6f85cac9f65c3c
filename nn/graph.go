package nn

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrUnsupported marks an operator, opset, data type or attribute value
// that nn does not implement (as opposed to a malformed model).
var ErrUnsupported = errors.New("unsupported")

// Graph is nn's one graph IR: an ONNX graph with constants folded into
// initializers and attributes decoded.
type Graph struct {
	Name string
	// Source names the model in diagnostics (a file name, or what the
	// caller passed to Parse).
	Source string
	// Opset is the default-domain operator set the model imports.
	Opset int
	// Inputs are the values the caller feeds to Run (graph inputs that are
	// not initializers), in model order.
	Inputs  []Value
	Outputs []Value
	// Initializers are the constant tensors: the model's initializers and
	// the outputs of its Constant nodes.
	Initializers map[string]*Tensor
	// Nodes are in topological order: every input is a graph input, an
	// initializer or the output of an earlier node.
	Nodes []*Node
	// Values holds what is known of the other tensors' types and shapes:
	// the model's value_info at load, every tensor after InferShapes.
	Values map[string]Value
}

// Value is a tensor's name, element type and shape. A dimension of -1 is
// dynamic; a nil Shape means the rank is unknown (a scalar has an empty,
// non-nil Shape).
type Value struct {
	Name  string
	DType DType
	Shape []int
}

// Static reports whether the shape is fully known.
func (v Value) Static() bool {
	if v.Shape == nil {
		return false
	}
	for _, d := range v.Shape {
		if d < 0 {
			return false
		}
	}
	return true
}

func (v Value) String() string { return fmt.Sprintf("%s: %v%v", v.Name, v.DType, v.Shape) }

// Node is one operator application.
type Node struct {
	Name string
	Op   string
	// Inputs and Outputs name tensors; "" marks an omitted optional one.
	Inputs  []string
	Outputs []string
	Attrs   map[string]Attr
}

// AttrType is the type of an attribute value.
type AttrType int

// The attribute types nn decodes.
const (
	AttrFloat AttrType = iota + 1
	AttrInt
	AttrString
	AttrTensor
	AttrFloats
	AttrInts
	AttrStrings
)

func (a AttrType) String() string {
	switch a {
	case AttrFloat:
		return "float"
	case AttrInt:
		return "int"
	case AttrString:
		return "string"
	case AttrTensor:
		return "tensor"
	case AttrFloats:
		return "floats"
	case AttrInts:
		return "ints"
	case AttrStrings:
		return "strings"
	}
	return "AttrType(" + strconv.Itoa(int(a)) + ")"
}

// Attr is a typed attribute value; Type says which field is set.
type Attr struct {
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Input returns the i-th input name, "" when absent.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// Output returns the i-th output name, "" when absent.
func (n *Node) Output(i int) string {
	if i < len(n.Outputs) {
		return n.Outputs[i]
	}
	return ""
}

// AttrInt returns an int attribute, or def when it is not set.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInt {
		return a.I
	}
	return def
}

// AttrFloat returns a float attribute, or def when it is not set.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloat {
		return a.F
	}
	return def
}

// AttrString returns a string attribute, or def when it is not set.
func (n *Node) AttrString(name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrString {
		return a.S
	}
	return def
}

// AttrInts returns an ints attribute, nil when it is not set.
func (n *Node) AttrInts(name string) []int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInts {
		return a.Ints
	}
	return nil
}

// AttrFloats returns a floats attribute, nil when it is not set.
func (n *Node) AttrFloats(name string) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloats {
		return a.Floats
	}
	return nil
}

// HasAttr reports whether an attribute is set.
func (n *Node) HasAttr(name string) bool {
	_, ok := n.Attrs[name]
	return ok
}

func (n *Node) String() string { return fmt.Sprintf("node %q (op %s)", n.Name, n.Op) }

// Producer returns the node that outputs the named tensor, or nil.
func (g *Graph) Producer(name string) *Node {
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == name && name != "" {
				return n
			}
		}
	}
	return nil
}

// Consumers returns the nodes that read the named tensor, in order.
func (g *Graph) Consumers(name string) []*Node {
	var out []*Node
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in == name && name != "" {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// IsOutput reports whether the named tensor is a graph output.
func (g *Graph) IsOutput(name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// defined returns every tensor name the graph defines.
func (g *Graph) defined() map[string]bool {
	names := map[string]bool{}
	for _, v := range g.Inputs {
		names[v.Name] = true
	}
	for name := range g.Initializers {
		names[name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				names[o] = true
			}
		}
	}
	return names
}

// uniqueName returns base, or base with a numeric suffix, that no tensor
// of the graph uses yet.
func (g *Graph) uniqueName(base string) string {
	used := g.defined()
	if !used[base] {
		return base
	}
	for i := 1; ; i++ {
		if s := base + "_" + strconv.Itoa(i); !used[s] {
			return s
		}
	}
}
