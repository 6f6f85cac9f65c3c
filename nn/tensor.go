package nn

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tpugen/tpugen/nn/onnxpb"
)

// DType is the element type of a tensor. The values are ONNX's
// TensorProto.DataType codes.
type DType int32

// The element types nn computes with.
const (
	Float32 DType = 1
	Uint8   DType = 2
	Int8    DType = 3
	Int32   DType = 6
	Int64   DType = 7
	Bool    DType = 9
)

// String names the type; types nn does not support get ONNX's name.
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	}
	if s, ok := onnxpb.TensorProto_DataType_name[int32(d)]; ok {
		return s
	}
	return fmt.Sprintf("DType(%d)", int32(d))
}

// Supported reports whether nn can hold tensors of the type.
func (d DType) Supported() bool {
	switch d {
	case Float32, Uint8, Int8, Int32, Int64, Bool:
		return true
	}
	return false
}

// maxElements bounds every tensor nn builds, so that a hostile model or
// attribute cannot ask for an allocation no machine can make.
const maxElements = 1 << 30

// numElements is the product of a static shape, or an error when a
// dimension is negative or the product exceeds maxElements.
func numElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, maxElements)
		}
		n *= d
	}
	return n, nil
}

// Tensor is a dense row-major tensor. Exactly one of the data slices is
// used, the one DType names; its length is the product of Shape (1 for a
// scalar, whose Shape is empty). The executor never modifies a tensor it
// was given or has returned.
type Tensor struct {
	DType DType
	Shape []int

	Float32 []float32
	Uint8   []uint8
	Int8    []int8
	Int32   []int32
	Int64   []int64
	Bool    []bool
}

// NewTensor returns a zero tensor of the given type and static shape.
func NewTensor(dt DType, shape []int) (*Tensor, error) {
	if !dt.Supported() {
		return nil, fmt.Errorf("data type %v %w", dt, ErrUnsupported)
	}
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	t := &Tensor{DType: dt, Shape: append([]int{}, shape...)}
	switch dt {
	case Float32:
		t.Float32 = make([]float32, n)
	case Uint8:
		t.Uint8 = make([]uint8, n)
	case Int8:
		t.Int8 = make([]int8, n)
	case Int32:
		t.Int32 = make([]int32, n)
	case Int64:
		t.Int64 = make([]int64, n)
	case Bool:
		t.Bool = make([]bool, n)
	}
	return t, nil
}

// Float32Tensor wraps float32 data (not copied) with a shape.
func Float32Tensor(shape []int, data []float32) *Tensor {
	return &Tensor{DType: Float32, Shape: shape, Float32: data}
}

// Uint8Tensor wraps uint8 data (not copied) with a shape.
func Uint8Tensor(shape []int, data []uint8) *Tensor {
	return &Tensor{DType: Uint8, Shape: shape, Uint8: data}
}

// Int8Tensor wraps int8 data (not copied) with a shape.
func Int8Tensor(shape []int, data []int8) *Tensor {
	return &Tensor{DType: Int8, Shape: shape, Int8: data}
}

// Int32Tensor wraps int32 data (not copied) with a shape.
func Int32Tensor(shape []int, data []int32) *Tensor {
	return &Tensor{DType: Int32, Shape: shape, Int32: data}
}

// Int64Tensor wraps int64 data (not copied) with a shape.
func Int64Tensor(shape []int, data []int64) *Tensor {
	return &Tensor{DType: Int64, Shape: shape, Int64: data}
}

// BoolTensor wraps bool data (not copied) with a shape.
func BoolTensor(shape []int, data []bool) *Tensor {
	return &Tensor{DType: Bool, Shape: shape, Bool: data}
}

// Len is the number of elements the shape holds.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// dataLen is the length of the slice DType selects, -1 for an unknown type.
func (t *Tensor) dataLen() int {
	switch t.DType {
	case Float32:
		return len(t.Float32)
	case Uint8:
		return len(t.Uint8)
	case Int8:
		return len(t.Int8)
	case Int32:
		return len(t.Int32)
	case Int64:
		return len(t.Int64)
	case Bool:
		return len(t.Bool)
	}
	return -1
}

