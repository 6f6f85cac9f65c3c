package compile

import (
	"fmt"
	"slices"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/quant"
)

// PrunedChannels records what RemovePrunedChannels took out of one
// hardware layer.
type PrunedChannels struct {
	Op string // the layer's op name
	// Outputs are the removed output channels (indices in the layer as it
	// came), each with the constant int8 value its output tensor held.
	Outputs []int
	Values  []int8
	// Consumer is the op whose inputs from those channels were removed and
	// whose bias absorbed their constant contribution.
	Consumer string
}

// RemovePrunedChannels returns a copy of net without the output channels
// of hardware layers whose weights are all zero, and without the next
// layer's inputs from them. Such a channel's accumulator is 0 whatever the
// input, so its output is one constant c (the requantized bias, clamped,
// through the activation and any pooling); the next layer's contribution
// from it is Σw·(c − zp) over that channel's weights, which is added to that
// layer's int32 bias (wrapping, as the accumulators do). The result is
// exact: every remaining value of every tensor, and so the network's
// output, equals the original's bit for bit, on hardware that rounds as r.
//
// A channel stays when removing it could not be exact or would change
// what the caller sees: when its tensor is the network's output or is read
// by more than one op, when the ops between it and the next layer are not
// pooling or flatten, when that layer is a convolution that pads (padded
// taps hold the zero point, not c) unless c is the zero point, or when it
// is the layer's last channel. A network without such channels comes back
// as an unchanged copy.
func RemovePrunedChannels(net *Network, r arch.Rounding) (*Network, []PrunedChannels, error) {
	out := cloneNetwork(net)
	var report []PrunedChannels
	for i, op := range out.Ops {
		if !op.OnHardware() || op.Output == out.Output {
			continue
		}
		pc, err := pruneOp(out, i, r)
		if err != nil {
			return nil, nil, fmt.Errorf("remove pruned channels of %s: %w", op.Name, err)
		}
		if pc != nil {
			report = append(report, *pc)
		}
	}
	if err := out.Check(); err != nil {
		return nil, nil, fmt.Errorf("remove pruned channels: %w", err)
	}
	return out, report, nil
}

// cloneNetwork copies the network deeply enough that pruning the copy
// leaves the original untouched (layers and tensors are copied; weight
// slices are replaced, never written in place).
func cloneNetwork(net *Network) *Network {
	out := *net
	out.Tensors = make(map[string]*Tensor, len(net.Tensors))
	for k, t := range net.Tensors {
		c := *t
		out.Tensors[k] = &c
	}
	out.Ops = make([]*Op, len(net.Ops))
	for i, op := range net.Ops {
		c := *op
		c.Inputs = slices.Clone(op.Inputs)
		if op.Layer != nil {
			l := *op.Layer
			c.Layer = &l
		}
		out.Ops[i] = &c
	}
	return &out
}

// readers lists the ops that read tensor name.
func readers(net *Network, name string) []int {
	var out []int
	for i, op := range net.Ops {
		if slices.Contains(op.Inputs, name) {
			out = append(out, i)
		}
	}
	return out
}

// zeroRows lists the output channels of l whose weights are all zero.
func zeroRows(l *Layer) []int {
	n := l.WeightShape.N
	per := len(l.Weights) / max(1, n)
	var out []int
	for c := 0; c < n; c++ {
		if !slices.ContainsFunc(l.Weights[c*per:(c+1)*per], func(v int8) bool { return v != 0 }) {
			out = append(out, c)
		}
	}
	return out
}

// constantOutput is what output channel c of l holds when its weights are
// all zero: the accumulator is 0, so the requantized bias, clamped and
// activated (pooling a constant map gives the constant back, which the
// caller checks with the real pooling).
func constantOutput(l *Layer, c int, r arch.Rounding) int8 {
	i := c
	if len(l.Requant.Multipliers) == 1 {
		i = 0
	}
	lo, hi := l.Requant.Range()
	v := quant.Requantize(0, l.Bias[c], l.Requant.Multipliers[i], l.Requant.Shifts[i], l.Requant.ZeroPoint, lo, hi, QuantRounding(r))
	return l.Act.Apply(int8(v))
}

