package nn

import (
	"fmt"
	"math"

	"github.com/tpugen/tpugen/quant"
)

// Pre-quantized operators: QuantizeLinear and DequantizeLinear (per tensor
// or per axis), QLinearConv and QLinearMatMul (integer accumulation, then a
// float32 requantization rounded half to even and saturated, as ONNX
// Runtime's MlasRequantizeOutput), ConvInteger and MatMulInteger (int32
// results). Padding contributes the input zero point, i.e. nothing.

// quantDType maps an element type onto quant's.
func quantDType(d DType) quant.DType {
	switch d {
	case Uint8:
		return quant.UInt8
	case Int8:
		return quant.Int8
	}
	return quant.Int32
}

// isVector reports a scalar, or a 1-D tensor of 1 or n elements.
func isVector(v Value, n int) bool {
	return len(v.Shape) == 0 || (len(v.Shape) == 1 && (v.Shape[0] == 1 || v.Shape[0] == n))
}

func isScalar(v Value) bool {
	return len(v.Shape) == 0 || (len(v.Shape) == 1 && v.Shape[0] == 1)
}

// at returns element i of a scalar-or-vector parameter (element 0 of a
// scalar).
func at[T any](xs []T, i int) T {
	if len(xs) == 1 {
		return xs[0]
	}
	return xs[i]
}

// quantAxis resolves the axis of QuantizeLinear/DequantizeLinear: -1 for
// a per-tensor scale, else the axis the 1-D scale runs along.
func quantAxis(n *Node, opset int, x, scale, zp Value) (int, error) {
	if err := wantType("scale", scale.DType, Float32); err != nil {
		return 0, err
	}
	if zp.Name != "" && fmt.Sprint(zp.Shape) != fmt.Sprint(scale.Shape) {
		return 0, fmt.Errorf("zero point shape %v differs from scale shape %v", zp.Shape, scale.Shape)
	}
	if isScalar(scale) {
		return -1, nil // one scale: per tensor, whatever its rank
	}
	if len(scale.Shape) != 1 || opset < 13 {
		return 0, fmt.Errorf("scale shape %v: want a scalar (or, from opset 13, a 1-D tensor along axis)", scale.Shape)
	}
	axis, err := normAxis(n.AttrInt("axis", 1), len(x.Shape), false)
	if err != nil {
		return 0, err
	}
	if x.Shape[axis] != scale.Shape[0] {
		return 0, fmt.Errorf("scale has %d values for axis %d of shape %v", scale.Shape[0], axis, x.Shape)
	}
	return axis, nil
}

func inferQuantize(n *Node, opset int, in []Value, _ []*Tensor) ([]Value, error) {
	if err := wantType("x", in[0].DType, Float32); err != nil {
		return nil, err
	}
	out := Uint8
	zp := Value{}
	if len(in) > 2 && in[2].Name != "" {
		zp = in[2]
		if err := wantType("zero point", zp.DType, Uint8, Int8); err != nil {
			return nil, err
		}
		out = zp.DType
	}
	if _, err := quantAxis(n, opset, in[0], in[1], zp); err != nil {
		return nil, err
	}
	return []Value{{DType: out, Shape: in[0].Shape}}, nil
}

// zeroPoints returns a zero point input as int32s (zeros when absent).
func zeroPoints(t *Tensor, n int) []int32 {
	if t == nil {
		return make([]int32, n)
	}
	return t.int32s()
}

// perChannel builds quant's parameters for a scale and zero point.
func perChannel(scale, zp *Tensor, dt DType, axis int) quant.PerChannel {
	return quant.PerChannel{Scales: scale.Float32, ZeroPoints: zeroPoints(zp, len(scale.Float32)), Axis: axis, DType: quantDType(dt)}
}