// Check reports a tensor whose type is unsupported or whose data does not
// fill its shape.
func (t *Tensor) Check() error {
	if t == nil {
		return fmt.Errorf("nil tensor")
	}
	if !t.DType.Supported() {
		return fmt.Errorf("data type %v %w", t.DType, ErrUnsupported)
	}
	n, err := numElements(t.Shape)
	if err != nil {
		return err
	}
	if got := t.dataLen(); got != n {
		return fmt.Errorf("%v tensor of shape %v holds %d values, want %d", t.DType, t.Shape, got, n)
	}
	return nil
}

// String is the type and shape, e.g. float32[1 3 8 8].
func (t *Tensor) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%v%v", t.DType, t.Shape)
}

// Value returns the tensor's type and shape under a name.
func (t *Tensor) Value(name string) Value {
	return Value{Name: name, DType: t.DType, Shape: append([]int{}, t.Shape...)}
}

// reshaped returns a tensor sharing t's data under another shape.
func (t *Tensor) reshaped(shape []int) *Tensor {
	c := *t
	c.Shape = shape
	return &c
}

// float64s returns the elements as float64: exact for every type but
// int64 beyond 2^53.
func (t *Tensor) float64s() []float64 {
	out := make([]float64, t.dataLen())
	switch t.DType {
	case Float32:
		for i, v := range t.Float32 {
			out[i] = float64(v)
		}
	case Uint8:
		for i, v := range t.Uint8 {
			out[i] = float64(v)
		}
	case Int8:
		for i, v := range t.Int8 {
			out[i] = float64(v)
		}
	case Int32:
		for i, v := range t.Int32 {
			out[i] = float64(v)
		}
	case Int64:
		for i, v := range t.Int64 {
			out[i] = float64(v)
		}
	case Bool:
		for i, v := range t.Bool {
			if v {
				out[i] = 1
			}
		}
	}
	return out
}

// int64s returns the elements of an integer or bool tensor as int64
// (float32 elements are truncated toward zero).
func (t *Tensor) int64s() []int64 {
	out := make([]int64, t.dataLen())
	switch t.DType {
	case Float32:
		for i, v := range t.Float32 {
			out[i] = int64(v)
		}
	case Uint8:
		for i, v := range t.Uint8 {
			out[i] = int64(v)
		}
	case Int8:
		for i, v := range t.Int8 {
			out[i] = int64(v)
		}
	case Int32:
		for i, v := range t.Int32 {
			out[i] = int64(v)
		}
	case Int64:
		copy(out, t.Int64)
	case Bool:
		for i, v := range t.Bool {
			if v {
				out[i] = 1
			}
		}
	}
	return out
}

// int32s returns the elements of a uint8, int8 or int32 tensor as int32.
func (t *Tensor) int32s() []int32 {
	out := make([]int32, t.dataLen())
	switch t.DType {
	case Uint8:
		for i, v := range t.Uint8 {
			out[i] = int32(v)
		}
	case Int8:
		for i, v := range t.Int8 {
			out[i] = int32(v)
		}
	case Int32:
		copy(out, t.Int32)
	}
	return out
}

// fromFloat64s builds a tensor of type dt from float64 values: rounded to
// float32, or converted to an integer type (values are integral there).
func fromFloat64s(dt DType, shape []int, v []float64) *Tensor {
	t := &Tensor{DType: dt, Shape: shape}
	switch dt {
	case Float32:
		t.Float32 = make([]float32, len(v))
		for i, x := range v {
			t.Float32[i] = float32(x)
		}
	case Bool:
		t.Bool = make([]bool, len(v))
		for i, x := range v {
			t.Bool[i] = x != 0
		}
	default:
		ints := make([]int64, len(v))
		for i, x := range v {
			ints[i] = int64(x)
		}
		return fromInt64s(dt, shape, ints)
	}
	return t
}