// poolConstant pools an h×w map of v with the given kernel and reports the
// value every output holds, or false when they differ (or pooling fails).
func poolConstant(kind arch.PoolKind, p quant.PoolParams, h, w int, v int8) (int8, bool) {
	s := quant.Shape{N: 1, H: h, W: w, C: 1}
	in := make([]int8, s.Len())
	for i := range in {
		in[i] = v
	}
	var out []int8
	var err error
	if kind == arch.AveragePool {
		out, _, err = quant.AveragePool(in, s, p)
	} else {
		out, _, err = quant.MaxPool(in, s, p)
	}
	if err != nil || len(out) == 0 {
		return 0, false
	}
	for _, x := range out {
		if x != out[0] {
			return 0, false
		}
	}
	return out[0], true
}

// pads reports whether a convolution window pads its input.
func pads(w quant.Window) bool {
	switch w.Padding {
	case quant.PaddingValid:
		return false
	case quant.PaddingExplicit:
		return w.PadTop != 0 || w.PadBottom != 0 || w.PadLeft != 0 || w.PadRight != 0
	}
	return true
}

// pruneOp removes what it can of op i's all-zero output channels.
func pruneOp(net *Network, i int, r arch.Rounding) (*PrunedChannels, error) {
	op := net.Ops[i]
	l := op.Layer
	zero := zeroRows(l)
	if len(zero) == 0 {
		return nil, nil
	}
	if len(zero) == l.WeightShape.N {
		zero = zero[:len(zero)-1] // a layer keeps at least one channel
	}
	// Follow the single chain of readers through pooling and flatten to
	// the next hardware layer, noting the map the channels arrive as.
	values := make([]int8, len(zero))
	for k, c := range zero {
		values[k] = constantOutput(l, c, r)
	}
	out := net.Tensors[op.Output]
	h, w := out.Shape.H, out.Shape.W
	if p := l.Pool; p != nil {
		// The output tensor is after the fused pooling; pool the map
		// before it.
		pre, err := l.unpooledShape()
		if err != nil {
			return nil, err
		}
		for k := range values {
			v, ok := poolConstant(p.Kind, p.Params(), pre.H, pre.W, values[k])
			if !ok {
				return nil, nil
			}
			values[k] = v
		}
	}
	chain := []string{op.Output}
	flat := false
	var next int
	for {
		name := chain[len(chain)-1]
		if name == net.Output {
			return nil, nil
		}
		rd := readers(net, name)
		if len(rd) != 1 || len(net.Ops[rd[0]].Inputs) != 1 {
			return nil, nil
		}
		next = rd[0]
		o := net.Ops[next]
		if o.Kind == OpLayer {
			break
		}
		switch {
		case o.Kind == OpPool && !flat:
			for k := range values {
				v, ok := poolConstant(o.PoolKind, o.Pool, h, w, values[k])
				if !ok {
					return nil, nil
				}
				values[k] = v
			}
			s := net.Tensors[o.Output].Shape
			h, w = s.H, s.W
		case o.Kind == OpFlatten && !flat:
			flat = true
		default:
			return nil, nil
		}
		chain = append(chain, o.Output)
	}
	cons := net.Ops[next]
	cl := cons.Layer
	zp := cl.InputZP
	C := out.Shape.C
	// cols lists, per removed channel, the consumer's weight columns (K
	// indices) that read it.
	cols := make([][]int, len(zero))
	switch {
	case cl.Kind == Conv && !flat:
		if cl.WeightShape.C != C {
			return nil, nil
		}
		for k := range zero {
			if pads(cl.Window) && int32(values[k]) != zp {
				return nil, nil
			}
			for t := 0; t < cl.WeightShape.H*cl.WeightShape.W; t++ {
				cols[k] = append(cols[k], t*C+zero[k])
			}
		}
	case cl.Kind == FC:
		if cl.WeightShape.C != h*w*C {
			return nil, nil
		}
		for k, c := range zero {
			for p := 0; p < h*w; p++ {
				if flat {
					cols[k] = append(cols[k], c*h*w+p) // NCHW order
				} else {
					cols[k] = append(cols[k], p*C+c) // NHWC order
				}
			}
		}
	default:
		return nil, nil
	}

	// The consumer: fold the constants into its bias, drop the columns.
	K, N := cl.WeightShape.H*cl.WeightShape.W*cl.WeightShape.C, cl.WeightShape.N
	drop := make([]bool, K)
	bias := slices.Clone(cl.Bias)
	for k := range zero {
		d := int32(values[k]) - zp
		for _, col := range cols[k] {
			drop[col] = true
			for n := 0; n < N; n++ {
				bias[n] += int32(cl.Weights[n*K+col]) * d
			}
		}
	}
	keptK := K - len(zero)*len(cols[0])
	weights := make([]int8, 0, N*keptK)
	for n := 0; n < N; n++ {
		for col := 0; col < K; col++ {
			if !drop[col] {
				weights = append(weights, cl.Weights[n*K+col])
			}
		}
	}
	cl.Weights, cl.Bias = weights, bias
	if cl.Kind == Conv {
		cl.WeightShape.C -= len(zero)
		cl.InShape.C -= len(zero)
	} else {
		cl.WeightShape.C = keptK
		cl.InShape = shrinkVector(cl.InShape, keptK)
	}

	// The producer: drop the channels' weights, biases and multipliers.
	gone := make([]bool, l.WeightShape.N)
	for _, c := range zero {
		gone[c] = true
	}
	per := len(l.Weights) / l.WeightShape.N
	var pw []int8
	var pb []int32
	var pm []int32
	var ps []int
	perChannel := len(l.Requant.Multipliers) > 1
	for c := 0; c < l.WeightShape.N; c++ {
		if gone[c] {
			continue
		}
		pw = append(pw, l.Weights[c*per:(c+1)*per]...)
		pb = append(pb, l.Bias[c])
		if perChannel {
			pm = append(pm, l.Requant.Multipliers[c])
			ps = append(ps, l.Requant.Shifts[c])
		}
	}
	l.Weights, l.Bias = pw, pb
	if perChannel {
		l.Requant.Multipliers, l.Requant.Shifts = pm, ps
	}
	l.WeightShape.N -= len(zero)

	// The tensors between them shrink with the channels.
	for _, name := range chain {
		t := net.Tensors[name]
		if t.Shape.H == 1 && t.Shape.W == 1 && t.Shape.C != C {
			t.Shape.C = keptK // the flattened vector
		} else {
			t.Shape.C -= len(zero)
		}
	}
	return &PrunedChannels{Op: op.Name, Outputs: zero, Values: values, Consumer: cons.Name}, nil
}

