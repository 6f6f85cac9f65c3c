package blocks_test

import (
	"testing"

	"github.com/tpugen/tpugen/blocks"
)

// TestPipelinePoolBounds checks that the pipeline's pooling limits are the
// pooling unit's own (PoolConfig.Validate), reported by configuration key.
func TestPipelinePoolBounds(t *testing.T) {
	base := blocks.MatrixConfig{Rows: 4, Cols: 4, InputBits: 8, InputSigned: true, WeightBits: 8, WeightSigned: true,
		AccBits: 32, AccDepth: 16,
		Pipeline: blocks.PipelineConfig{Requant: true, Pool: true, PoolWindow: 3, PoolWidth: 32, PoolHeight: 32, TagBits: 2}}
	if err := base.Validate(); err != nil {
		t.Fatalf("valid configuration rejected: %v", err)
	}
	for _, tc := range []struct {
		desc string
		edit func(*blocks.PipelineConfig)
		want string // "" when valid
	}{
		{"smallest window", func(p *blocks.PipelineConfig) { p.PoolWindow = 3 }, ""},
		{"largest window", func(p *blocks.PipelineConfig) { p.PoolWindow = blocks.MaxPoolWindow }, ""},
		{"largest map", func(p *blocks.PipelineConfig) { p.PoolWidth, p.PoolHeight = blocks.MaxPoolSide, blocks.MaxPoolSide }, ""},
		{"window 2", func(p *blocks.PipelineConfig) { p.PoolWindow = 2 }, "pool_window 2 must be in [3, 7]"},
		{"window 9", func(p *blocks.PipelineConfig) { p.PoolWindow = 9 }, "pool_window 9 must be in [3, 7]"},
		{"width 0", func(p *blocks.PipelineConfig) { p.PoolWidth = 0 }, "pool_width 0 must be in [1, 1024]"},
		{"height 1025", func(p *blocks.PipelineConfig) { p.PoolHeight = 1025 }, "pool_height 1025 must be in [1, 1024]"},
		{"bad sets and window", func(p *blocks.PipelineConfig) { p.TagBits, p.PoolWindow = 0, 8 },
			"param_sets must be a power of two from 2 to 256\npool_window 8 must be in [3, 7]"},
		{"no pool, any window", func(p *blocks.PipelineConfig) { p.Pool, p.PoolWindow = false, 99 }, ""},
	} {
		c := base
		tc.edit(&c.Pipeline)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: rejected: %v", tc.desc, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: accepted", tc.desc)
		case tc.want != "" && err.Error() != tc.want:
			t.Errorf("%s: error %q, want %q", tc.desc, err, tc.want)
		}
		if err == nil && c.Pipeline.Pool {
			if _, err := blocks.NewMatrixUnit(c); err != nil {
				t.Errorf("%s: validated but does not build: %v", tc.desc, err)
			}
		}
	}
}
