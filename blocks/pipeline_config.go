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
	PoolWindow int  // largest pooling window side
	PoolWidth  int  // largest feature-map width the line buffers hold
	PoolHeight int  // largest feature-map height
	PoolL2     bool // the pooling unit also does L2 pooling
	Softmax    bool // the softmax unit ends the pipeline
	TagBits    int  // parameter sets = 2^TagBits
}

// Enabled reports whether there is a pipeline.
func (p PipelineConfig) Enabled() bool { return p.Requant }

// Validate checks the pipeline against the matrix configuration.
func (p PipelineConfig) Validate(c MatrixConfig) error {
	if p.PoolL2 && !p.Pool {
		return errors.New("pool_l2 needs pool: true (L2 is a mode of the pooling unit)")
	}
	if !p.Requant {
		var errs []error
		if p.Activation.Any() || p.Pool {
			errs = append(errs, errors.New("activation and pool need requant: true (they work on requantized int8 values)"))
		}
		if p.Softmax {
			errs = append(errs, errors.New("softmax needs requant: true (it works on requantized int8 values)"))
		}
		return errors.Join(errs...)
	}
	var errs []error
	if c.AccBits != 32 || !c.ProductSigned() {
		errs = append(errs, fmt.Errorf("requant needs signed 32-bit accumulators (acc_bits 32 and signed inputs or weights), got %s", sig(c.AccBits, c.ProductSigned())))
	}
	tagsOK := p.TagBits >= 1 && p.TagBits <= 8
	if !tagsOK {
		errs = append(errs, fmt.Errorf("param_sets must be a power of two from 2 to 256"))
	}
	if p.Pool {
		pool := p.pool(c.Cols)
		if !tagsOK {
			// Reported above as param_sets; check the pool's own sizes.
			pool.Stage.TagBits = 1
		}
		if err := pool.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p PipelineConfig) stage(cols int) StageConfig {
	return StageConfig{Lanes: cols, TagBits: p.TagBits}
}

// pool is the pooling unit's configuration for an array of cols columns.
func (p PipelineConfig) pool(cols int) PoolConfig {
	return PoolConfig{Stage: p.stage(cols), MaxWindow: p.PoolWindow, MaxWidth: p.PoolWidth, MaxHeight: p.PoolHeight, L2: p.PoolL2}
}