// fromInt64s builds an integer (or bool) tensor; values wrap to the type as
// a two's-complement machine would.
func fromInt64s(dt DType, shape []int, v []int64) *Tensor {
	t := &Tensor{DType: dt, Shape: shape}
	switch dt {
	case Uint8:
		t.Uint8 = make([]uint8, len(v))
		for i, x := range v {
			t.Uint8[i] = uint8(x)
		}
	case Int8:
		t.Int8 = make([]int8, len(v))
		for i, x := range v {
			t.Int8[i] = int8(x)
		}
	case Int32:
		t.Int32 = make([]int32, len(v))
		for i, x := range v {
			t.Int32[i] = int32(x)
		}
	case Int64:
		t.Int64 = append([]int64{}, v...)
	case Bool:
		t.Bool = make([]bool, len(v))
		for i, x := range v {
			t.Bool[i] = x != 0
		}
	case Float32:
		t.Float32 = make([]float32, len(v))
		for i, x := range v {
			t.Float32[i] = float32(x)
		}
	}
	return t
}

// tensorFromProto converts a TensorProto, from raw_data or the typed
// fields, checking that the data fills the shape exactly.
func tensorFromProto(p *onnxpb.TensorProto) (*Tensor, error) {
	if p.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("external data %w", ErrUnsupported)
	}
	if p.GetSegment() != nil {
		return nil, fmt.Errorf("segmented tensor %w", ErrUnsupported)
	}
	dt := DType(p.GetDataType())
	if !dt.Supported() {
		return nil, fmt.Errorf("data type %v %w", dt, ErrUnsupported)
	}
	shape := make([]int, len(p.GetDims()))
	for i, d := range p.GetDims() {
		if d < 0 || d > maxElements {
			return nil, fmt.Errorf("dimension %d is %d", i, d)
		}
		shape[i] = int(d)
	}
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	if raw := p.GetRawData(); raw != nil {
		return tensorFromRaw(dt, shape, n, raw)
	}
	t := &Tensor{DType: dt, Shape: shape}
	var got int
	switch dt {
	case Float32:
		t.Float32, got = append([]float32{}, p.GetFloatData()...), len(p.GetFloatData())
	case Int64:
		t.Int64, got = append([]int64{}, p.GetInt64Data()...), len(p.GetInt64Data())
	default: // uint8, int8, int32 and bool travel in int32_data
		ints := p.GetInt32Data()
		got = len(ints)
		wide := make([]int64, len(ints))
		for i, v := range ints {
			wide[i] = int64(v)
		}
		t = fromInt64s(dt, shape, wide)
	}
	if got != n {
		return nil, fmt.Errorf("%v tensor of shape %v has %d values, want %d", dt, shape, got, n)
	}
	return t, nil
}

func tensorFromRaw(dt DType, shape []int, n int, raw []byte) (*Tensor, error) {
	size := map[DType]int{Float32: 4, Uint8: 1, Int8: 1, Int32: 4, Int64: 8, Bool: 1}[dt]
	if len(raw) != n*size {
		return nil, fmt.Errorf("%v tensor of shape %v has %d bytes of raw data, want %d", dt, shape, len(raw), n*size)
	}
	t := &Tensor{DType: dt, Shape: shape}
	le := binary.LittleEndian
	switch dt {
	case Float32:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case Uint8:
		t.Uint8 = append([]uint8{}, raw...)
	case Int8:
		t.Int8 = make([]int8, n)
		for i, b := range raw {
			t.Int8[i] = int8(b)
		}
	case Int32:
		t.Int32 = make([]int32, n)
		for i := range t.Int32 {
			t.Int32[i] = int32(le.Uint32(raw[4*i:]))
		}
	case Int64:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(le.Uint64(raw[8*i:]))
		}
	case Bool:
		t.Bool = make([]bool, n)
		for i, b := range raw {
			t.Bool[i] = b != 0
		}
	}
	return t, nil
}

// ParseTensor decodes a serialized TensorProto (the input_*.pb and
// output_*.pb files of the ONNX test data) and returns its name.
func ParseTensor(data []byte) (*Tensor, string, error) {
	var p onnxpb.TensorProto
	if err := proto.Unmarshal(data, &p); err != nil {
		return nil, "", fmt.Errorf("not a TensorProto: %s", oneLine(err.Error()))
	}
	t, err := tensorFromProto(&p)
	if err != nil {
		return nil, "", fmt.Errorf("tensor %q: %w", p.GetName(), err)
	}
	return t, p.GetName(), nil
}

// ReadTensor reads a serialized TensorProto file.
func ReadTensor(path string) (*Tensor, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	t, name, err := ParseTensor(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return t, name, nil
}

// oneLine keeps diagnostics to a single line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