// runQuantizeLinear is saturate(round_half_even(x / scale) + zero_point),
// quant's QuantizeLinear.
func runQuantizeLinear(n *Node, opset int, in []*Tensor) ([]*Tensor, error) {
	x, scale := in[0], in[1]
	var zp *Tensor
	dt := Uint8
	if len(in) > 2 && in[2] != nil {
		zp, dt = in[2], in[2].DType
	}
	axis, err := quantAxis(n, opset, values(in)[0], scale.Value("scale"), valueOf(zp))
	if err != nil {
		return nil, err
	}
	q := make([]int32, len(x.Float32))
	if axis < 0 {
		p := perChannel(scale, zp, dt, 0).Channel(0)
		for i, v := range x.Float32 {
			q[i] = p.QuantizeLinear(v)
		}
	} else if q, err = perChannel(scale, zp, dt, axis).QuantizeLinearTensor(x.Float32, x.Shape); err != nil {
		return nil, err
	}
	return []*Tensor{fromInt32s(dt, x.Shape, q)}, nil
}

func inferDequantize(n *Node, opset int, in []Value, _ []*Tensor) ([]Value, error) {
	if err := wantType("x", in[0].DType, Uint8, Int8, Int32); err != nil {
		return nil, err
	}
	zp := Value{}
	if len(in) > 2 && in[2].Name != "" {
		zp = in[2]
		if zp.DType != in[0].DType {
			return nil, fmt.Errorf("zero point is %v, x is %v", zp.DType, in[0].DType)
		}
	}
	if _, err := quantAxis(n, opset, in[0], in[1], zp); err != nil {
		return nil, err
	}
	return []Value{{DType: Float32, Shape: in[0].Shape}}, nil
}

// runDequantizeLinear is (x − zero_point)·scale in float32.
func runDequantizeLinear(n *Node, opset int, in []*Tensor) ([]*Tensor, error) {
	x, scale := in[0], in[1]
	var zp *Tensor
	if len(in) > 2 {
		zp = in[2]
	}
	axis, err := quantAxis(n, opset, values(in)[0], scale.Value("scale"), valueOf(zp))
	if err != nil {
		return nil, err
	}
	pc := perChannel(scale, zp, x.DType, max(axis, 0))
	q := x.int32s()
	var y []float32
	if axis < 0 {
		p := pc.Channel(0)
		y = make([]float32, len(q))
		for i, v := range q {
			y[i] = p.Dequantize(v)
		}
	} else if y, err = pc.DequantizeTensor(q, x.Shape); err != nil {
		return nil, err
	}
	return []*Tensor{Float32Tensor(x.Shape, y)}, nil
}

// valueOf describes an optional tensor (empty name when absent).
func valueOf(t *Tensor) Value {
	if t == nil {
		return Value{}
	}
	return t.Value("zero point")
}

func fromInt32s(dt DType, shape []int, v []int32) *Tensor {
	wide := make([]int64, len(v))
	for i, x := range v {
		wide[i] = int64(x)
	}
	return fromInt64s(dt, shape, wide)
}

// requantize maps an int32 accumulator to the output type: acc·scale in
// float32, rounded half to even, plus the zero point, saturated.
func requantize(acc int32, scale float32, zp int32, dt DType) int64 {
	lo, hi := quantDType(dt).Range()
	r := math.RoundToEven(float64(float32(acc) * scale))
	return int64(max(float64(lo), min(float64(hi), r+float64(zp))))
}

// shifted returns x − zp as int32, with zp per slice of size inner along
// an axis of n slices (a single zp applies to all).
func shifted(x *Tensor, zp []int32, inner, n int) []int32 {
	v := x.int32s()
	if len(zp) == 0 {
		return v
	}
	for i := range v {
		c := 0
		if len(zp) > 1 && inner > 0 {
			c = i / inner % n
		}
		v[i] -= zp[c]
	}
	return v
}

