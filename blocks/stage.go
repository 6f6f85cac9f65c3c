package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// StageConfig sizes a stage of the post-array pipeline (requantizer,
// activation unit, pooling unit). Every stage has the same outer shape:
//
//	in    stream: Lanes elements (lane k at bits [k*w, (k+1)*w)) and, above
//	      them, a TagBits-wide tag naming the parameter set to use
//	out   stream: the same, with the stage's output element width; the tag
//	      passes through unchanged
//	prm_* a write port for run-time parameters: on a rising edge with
//	      prm_we = 1, word prm_addr of parameter set prm_set becomes
//	      prm_data (each stage documents its addresses and word layout)
//
// Stages are pipelines that advance together: adv = !out_valid || out_ready,
// in_ready = adv, so a stalled output freezes the stage and nothing is lost.
type StageConfig struct {
	Lanes   int // vector width (the array's cols)
	TagBits int // width of the parameter-set tag
	// ZeroIdle makes out_data zero whenever out_valid is 0 (and after
	// reset): set on the pipeline's last stage, whose out_data is the top's
	// y_out_data. The output registers load 0 with an invalid beat, which a
	// flip-flop's synchronous reset does, instead of a gate per bit after
	// them.
	ZeroIdle bool
}

// Sets is the number of parameter sets a stage holds.
func (c StageConfig) Sets() int { return 1 << c.TagBits }

// Validate checks the sizes.
func (c StageConfig) Validate() error {
	if c.Lanes < 1 || c.Lanes > MaxArray {
		return fmt.Errorf("stage: lanes %d must be in [1, %d]", c.Lanes, MaxArray)
	}
	if c.TagBits < 1 || c.TagBits > 8 {
		return fmt.Errorf("stage: tag_bits %d must be in [1, 8]", c.TagBits)
	}
	return nil
}

// StagePorts are the ports every pipeline stage has, unpacked.
type StagePorts struct {
	In, Out hdl.Stream
	InLanes []*hdl.Expr // the input vector's elements, shaped as declared
	InTag   *hdl.Expr
	PrmWe   *hdl.Expr
	PrmSet  *hdl.Expr
	PrmAddr *hdl.Expr
	PrmData *hdl.Expr
	// Adv is 1 when the stage's registers may advance (and in_ready).
	Adv *hdl.Expr
	// OutValid is the stage's output valid register; set it on adv.
	OutValid *hdl.Expr
}

// NewStagePorts declares the common ports of a stage on m. The caller drives
// out_data (with PackLanes) and updates OutValid under Adv.
func NewStagePorts(m *hdl.Module, c StageConfig, inLane, outLane hdl.Shape, prmAddrBits, prmDataBits int) *StagePorts {
	p := &StagePorts{
		In:  m.InStream("in", hdl.U(c.Lanes*inLane.Width+c.TagBits)),
		Out: m.OutStream("out", hdl.U(c.Lanes*outLane.Width+c.TagBits)),
	}
	for k := 0; k < c.Lanes; k++ {
		e := p.In.Data.Slice((k+1)*inLane.Width-1, k*inLane.Width)
		if inLane.Signed {
			e = e.AsSigned()
		}
		p.InLanes = append(p.InLanes, e)
	}
	top := c.Lanes * inLane.Width
	p.InTag = p.In.Data.Slice(top+c.TagBits-1, top)
	p.PrmWe = m.Input("prm_we", hdl.U(1))
	p.PrmSet = m.Input("prm_set", hdl.U(c.TagBits))
	p.PrmAddr = m.Input("prm_addr", hdl.U(prmAddrBits))
	p.PrmData = m.Input("prm_data", hdl.U(prmDataBits))
	p.OutValid = m.Reg("out_valid_q", hdl.U(1), hdl.ResetTo(0))
	p.Adv = m.Wire("adv", hdl.U(1))
	m.Set(p.Adv, p.OutValid.Not().Or(p.Out.Ready))
	m.Set(p.In.Ready, p.Adv)
	m.Set(p.Out.Valid, p.OutValid)
	return p
}

// PackLanes concatenates a tag and lanes (lane 0 least significant) into a
// stage payload.
func PackLanes(tag *hdl.Expr, lanes []*hdl.Expr) *hdl.Expr {
	parts := []*hdl.Expr{tag}
	for k := len(lanes) - 1; k >= 0; k-- {
		parts = append(parts, lanes[k].AsUnsigned())
	}
	return hdl.Cat(parts...)
}
