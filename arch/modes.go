package arch

import "fmt"

// A mode is a small enumeration that is written as a string in JSON. Each
// mode type decodes its own text once, at the JSON boundary, so the rest of
// the code compares typed values and asks methods (IsOS, HasLeaky) instead
// of comparing strings.

// Dataflow selects how the systolic array moves data.
type Dataflow uint8

const (
	// WS is weight-stationary (TPU v1): weights preloaded per tile,
	// activations stream right, partial sums flow down.
	WS Dataflow = iota
	// OS is output-stationary: each PE accumulates one output over K while
	// activations stream right and weights stream down.
	OS
)

var dataflowNames = []string{"ws", "os"}

func (d Dataflow) String() string               { return name(dataflowNames, "Dataflow", int(d)) }
func (d Dataflow) MarshalText() ([]byte, error) { return marshal(dataflowNames, "dataflow", int(d)) }
func (d *Dataflow) UnmarshalText(b []byte) error {
	return unmarshal(dataflowNames, "dataflow", b, (*uint8)(d))
}

// IsOS reports whether the array is output-stationary.
func (d Dataflow) IsOS() bool { return d == OS }

// MACForm selects how each PE's multiply-accumulate is written.
type MACForm uint8

const (
	// SplitMAC multiplies, then adds: smaller in generic synthesis.
	SplitMAC MACForm = iota
	// FusedMAC writes the multiply-accumulate as one expression, which
	// Yosys packs whole (adder included) into an iCE40 SB_MAC16.
	FusedMAC
	// XnorMAC makes each PE a binary (1-bit) unit: an input lane and a
	// weight lane each pack input_bits values in {-1, +1} (bit 1 is +1,
	// bit 0 is -1), and the PE adds their dot product,
	// 2*popcount(xnor(act, w)) - input_bits, instead of a product.
	XnorMAC
	// CSAMAC writes each PE's multiply-accumulate as gates: the operands'
	// partial products (Baugh-Wooley for signed operands) and the incoming
	// sum reduced by a carry-save (Dadda) tree, then one ripple-carry add.
	// Far smaller in generic synthesis than Yosys' own multiplier.
	CSAMAC
)

var macNames = []string{"split", "fused", "xnor", "csa"}

func (m MACForm) String() string               { return name(macNames, "MACForm", int(m)) }
func (m MACForm) MarshalText() ([]byte, error) { return marshal(macNames, "mac", int(m)) }
func (m *MACForm) UnmarshalText(b []byte) error {
	return unmarshal(macNames, "mac", b, (*uint8)(m))
}

// IsFused reports whether the fused form was asked for.
func (m MACForm) IsFused() bool { return m == FusedMAC }

// IsCSA reports whether the PEs use the carry-save gate form.
func (m MACForm) IsCSA() bool { return m == CSAMAC }

// IsBinary reports whether the PEs are binary XNOR-popcount units.
func (m MACForm) IsBinary() bool { return m == XnorMAC }

// Stall selects how the matrix unit waits for a result nobody takes.
type Stall uint8

const (
	// StallEnable stops every register of the array, the accumulator and
	// the output together (one enable) while the output holds a result.
	StallEnable Stall = iota
	// StallCredit never stops the array: a beat that makes a result is
	// taken only while the output FIFO has room for it and every result
	// still in the array (a credit each), so no enable reaches a PE.
	StallCredit
)

var stallNames = []string{"enable", "credit"}

func (s Stall) String() string               { return name(stallNames, "Stall", int(s)) }
func (s Stall) MarshalText() ([]byte, error) { return marshal(stallNames, "stall", int(s)) }
func (s *Stall) UnmarshalText(b []byte) error {
	return unmarshal(stallNames, "stall", b, (*uint8)(s))
}

// IsCredit reports whether the array runs without a stall enable.
func (s Stall) IsCredit() bool { return s == StallCredit }

// Rounding selects the requantizer's fixed-point arithmetic.
type Rounding uint8

const (
	// DoubleRounding is gemmlowp's SaturatingRoundingDoublingHighMul then
	// RoundingDivideByPOT, TFLite's reference default.
	DoubleRounding Rounding = iota
	// SingleRounding is TFLITE_SINGLE_ROUNDING: one 64-bit product and one
	// round-half-up shift.
	SingleRounding
	// FloatRounding multiplies by a float32 scale the way ONNX Runtime's
	// QLinearConv and QLinearMatMul do on x86-64: the int32 sum converted
	// to float32, times the scale in float32, rounded half to even.
	FloatRounding
)

var roundingNames = []string{"double", "single", "float"}

func (r Rounding) String() string               { return name(roundingNames, "Rounding", int(r)) }
func (r Rounding) MarshalText() ([]byte, error) { return marshal(roundingNames, "rounding", int(r)) }
func (r *Rounding) UnmarshalText(b []byte) error {
	return unmarshal(roundingNames, "rounding", b, (*uint8)(r))
}

// IsSingle reports whether the requantizer rounds once.
func (r Rounding) IsSingle() bool { return r == SingleRounding }

