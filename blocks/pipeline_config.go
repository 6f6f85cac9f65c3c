package blocks

import (
	"errors"
	"fmt"

	"github.com/tpugen/tpugen/arch"
)

// PipelineConfig selects the post-array pipeline: requantizer, activation
// unit and pooling unit, each optional (a stage that is off generates no
// hardware). Without Requant there is no pipeline at all and results leave
// only as raw accumulator rows on c_out.
type PipelineConfig struct {
	Requant    bool
	Rounding   arch.Rounding
	Activation arch.Activations
	Pool       bool
	PoolWindow int // largest pooling window side
	PoolWidth  int // largest feature-map width the line buffers hold
	PoolHeight int // largest feature-map height
	TagBits    int // parameter sets = 2^TagBits
}

// Enabled reports whether there is a pipeline.
func (p PipelineConfig) Enabled() bool { return p.Requant }

// Validate checks the pipeline against the matrix configuration.
func (p PipelineConfig) Validate(c MatrixConfig) error {
	if !p.Requant {
		if p.Activation.Any() || p.Pool {
			return errors.New("activation and pool need requant: true (they work on requantized int8 values)")
		}
		return nil
	}
	var errs []error
	if c.AccBits != 32 || !c.ProductSigned() {
		errs = append(errs, fmt.Errorf("requant needs signed 32-bit accumulators (acc_bits 32 and signed inputs or weights), got %s", sig(c.AccBits, c.ProductSigned())))
	}
	if p.TagBits < 1 || p.TagBits > 8 {
		errs = append(errs, fmt.Errorf("param_sets must be a power of two from 2 to 256"))
	}
	if p.Pool {
		if p.PoolWindow < 3 || p.PoolWindow > 7 {
			errs = append(errs, fmt.Errorf("pool_window %d must be in [3, 7]", p.PoolWindow))
		}
		if p.PoolWidth < 1 || p.PoolWidth > 1024 || p.PoolHeight < 1 || p.PoolHeight > 1024 {
			errs = append(errs, fmt.Errorf("pool_width and pool_height must be in [1, 1024]"))
		}
	}
	return errors.Join(errs...)
}

func (p PipelineConfig) stage(cols int) StageConfig {
	return StageConfig{Lanes: cols, TagBits: p.TagBits}
}
