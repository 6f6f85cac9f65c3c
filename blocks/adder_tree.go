package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// AdderTreeConfig sizes a pipelined adder tree.
type AdderTreeConfig struct {
	Inputs int  // number of operands
	Width  int  // operand width
	Signed bool // operand signedness
}

// Validate checks the sizes.
func (c AdderTreeConfig) Validate() error {
	if c.Inputs < 1 || c.Inputs > 1024 {
		return fmt.Errorf("adder tree: inputs %d must be in [1, 1024]", c.Inputs)
	}
	if c.Width < 1 || c.Width > 64 {
		return fmt.Errorf("adder tree: width %d must be in [1, 64]", c.Width)
	}
	return nil
}

// OutWidth is the exact width of the sum: Width + ceil(log2(Inputs)).
func (c AdderTreeConfig) OutWidth() int { return c.Width + hdl.Clog2(c.Inputs) }

// Latency is the number of register stages: one per tree level, at least one.
func (c AdderTreeConfig) Latency() int {
	if l := hdl.Clog2(c.Inputs); l > 0 {
		return l
	}
	return 1
}

// AdderTree sums its inputs with one register stage per level; the sum
// appears Latency() cycles after the operands. Each level grows one bit, so
// the sum is exact.
type AdderTree struct {
	*hdl.Module
	In  []*hdl.Expr
	Sum *hdl.Expr
}

// NewAdderTree builds the tree.
func NewAdderTree(cfg AdderTreeConfig) (*AdderTree, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sign := "u"
	shape := hdl.U(cfg.Width)
	if cfg.Signed {
		sign = "s"
		shape = hdl.S(cfg.Width)
	}
	m := hdl.NewModule(fmt.Sprintf("adder_tree_n%d_%s%d", cfg.Inputs, sign, cfg.Width))
	t := &AdderTree{Module: m}
	level := make([]*hdl.Expr, cfg.Inputs)
	for i := range level {
		level[i] = m.Input(fmt.Sprintf("in_%d", i), shape)
		t.In = append(t.In, level[i])
	}
	w := cfg.Width
	for depth := 0; len(level) > 1 || depth == 0; depth++ {
		w++
		if len(level) == 1 {
			w-- // a single operand is only registered, not widened
		}
		var next []*hdl.Expr
		for i := 0; i < len(level); i += 2 {
			r := m.Reg(fmt.Sprintf("sum_l%d_%d", depth, i/2), hdl.Shape{Width: w, Signed: cfg.Signed})
			if i+1 < len(level) {
				m.Set(r, level[i].Ext(w-1).Add(level[i+1].Ext(w-1)))
			} else {
				m.Set(r, level[i].Ext(w))
			}
			next = append(next, r)
		}
		level = next
	}
	t.Sum = m.Output("out_sum", hdl.Shape{Width: cfg.OutWidth(), Signed: cfg.Signed})
	m.Set(t.Sum, level[0])
	return t, nil
}