// shrinkVector is an FC layer's input shape with k features: a vector
// keeps its form, a map becomes a vector (Bind flattens it anyway).
func shrinkVector(s quant.Shape, k int) quant.Shape {
	return quant.Shape{N: s.N, H: 1, W: 1, C: k}
}

// unpooledShape is the layer's output map before its fused pooling.
func (l *Layer) unpooledShape() (quant.Shape, error) {
	in := l.InShape
	in.N = 1
	b := *l
	b.InShape = in
	if l.Kind == FC && l.MapH == 0 {
		return quant.Shape{}, fmt.Errorf("pooling an fc layer without a map")
	}
	return b.OutputShape()
}

// liveKTiles lists the K tiles (rows·kt … of B) that column tile n0 streams.
// A layer skips the tiles whose weights are all zero: they add nothing to
// any accumulator, so the first streamed tile overwrites and the last emits
// exactly as with every tile. A column tile whose weights are all zero
// still streams its last K tile (zeros), so its outputs (the bias alone)
// come out of the pipeline; a plain GEMM streams every tile.
func liveKTiles(b Matrix, n0, rows, cols, kTiles int, layer bool) []int {
	var live []int
	for kt := 0; kt < kTiles; kt++ {
		if !layer || !zeroTile(b, kt*rows, n0, rows, cols) {
			live = append(live, kt)
		}
	}
	if len(live) == 0 {
		live = []int{kTiles - 1}
	}
	return live
}

// zeroTile reports whether B's tile at (k0, n0) of rows×cols is all zero
// (outside B counts as zero).
func zeroTile(b Matrix, k0, n0, rows, cols int) bool {
	for k := k0; k < min(len(b), k0+rows); k++ {
		for n := n0; n < min(len(b[k]), n0+cols); n++ {
			if b[k][n] != 0 {
				return false
			}
		}
	}
	return true
}
