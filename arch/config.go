package arch

import "fmt"

// Config is a resolved configuration: every default filled in, every mode
// decoded. The generator derives it from the user's JSON and writes it into
// the manifest; drivers, golden models and the compiler read it from there.
// Every numeric choice a reference computation needs (operand types,
// accumulator width, rounding) is here, so no reference defaults its own.
type Config struct {
	Name         string   `json:"name"`
	Rows         int      `json:"rows"`
	Cols         int      `json:"cols"`
	Dataflow     Dataflow `json:"dataflow"`
	InputBits    int      `json:"input_bits"`
	InputSigned  bool     `json:"input_signed"`
	WeightBits   int      `json:"weight_bits"`
	WeightSigned bool     `json:"weight_signed"`
	AccBits      int      `json:"acc_bits"`
	AccDepth     int      `json:"acc_depth"`
	MAC          MACForm  `json:"mac"`
	// MACStages is the number of register stages in each PE's
	// multiply-accumulate and the accumulator's read-add-write (0: none).
	MACStages int `json:"mac_stages,omitempty"`
	// Stall is how the unit waits for its output (enable: one stall
	// enable for every register; credit: the array never stops).
	Stall Stall `json:"stall,omitempty"`

	// WeightCompression is how weights cross w_in (none: dense rows).
	WeightCompression WeightCompression `json:"weight_compression,omitempty"`

	// The post-array pipeline; Requant false means results leave only as
	// raw accumulator rows.
	Requant    bool        `json:"requant"`
	Rounding   Rounding    `json:"rounding"`
	Activation Activations `json:"activation"`
	Pool       bool        `json:"pool"`
	PoolWindow int         `json:"pool_window"`
	PoolWidth  int         `json:"pool_width"`
	PoolHeight int         `json:"pool_height"`
	// PoolL2 adds L2 pooling to the pooling unit.
	PoolL2 bool `json:"pool_l2,omitempty"`
	// Softmax adds the softmax unit at the end of the pipeline.
	Softmax   bool `json:"softmax,omitempty"`
	ParamSets int  `json:"param_sets"`

	// Core, when set, puts the matrix unit and its pipeline inside the
	// core (a unified buffer, a weight memory and a controller running
	// programs); nil generates the matrix unit alone.
	Core *CoreConfig `json:"core,omitempty"`
}

// CoreConfig sizes the core's memories, in bytes.
type CoreConfig struct {
	UBBytes     int `json:"ub_bytes"`
	WeightBytes int `json:"weight_bytes"`
}

// AccSigned reports whether products, sums and accumulators are signed:
// when either operand is.
func (c Config) AccSigned() bool { return c.InputSigned || c.WeightSigned }

// OperandRange is the inclusive range of a bits-wide operand.
func OperandRange(bits int, signed bool) (lo, hi int64) {
	if signed {
		return -(1 << (bits - 1)), 1<<(bits-1) - 1
	}
	return 0, 1<<bits - 1
}

// TypeName spells an operand type, "int8" or "uint4".
func TypeName(bits int, signed bool) string {
	if signed {
		return fmt.Sprintf("int%d", bits)
	}
	return fmt.Sprintf("uint%d", bits)
}
