package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// The carry-save multiply-accumulate (mac "csa"). Yosys' generic synthesis
// of a signed a*b sign-extends both operands to the product's width and
// adds shifted rows with carry-propagate adders, then adds the partial sum
// with one more. Written as gates instead, a PE needs one AND per operand
// bit pair, a carry-save tree that takes the incoming partial sum as one
// more row, and a single ripple-carry add at the end.
//
// Signed operands use the Baugh-Wooley identity: with a n bits and b m bits
// (two's complement), a*b equals the sum of the bits a_i·b_j·2^(i+j), where
// the bits that pair exactly one sign bit are complemented, plus the
// constant 2^(n-1) + 2^(m-1) - 2^(n+m-1). It holds as integers, so modulo
// 2^w for any sum width w. A signed × unsigned product widens the unsigned
// operand by a zero bit (as productOperands does), whose partial products are
// constants and fold into that constant.

// csaColumn is the bits of one weight 2^c still to add, each a 1-bit
// expression (the constant's set bits enter as constants).
type csaColumn []*hdl.Expr

// csaMAC returns (acc + act*w) modulo 2^width as gates on wires of m named
// mac_*; acc may be nil (no partial sum) and is width bits wide otherwise.
// The result has the product's signedness. width must be at least the
// product's width (MatrixConfig.Validate), so every operand bit is used.
func csaMAC(m *hdl.Module, acc, act, w *hdl.Expr, width int) *hdl.Expr {
	signed := act.Signed() || w.Signed()
	// Operand bits after productOperands' widening: nil is a constant 0.
	opBits := func(e *hdl.Expr) []*hdl.Expr {
		bits := make([]*hdl.Expr, e.Width())
		for i := range bits {
			bits[i] = e.Bit(i)
		}
		if signed && !e.Signed() {
			bits = append(bits, nil)
		}
		return bits
	}
	ab, wb := opBits(act), opBits(w)
	n, k := len(ab), len(wb)
	// konst accumulates the constant part modulo 2^64; only its low width
	// bits are used.
	var konst uint64
	if signed {
		konst = 1<<(n-1) + 1<<(k-1) - 1<<(n+k-1)
	}
	cols := make([]csaColumn, width)
	var pp []*hdl.Expr // the variable partial products, in column order
	var ppCol []int
	for c := 0; c < width; c++ {
		for i := 0; i < n; i++ {
			j := c - i
			if j < 0 || j >= k {
				continue
			}
			inv := signed && (i == n-1) != (j == k-1)
			if ab[i] == nil || wb[j] == nil {
				if inv { // a complemented constant 0
					konst += 1 << c
				}
				continue
			}
			p := ab[i].And(wb[j])
			if inv {
				p = p.Not()
			}
			pp = append(pp, p)
			ppCol = append(ppCol, c)
		}
	}
	ppw := m.Wire("mac_pp", hdl.U(len(pp)))
	m.Set(ppw, catLSBFirst(pp))
	for i, c := range ppCol {
		cols[c] = append(cols[c], ppw.Bit(i))
	}
	one := m.Const(1, hdl.U(1))
	for c := 0; c < width; c++ {
		if acc != nil {
			cols[c] = append(cols[c], acc.Bit(c))
		}
		if konst>>c&1 == 1 {
			cols[c] = append(cols[c], one)
		}
	}
	cols = csaReduce(m, cols)
	return rippleAdd(m, cols, shapeOf(width, signed))
}

// csaReduce reduces every column to at most two bits with Dadda's
// schedule: each stage brings the tallest column down to the next height
// of 2, 3, 4, 6, 9, 13, ... with as few full and half adders as it needs.
// A carry out of the top column is dropped (the sum wraps).
func csaReduce(m *hdl.Module, cols []csaColumn) []csaColumn {
	tallest := 0
	for _, c := range cols {
		tallest = max(tallest, len(c))
	}
	heights := []int{2}
	for h := 3; h < tallest; h = h * 3 / 2 {
		heights = append(heights, h)
	}
	stage := 0
	for i := len(heights) - 1; i >= 0; i-- {
		if heights[i] >= tallest {
			continue
		}
		stage++
		cols = csaStage(m, cols, heights[i], stage)
	}
	// Dadda's schedule always suffices for a multiplier's columns; a
	// column it left taller (too few bits of its own to combine) gets
	// more stages rather than a wrong sum.
	for tallest = 0; ; tallest = 0 {
		for _, c := range cols {
			tallest = max(tallest, len(c))
		}
		if tallest <= 2 {
			return cols
		}
		stage++
		cols = csaStage(m, cols, 2, stage)
	}
}

