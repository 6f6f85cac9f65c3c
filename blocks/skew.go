package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// Data moves one PE per cycle, so the array's inputs enter as a staircase:
// row i (activations) and column j (weights) reach the array i or j cycles
// after row or column 0, and the column sums leave it the same way. These
// delay lines build the staircase (skew) and square it up again (deskew).

// skewWeights registers the w_in lanes (registers prefix_j) and delays lane
// j by j cycles: the weight bus of column j.
func (b *mxuBuilder) skewWeights(prefix string) []*hdl.Expr {
	bus := make([]*hdl.Expr, b.cfg.Cols)
	for j := range bus {
		w0 := b.reg(fmt.Sprintf("%s_%d", prefix, j), b.wl.weights.lane(b.win.Data, j))
		bus[j] = b.delay(fmt.Sprintf("wskew_%d", j), w0, j)
	}
	return bus
}

// skewAct registers row i's activation of the a_in beat and delays it by
// lead+i cycles, lead being how far the dataflow wants activations behind
// the control flags of row 0.
func (b *mxuBuilder) skewAct(i, lead int) *hdl.Expr {
	act := b.reg(fmt.Sprintf("s0_act_%d", i), b.al.acts.lane(b.ain.Data, i))
	return b.delay(fmt.Sprintf("askew_%d", i), act, lead+i)
}

// deskew delays column j's sum by cols-1-j cycles, so that a row's sums
// leave the array together, and widens them to the accumulator (sums are
// never wider: SumBits is at most AccBits).
func (b *mxuBuilder) deskew(sums []*hdl.Expr) []*hdl.Expr {
	C := len(sums)
	out := make([]*hdl.Expr, C)
	for j := range sums {
		out[j] = b.delay(fmt.Sprintf("deskew_%d", j), sums[j], C-1-j).Ext(b.cfg.AccBits)
	}
	return out
}
