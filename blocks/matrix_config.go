package blocks

import (
	"errors"
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/hdl"
)

// MatrixConfig sizes the matrix unit: the array, its operand types and the
// accumulator memory.
type MatrixConfig struct {
	Rows, Cols   int
	Dataflow     arch.Dataflow
	InputBits    int
	InputSigned  bool
	WeightBits   int
	WeightSigned bool
	AccBits      int
	AccDepth     int
	// MAC is the PEs' multiply-accumulate form: arch.FusedMAC is one fused
	// expression (hdl.MulAcc), which Yosys packs whole into an iCE40
	// SB_MAC16 (adder included); the split form is smaller in generic
	// synthesis, and arch.CSAMAC (gates: partial products, a carry-save
	// tree, one ripple add; mac_csa.go) smaller still.
	MAC arch.MACForm
	// MACStages is the register stages added for clock speed (0 to
	// MaxMACStages). From 1 on, each PE registers its product before its
	// add, the accumulator registers its memory read before the
	// accumulate add and its result after it (the unit's two longest
	// paths), and the unit advances on a registered enable (loadSkid); 2
	// also splits each PE's multiplier into two registered halves. Each
	// stage adds a cycle to the latency, the accumulator's output register
	// one more (OS: two); the throughput stays the same.
	MACStages int
	// Stall arch.StallCredit runs the array, its skew and the accumulator
	// without an enable: a beat that makes a result (last) is taken only
	// while the output FIFO has room for it and for every result still on
	// its way (creditFIFO), so a stalled output never stops a PE. The FIFO
	// holds a result per cycle of the unit's latency.
	Stall    arch.Stall
	Pipeline PipelineConfig

	// WeightCompression puts a WeightDecoder between w_in and the array.
	WeightCompression arch.WeightCompression
}

// MaxMACStages is the largest MACStages.
const MaxMACStages = 2

// MaxArray is the largest rows or cols the generator accepts.
const MaxArray = 256

// Validate reports every problem with the configuration, one per line.
func (c MatrixConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Rows < 1 || c.Rows > MaxArray {
		bad("rows %d must be in [1, %d]", c.Rows, MaxArray)
	}
	if c.Cols < 1 || c.Cols > MaxArray {
		bad("cols %d must be in [1, %d]", c.Cols, MaxArray)
	}
	for _, b := range []struct {
		name string
		v    int
	}{{"input_bits", c.InputBits}, {"weight_bits", c.WeightBits}} {
		if b.v != 4 && b.v != 8 && b.v != 16 {
			bad("%s %d must be 4, 8 or 16", b.name, b.v)
		}
	}
	if c.AccBits < 2 || c.AccBits > 64 {
		bad("acc_bits %d must be in [2, 64]", c.AccBits)
	}
	if c.AccDepth < 2 || c.AccDepth > 1<<16 {
		bad("acc_depth %d must be in [2, 65536]", c.AccDepth)
	}
	if c.MACStages < 0 || c.MACStages > MaxMACStages {
		bad("mac_stages %d must be in [0, %d]", c.MACStages, MaxMACStages)
	} else if c.MACStages > 0 && c.MAC.IsFused() {
		bad("mac \"fused\" and mac_stages %d exclude each other: the stages register the product before the add, so there is no fused multiply-add (use mac \"split\")", c.MACStages)
	}
	if c.Stall.IsCredit() && c.Dataflow.IsOS() {
		bad("stall \"credit\" needs the ws dataflow (an os tile drains rows results at once)")
	}
	if c.MAC.IsBinary() {
		errs = append(errs, c.validateBinary()...)
	}
	if c.MAC.IsCSA() {
		if c.MACStages > 0 {
			bad("mac \"csa\" and mac_stages %d exclude each other: the stages register a product, and the carry-save form has none (use mac \"split\")", c.MACStages)
		}
		if c.AccBits < c.ProductBits() {
			bad("mac \"csa\" needs acc_bits %d to hold a whole product (%d bits)", c.AccBits, c.ProductBits())
		}
	}
	if c.WeightCompression.IsCompressed() {
		if c.Dataflow.IsOS() {
			bad("weight_compression %q needs the ws dataflow (the decoder closes tiles of rows weight rows)", c.WeightCompression)
		}
		if err := c.weightDecoder().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Dataflow.IsOS() && c.AccDepth < c.Rows {
		bad("acc_depth %d must be at least rows (%d) for the os dataflow", c.AccDepth, c.Rows)
	}
	if len(errs) == 0 {
		if err := c.Pipeline.Validate(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ProductSigned reports whether products (and so sums and accumulators) are
// signed: when either operand is.
func (c MatrixConfig) ProductSigned() bool { return c.InputSigned || c.WeightSigned }

// ProductBits is the exact width of one input × weight product. A mixed
// signed × unsigned product needs one extra bit for the unsigned operand.
func (c MatrixConfig) ProductBits() int {
	if c.MAC.IsBinary() {
		return binaryDotBits(c.InputBits)
	}
	if c.InputSigned != c.WeightSigned {
		return c.InputBits + c.WeightBits + 1
	}
	return c.InputBits + c.WeightBits
}

// SumBits is the width of in-array partial sums. WS: what a column of Rows
// products can reach (ProductBits + ceil(log2(Rows))), never wider than the
// accumulator since the accumulator wraps anyway. OS PEs accumulate over all
// of K, so they are AccBits wide.
func (c MatrixConfig) SumBits() int {
	if c.Dataflow.IsOS() {
		return c.AccBits
	}
	w := c.ProductBits() + hdl.Clog2(c.Rows)
	if w > c.AccBits {
		return c.AccBits
	}
	return w
}

// AccAddrBits is the accumulator address width.
func (c MatrixConfig) AccAddrBits() int { return max(1, hdl.Clog2(c.AccDepth)) }

// fused reports whether the PEs use the fused multiply-accumulate: asked
// for, and the partial sum is at least as wide as the operands (MulAcc's
// rule; a tiny wrapping accumulator keeps the split form).
func (c MatrixConfig) fused() bool {
	w := c.SumBits()
	return c.MAC.IsFused() && w >= c.InputBits+1 && w >= c.WeightBits+1
}

// accLead is how many cycles the accumulator wants a row's read address
// before the row (Accumulator.Lead).
func (c MatrixConfig) accLead() int {
	if c.MACStages > 0 {
		return 2
	}
	return 1
}

// registeredAdvance reports whether the unit's registers advance on a
// registered enable, with a second output entry to catch the result
// produced in the cycle after the output stalls (with MAC stages).
func (c MatrixConfig) registeredAdvance() bool { return c.MACStages > 0 && !c.Stall.IsCredit() }

func (c MatrixConfig) macSuffix() string {
	switch {
	case c.fused():
		return "_f"
	case c.MACStages > 0:
		return fmt.Sprintf("_p%d", c.MACStages)
	case c.MAC.IsBinary():
		return "_xnor"
	case c.MAC.IsCSA():
		return "_csa"
	}
	return ""
}

func shapeOf(bits int, signed bool) hdl.Shape { return hdl.Shape{Width: bits, Signed: signed} }