// csaStage reduces each column to at most h bits, counting the carries
// that arrive from the column below in the same stage.
func csaStage(m *hdl.Module, cols []csaColumn, h, stage int) []csaColumn {
	type adder struct {
		in  []*hdl.Expr // two (half adder) or three (full adder) bits
		col int
	}
	var adders []adder
	rest := make([]csaColumn, len(cols))
	carries := 0 // arriving from the column below
	for c, bits := range cols {
		height := len(bits) + carries
		carries = 0
		for height > h && len(bits) >= 2 {
			take := 2
			if height-h >= 2 && len(bits) >= 3 {
				take = 3
			}
			adders = append(adders, adder{bits[:take], c})
			bits = bits[take:]
			height -= take - 1
			carries++
		}
		rest[c] = bits
	}
	var xs, sums, carryOut []*hdl.Expr
	for _, a := range adders {
		xs = append(xs, a.in[0].Xor(a.in[1]))
	}
	xw := m.Wire(fmt.Sprintf("mac_s%d_x", stage), hdl.U(len(xs)))
	m.Set(xw, catLSBFirst(xs))
	out := make([]csaColumn, len(cols))
	type ref struct{ sum, carry int }
	refs := make([]ref, len(adders))
	for i, a := range adders {
		x := xw.Bit(i)
		refs[i] = ref{-1, -1}
		if len(a.in) == 3 {
			refs[i].sum = len(sums)
			sums = append(sums, x.Xor(a.in[2]))
		}
		if a.col+1 < len(cols) {
			refs[i].carry = len(carryOut)
			if len(a.in) == 3 {
				// The majority of three bits: the third when the first two
				// differ, else either of them. As a 2:1 multiplexer it is
				// one cell of a standard-cell library instead of three.
				carryOut = append(carryOut, hdl.Mux(x, a.in[2], a.in[0]))
			} else {
				carryOut = append(carryOut, a.in[0].And(a.in[1]))
			}
		}
	}
	var sw, cw *hdl.Expr
	if len(sums) > 0 {
		sw = m.Wire(fmt.Sprintf("mac_s%d_s", stage), hdl.U(len(sums)))
		m.Set(sw, catLSBFirst(sums))
	}
	if len(carryOut) > 0 {
		cw = m.Wire(fmt.Sprintf("mac_s%d_c", stage), hdl.U(len(carryOut)))
		m.Set(cw, catLSBFirst(carryOut))
	}
	// The column's untouched bits first, then its adders' sums, then the
	// carries from below: the next stage takes the oldest bits first.
	for c := range cols {
		out[c] = append(out[c], rest[c]...)
	}
	for i, a := range adders {
		if refs[i].sum >= 0 {
			out[a.col] = append(out[a.col], sw.Bit(refs[i].sum))
		} else {
			out[a.col] = append(out[a.col], xw.Bit(i))
		}
		if refs[i].carry >= 0 {
			out[a.col+1] = append(out[a.col+1], cw.Bit(refs[i].carry))
		}
	}
	return out
}

// rippleAdd adds columns of at most two bits with one ripple-carry chain
// into a wire mac_sum of shape s (as wide as there are columns). Each
// carry is a wire of its own (mac_cpa_c<k>, into column k): a vector
// assigned from its own lower bits would be a combinational loop to
// lint tools.
func rippleAdd(m *hdl.Module, cols []csaColumn, s hdl.Shape) *hdl.Expr {
	res := make([]*hdl.Expr, len(cols))
	var carry *hdl.Expr // into the current column
	for k, bits := range cols {
		in := append(csaColumn{}, bits...)
		if carry != nil {
			in = append(in, carry)
		}
		var cout *hdl.Expr
		switch len(in) {
		case 0:
			res[k] = m.Const(0, hdl.U(1))
		case 1:
			res[k] = in[0]
		case 2:
			res[k] = in[0].Xor(in[1])
			cout = in[0].And(in[1])
		case 3:
			x := m.Wire(fmt.Sprintf("mac_cpa_x%d", k), hdl.U(1))
			m.Set(x, in[0].Xor(in[1]))
			res[k] = x.Xor(in[2])
			cout = hdl.Mux(x, in[2], in[0])
		}
		carry = nil
		if cout != nil && k+1 < len(cols) {
			carry = m.Wire(fmt.Sprintf("mac_cpa_c%d", k+1), hdl.U(1))
			m.Set(carry, cout)
		}
	}
	sum := m.Wire("mac_sum", s)
	v := catLSBFirst(res)
	if s.Signed {
		v = v.AsSigned()
	}
	m.Set(sum, v)
	return sum
}

// catLSBFirst concatenates 1-bit expressions, bits[0] the least
// significant.
func catLSBFirst(bits []*hdl.Expr) *hdl.Expr {
	rev := make([]*hdl.Expr, len(bits))
	for i, b := range bits {
		rev[len(bits)-1-i] = b
	}
	return hdl.Cat(rev...)
}