// checkQuantParams checks a (scale, zero point) pair of a quantized
// operand: float32 scale, zero point of the operand's type, each a scalar
// or, when perN > 0, a 1-D tensor of perN values.
func checkQuantParams(what string, operand DType, scale, zp Value, perN int) error {
	if err := wantType(what+" scale", scale.DType, Float32); err != nil {
		return err
	}
	ok := isScalar(scale)
	if perN > 0 {
		ok = isVector(scale, perN)
	}
	if !ok {
		return fmt.Errorf("%s scale shape %v", what, scale.Shape)
	}
	if zp.Name == "" {
		return nil
	}
	if zp.DType != operand {
		return fmt.Errorf("%s zero point is %v, operand is %v", what, zp.DType, operand)
	}
	ok = isScalar(zp)
	if perN > 0 {
		ok = isVector(zp, perN)
	}
	if !ok {
		return fmt.Errorf("%s zero point shape %v", what, zp.Shape)
	}
	return nil
}

// optional returns input i, or the zero Value when it is absent.
func optional(in []Value, i int) Value {
	if i < len(in) {
		return in[i]
	}
	return Value{}
}

func optionalTensor(in []*Tensor, i int) *Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

func inferConvInteger(n *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	x, w := in[0], in[1]
	for i, v := range in[:2] {
		if err := wantType(fmt.Sprintf("input %d", i), v.DType, Uint8, Int8); err != nil {
			return nil, err
		}
	}
	s, err := resolveConv(n, x.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	if zp := optional(in, 2); zp.Name != "" && (zp.DType != x.DType || !isScalar(zp)) {
		return nil, fmt.Errorf("x zero point is %v%v, want a %v scalar", zp.DType, zp.Shape, x.DType)
	}
	if zp := optional(in, 3); zp.Name != "" && (zp.DType != w.DType || !isVector(zp, s.m)) {
		return nil, fmt.Errorf("w zero point is %v%v, want %v, scalar or [%d]", zp.DType, zp.Shape, w.DType, s.m)
	}
	return []Value{{DType: Int32, Shape: s.outShape()}}, nil
}

// intConv is the int32 convolution of (x − xzp) by (w − wzp[oc]) plus bias.
func intConv(n *Node, x, w *Tensor, xzp, wzp []int32, bias []int32) ([]int32, convShape, error) {
	s, err := resolveConv(n, x.Shape, w.Shape)
	if err != nil {
		return nil, s, err
	}
	xi := shifted(x, xzp, 1, 1)
	wi := shifted(w, wzp, prod(w.Shape[1:]), s.m)
	return convolve(xi, wi, bias, s), s, nil
}

func runConvInteger(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x, w := in[0], in[1]
	acc, s, err := intConv(n, x, w, zeroPoints(optionalTensor(in, 2), 1), zeroPoints(optionalTensor(in, 3), 1), nil)
	if err != nil {
		return nil, err
	}
	return []*Tensor{Int32Tensor(s.outShape(), acc)}, nil
}

func inferQLinearConv(n *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	x, w := in[0], in[3]
	for i, v := range []Value{x, w} {
		if err := wantType([]string{"x", "w"}[i], v.DType, Uint8, Int8); err != nil {
			return nil, err
		}
	}
	s, err := resolveConv(n, x.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	if err := checkQuantParams("x", x.DType, in[1], in[2], 0); err != nil {
		return nil, err
	}
	if err := checkQuantParams("w", w.DType, in[4], in[5], s.m); err != nil {
		return nil, err
	}
	if err := wantType("y zero point", in[7].DType, Uint8, Int8); err != nil {
		return nil, err
	}
	if err := checkQuantParams("y", in[7].DType, in[6], in[7], 0); err != nil {
		return nil, err
	}
	if b := optional(in, 8); b.Name != "" && (b.DType != Int32 || len(b.Shape) != 1 || b.Shape[0] != s.m) {
		return nil, fmt.Errorf("bias is %v%v, want int32[%d]", b.DType, b.Shape, s.m)
	}
	return []Value{{DType: in[7].DType, Shape: s.outShape()}}, nil
}

func runQLinearConv(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x, w, yzp := in[0], in[3], in[7]
	var bias []int32
	if b := optionalTensor(in, 8); b != nil {
		bias = b.Int32
	}
	acc, s, err := intConv(n, x, w, in[2].int32s(), in[5].int32s(), bias)
	if err != nil {
		return nil, err
	}
	xs, ws, ys := in[1].Float32[0], in[4].Float32, in[6].Float32[0]
	zp := yzp.int32s()[0]
	outSize := prod(s.win.out)
	y := make([]int64, len(acc))
	for i, a := range acc {
		oc := i / outSize % s.m
		y[i] = requantize(a, xs*at(ws, oc)/ys, zp, yzp.DType)
	}
	return []*Tensor{fromInt64s(yzp.DType, s.outShape(), y)}, nil
}

func inferMatMulInteger(_ *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	a, b := in[0], in[1]
	for i, v := range in[:2] {
		if err := wantType(fmt.Sprintf("input %d", i), v.DType, Uint8, Int8); err != nil {
			return nil, err
		}
	}
	s, err := resolveMatMul(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	if zp := optional(in, 2); zp.Name != "" && (zp.DType != a.DType || !isVector(zp, s.m)) {
		return nil, fmt.Errorf("a zero point is %v%v, want %v, scalar or [%d]", zp.DType, zp.Shape, a.DType, s.m)
	}
	if zp := optional(in, 3); zp.Name != "" && (zp.DType != b.DType || !isVector(zp, s.n)) {
		return nil, fmt.Errorf("b zero point is %v%v, want %v, scalar or [%d]", zp.DType, zp.Shape, b.DType, s.n)
	}
	return []Value{{DType: Int32, Shape: s.out}}, nil
}

// intMatMul is the int32 product of (a − azp[row]) and (b − bzp[column]).
func intMatMul(a, b *Tensor, azp, bzp []int32) ([]int32, matmulShape, error) {
	s, err := resolveMatMul(a.Shape, b.Shape)
	if err != nil {
		return nil, s, err
	}
	ai := shifted(a, azp, s.k, s.m)
	bi := shifted(b, bzp, 1, s.n)
	return matmul(ai, bi, s), s, nil
}

func runMatMulInteger(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	acc, s, err := intMatMul(in[0], in[1], zeroPoints(optionalTensor(in, 2), 1), zeroPoints(optionalTensor(in, 3), 1))
	if err != nil {
		return nil, err
	}
	return []*Tensor{Int32Tensor(s.out, acc)}, nil
}

func inferQLinearMatMul(_ *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	a, b := in[0], in[3]
	for i, v := range []Value{a, b} {
		if err := wantType([]string{"a", "b"}[i], v.DType, Uint8, Int8); err != nil {
			return nil, err
		}
	}
	s, err := resolveMatMul(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	if err := checkQuantParams("a", a.DType, in[1], in[2], s.m); err != nil {
		return nil, err
	}
	if err := checkQuantParams("b", b.DType, in[4], in[5], s.n); err != nil {
		return nil, err
	}
	if err := wantType("y zero point", in[7].DType, Uint8, Int8); err != nil {
		return nil, err
	}
	if err := checkQuantParams("y", in[7].DType, in[6], in[7], 0); err != nil {
		return nil, err
	}
	return []Value{{DType: in[7].DType, Shape: s.out}}, nil
}

// runQLinearMatMul requantizes with a_scale[row]·b_scale[column]/y_scale.
func runQLinearMatMul(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	yzp := in[7]
	acc, s, err := intMatMul(in[0], in[3], in[2].int32s(), in[5].int32s())
	if err != nil {
		return nil, err
	}
	as, bs, ys := in[1].Float32, in[4].Float32, in[6].Float32[0]
	zp := yzp.int32s()[0]
	y := make([]int64, len(acc))
	for i, v := range acc {
		row, col := i/s.n%s.m, i%s.n
		y[i] = requantize(v, at(as, row)*at(bs, col)/ys, zp, yzp.DType)
	}
	return []*Tensor{fromInt64s(yzp.DType, s.out, y)}, nil
}
