package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// CounterConfig sizes a counter.
type CounterConfig struct {
	Width int
}

// Validate checks the width.
func (c CounterConfig) Validate() error {
	if c.Width < 1 || c.Width > 64 {
		return fmt.Errorf("counter: width %d must be in [1, 64]", c.Width)
	}
	return nil
}

// Counter counts clock edges while in_en is 1, wrapping at 2^Width.
type Counter struct {
	*hdl.Module
	En    *hdl.Expr
	Count *hdl.Expr
}

// NewCounter builds a counter.
func NewCounter(cfg CounterConfig) (*Counter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := hdl.NewModule(fmt.Sprintf("counter_w%d", cfg.Width))
	c := &Counter{Module: m, En: m.Input("in_en", hdl.U(1))}
	count := m.Reg("count", hdl.U(cfg.Width), hdl.ResetTo(0))
	c.Count = m.Output("out_count", hdl.U(cfg.Width))
	m.If(c.En, func() {
		m.Set(count, count.Add(m.Lit(1, 1)).Trunc(cfg.Width))
	})
	m.Set(c.Count, count)
	return c, nil
}