// IsFloat reports whether the requantizer multiplies by a float32 scale
// (the layer's parameters are scales, not fixed-point multipliers).
func (r Rounding) IsFloat() bool { return r == FloatRounding }

// Activations selects which datapaths the activation unit is built with.
type Activations uint8

const (
	// NoActivation builds no activation unit (clamps such as ReLU and ReLU6
	// are the requantizer's).
	NoActivation Activations = iota
	// LeakyActivation builds the LeakyReLU datapath.
	LeakyActivation
	// TableActivation builds per-lane 256-entry tables (sigmoid, tanh, any
	// int8 function).
	TableActivation
	// AllActivations builds both.
	AllActivations
)

var activationsNames = []string{"none", "leaky", "table", "all"}

func (a Activations) String() string { return name(activationsNames, "Activations", int(a)) }
func (a Activations) MarshalText() ([]byte, error) {
	return marshal(activationsNames, "activation", int(a))
}
func (a *Activations) UnmarshalText(b []byte) error {
	return unmarshal(activationsNames, "activation", b, (*uint8)(a))
}

// Any reports whether there is an activation unit.
func (a Activations) Any() bool { return a != NoActivation }

// HasLeaky reports whether the unit has the LeakyReLU datapath.
func (a Activations) HasLeaky() bool { return a == LeakyActivation || a == AllActivations }

// HasTable reports whether the unit has lookup tables.
func (a Activations) HasTable() bool { return a == TableActivation || a == AllActivations }

// Supports reports whether a layer's activation function can run on a unit
// built with a.
func (a Activations) Supports(f ActivationFunc) bool {
	switch f {
	case ActLeaky:
		return a.HasLeaky()
	case ActTable:
		return a.HasTable()
	}
	return true
}

// ActivationFunc is what the activation unit does to one layer's values.
// Its hardware encoding is the manifest's (Protocol.ActivationModes).
type ActivationFunc uint8

const (
	// ActIdentity passes values through (clamps are the requantizer's).
	ActIdentity ActivationFunc = iota
	// ActLeaky is TFLite's int8 LeakyRelu.
	ActLeaky
	// ActTable looks each value up in a 256-entry table.
	ActTable
)

var activationFuncNames = []string{"none", "leaky", "table"}

func (f ActivationFunc) String() string { return name(activationFuncNames, "ActivationFunc", int(f)) }
func (f ActivationFunc) MarshalText() ([]byte, error) {
	return marshal(activationFuncNames, "activation function", int(f))
}
func (f *ActivationFunc) UnmarshalText(b []byte) error {
	return unmarshal(activationFuncNames, "activation function", b, (*uint8)(f))
}

// PoolKind is the pooling unit's reduction.
type PoolKind uint8

const (
	// MaxPool takes the largest value of the window.
	MaxPool PoolKind = iota
	// AveragePool takes the mean, rounded half away from zero (TFLite).
	AveragePool
	// L2Pool takes the square root of the window's sum of squares of the
	// zero-point-subtracted values, rounded to nearest (ONNX LpPool, p = 2,
	// input and output sharing scale and zero point).
	L2Pool
)

var poolKindNames = []string{"max", "average", "l2"}

func (p PoolKind) String() string               { return name(poolKindNames, "PoolKind", int(p)) }
func (p PoolKind) MarshalText() ([]byte, error) { return marshal(poolKindNames, "pool kind", int(p)) }
func (p *PoolKind) UnmarshalText(b []byte) error {
	return unmarshal(poolKindNames, "pool kind", b, (*uint8)(p))
}

// Names returns the spellings of a mode type, for usage messages.
func Names[T ~uint8]() []string {
	var zero T
	switch any(zero).(type) {
	case Dataflow:
		return dataflowNames
	case MACForm:
		return macNames
	case Rounding:
		return roundingNames
	case Activations:
		return activationsNames
	case ActivationFunc:
		return activationFuncNames
	case PoolKind:
		return poolKindNames
	}
	return nil
}

// ParseMode decodes s as a mode of type T, with the same message as JSON.
func ParseMode[T ~uint8, P interface {
	*T
	UnmarshalText([]byte) error
}](s string) (T, error) {
	var v T
	err := P(&v).UnmarshalText([]byte(s))
	return v, err
}

func name(names []string, typ string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("%s(%d)", typ, i)
}

func marshal(names []string, key string, i int) ([]byte, error) {
	if i >= 0 && i < len(names) {
		return []byte(names[i]), nil
	}
	return nil, fmt.Errorf("%s %d is not a known value", key, i)
}

func unmarshal(names []string, key string, b []byte, dst *uint8) error {
	for i, n := range names {
		if string(b) == n {
			*dst = uint8(i)
			return nil
		}
	}
	return fmt.Errorf("%s %q must be %s", key, b, orList(names))
}

// orList spells names as `"a", "b" or "c"`.
func orList(names []string) string {
	s := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			s += " or "
		default:
			s += ", "
		}
		s += fmt.Sprintf("%q", n)
	}
	return s
}
