package blocks

import (
	"fmt"
	"math/big"
	"math/rand"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"

	"github.com/tpugen/tpugen/hdl"
)

// csaNet is csaMAC built alone in a module, evaluated through hdl.Eval:
// the netlist's own gates, not the emitted Verilog (gen's tests and the
// regression cover the emitter and the simulators).
type csaNet struct {
	m        *hdl.Module
	act, w   *hdl.Expr
	acc, sum *hdl.Expr
	drivers  map[*hdl.Signal]*hdl.Expr
	accW     int
}

func newCSANet(t *testing.T, aBits int, aSigned bool, wBits int, wSigned bool, width int, withAcc bool) *csaNet {
	t.Helper()
	m := hdl.NewModule("csa")
	n := &csaNet{m: m, accW: width,
		act: m.Input("in_act", shapeOf(aBits, aSigned)),
		w:   m.Input("in_w", shapeOf(wBits, wSigned)),
	}
	signed := aSigned || wSigned
	if withAcc {
		n.acc = m.Input("in_sum", shapeOf(width, signed))
	}
	n.sum = csaMAC(m, n.acc, n.act, n.w, width)
	out := m.Output("out_sum", shapeOf(width, signed))
	m.Set(out, n.sum)
	if _, err := hdl.Elaborate(m); err != nil {
		t.Fatalf("csa %d×%d→%d: %v", aBits, wBits, width, err)
	}
	n.drivers = map[*hdl.Signal]*hdl.Expr{}
	for _, s := range m.Body() {
		if s.Kind == hdl.StmtSet {
			n.drivers[s.Dst] = s.Src
		}
	}
	return n
}

// eval returns the netlist's sum for the operands, as a signed or
// unsigned integer of the sum's shape, by hdl.Eval: the reference meaning
// of every operator, and slow (big integers per node).
func (n *csaNet) eval(a, w, acc int64) int64 {
	in := map[*hdl.Signal]*big.Int{
		n.act.Signal(): pat(a, n.act.Width()),
		n.w.Signal():   pat(w, n.w.Width()),
	}
	if n.acc != nil {
		in[n.acc.Signal()] = pat(acc, n.accW)
	}
	var env func(*hdl.Signal) *big.Int
	env = func(s *hdl.Signal) *big.Int {
		if v, ok := in[s]; ok {
			return v
		}
		v := hdl.Eval(n.drivers[s], env)
		in[s] = v
		return v
	}
	return fromPat(hdl.Eval(n.sum, env), n.sum.Shape())
}

// evalBatch evaluates up to 64 operand triples at once, bit-sliced: each
// bit of each node is a word whose bit k belongs to triple k. It knows
// only the gate-level operators csaMAC builds (and fails on others);
// TestCSAMACShapes checks it against eval.
func (n *csaNet) evalBatch(t *testing.T, as, ws, accs []int64) []int64 {
	memo := map[*hdl.Expr][]uint64{}
	in := map[*hdl.Signal][]uint64{}
	load := func(e *hdl.Expr, vals []int64) {
		if e == nil {
			return
		}
		words := make([]uint64, e.Width())
		for k, v := range vals {
			for b := range words {
				words[b] |= uint64(v>>min(b, 63)&1) << k
			}
		}
		in[e.Signal()] = words
	}
	load(n.act, as)
	load(n.w, ws)
	load(n.acc, accs)
	var ev func(e *hdl.Expr) []uint64
	ev = func(e *hdl.Expr) []uint64 {
		if v, ok := memo[e]; ok {
			return v
		}
		var v []uint64
		a := e.Args()
		switch e.Op() {
		case hdl.OpConst:
			v = make([]uint64, e.Width())
			for b := range v {
				if e.Value().Bit(b) == 1 {
					v[b] = ^uint64(0)
				}
			}
		case hdl.OpSignal:
			if x, ok := in[e.Signal()]; ok {
				v = x
			} else {
				v = ev(n.drivers[e.Signal()])
			}
		case hdl.OpAnd, hdl.OpOr, hdl.OpXor:
			x, y := ev(a[0]), ev(a[1])
			v = make([]uint64, len(x))
			for b := range v {
				switch e.Op() {
				case hdl.OpAnd:
					v[b] = x[b] & y[b]
				case hdl.OpOr:
					v[b] = x[b] | y[b]
				default:
					v[b] = x[b] ^ y[b]
				}
			}
		case hdl.OpMux:
			sel, x, y := ev(a[0]), ev(a[1]), ev(a[2])
			v = make([]uint64, len(x))
			for b := range v {
				v[b] = sel[0]&x[b] | ^sel[0]&y[b]
			}
		case hdl.OpNot:
			x := ev(a[0])
			v = make([]uint64, len(x))
			for b := range v {
				v[b] = ^x[b]
			}
		case hdl.OpSlice:
			hi, lo := e.Bounds()
			v = ev(a[0])[lo : hi+1]
		case hdl.OpCat:
			for i := len(a) - 1; i >= 0; i-- {
				v = append(v, ev(a[i])...)
			}
		case hdl.OpCast:
			v = ev(a[0])
		default:
			t.Fatalf("evalBatch: operator %d is not a gate", e.Op())
		}
		memo[e] = v
		return v
	}
	words := ev(n.sum)
	out := make([]int64, len(as))
	for k := range out {
		p := new(big.Int)
		for b, word := range words {
			p.SetBit(p, b, uint(word>>k&1))
		}
		out[k] = fromPat(p, n.sum.Shape())
	}
	return out
}

// check compares evalBatch with want for all triples, in batches of 64,
// reporting the first few mismatches.
func (n *csaNet) check(t *testing.T, as, ws, accs []int64) {
	t.Helper()
	bad := 0
	for lo := 0; lo < len(as); lo += 64 {
		hi := min(lo+64, len(as))
		got := n.evalBatch(t, as[lo:hi], ws[lo:hi], accs[lo:hi])
		for k, g := range got {
			i := lo + k
			if want := n.want(as[i], ws[i], accs[i]); g != want && bad < 5 {
				bad++
				t.Errorf("%d + %d*%d = %d, want %d", accs[i], as[i], ws[i], g, want)
			}
		}
	}
}

func pat(v int64, w int) *big.Int { return new(big.Int).And(big.NewInt(v), mask(w)) }

func mask(w int) *big.Int {
	return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(w)), big.NewInt(1))
}

func fromPat(p *big.Int, s hdl.Shape) int64 {
	v := new(big.Int).Set(p)
	if s.Signed && v.Bit(s.Width-1) == 1 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(s.Width)))
	}
	return v.Int64()
}

// want is (acc + a*w) wrapped to the sum's shape: the golden arithmetic.
func (n *csaNet) want(a, w, acc int64) int64 {
	v := new(big.Int).Mul(big.NewInt(a), big.NewInt(w))
	if n.acc != nil {
		v.Add(v, big.NewInt(acc))
	}
	return fromPat(v.And(v, mask(n.accW)), n.sum.Shape())
}

func operandRange(bits int, signed bool) (lo, hi int64) {
	if signed {
		return -1 << (bits - 1), 1<<(bits-1) - 1
	}
	return 0, 1<<bits - 1
}

// TestCSAMACExhaustive8 checks the default PE's carry-save form against
// the integer product for every pair of int8 operands, each with every
// partial sum from the edges of its range and, for the top row, none.
func TestCSAMACExhaustive8(t *testing.T) {
	const width = 19
	lo, hi := operandRange(width, true)
	sums := []int64{0, -1, 1, lo, hi, lo + 1, hi - 1, 1 << 15, -1 << 15, 0x2aaaa, -0x15555}
	for _, withAcc := range []bool{true, false} {
		n := newCSANet(t, 8, true, 8, true, width, withAcc)
		var as, ws, accs []int64
		for a := int64(-128); a < 128; a++ {
			for w := int64(-128); w < 128; w++ {
				for _, s := range sums {
					as, ws, accs = append(as, a), append(ws, w), append(accs, s)
				}
			}
		}
		n.check(t, as, ws, accs)
	}
}

// TestCSAMACShapes checks every operand width and signedness the
// configuration allows, at the narrowest sum csa accepts, a WS sum and an
// OS sum, on the operands' corners and random values; a few triples also
// through hdl.Eval, which vouches for evalBatch.
func TestCSAMACShapes(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, bits := range [][2]int{{4, 4}, {4, 8}, {8, 4}, {8, 16}, {16, 8}, {16, 16}} {
		for _, sg := range [][2]bool{{true, true}, {false, false}, {true, false}, {false, true}} {
			cfg := MatrixConfig{InputBits: bits[0], InputSigned: sg[0], WeightBits: bits[1], WeightSigned: sg[1]}
			for _, width := range []int{cfg.ProductBits(), cfg.ProductBits() + 3, 32} {
				t.Run(fmt.Sprintf("%s_%s_%d", sig(bits[0], sg[0]), sig(bits[1], sg[1]), width), func(t *testing.T) {
					n := newCSANet(t, bits[0], sg[0], bits[1], sg[1], width, true)
					alo, ahi := operandRange(bits[0], sg[0])
					wlo, whi := operandRange(bits[1], sg[1])
					slo, shi := operandRange(width, sg[0] || sg[1])
					corners := func(lo, hi int64) []int64 { return []int64{lo, hi, 0, 1, lo + 1, hi - 1} }
					var as, ws, accs []int64
					for _, a := range corners(alo, ahi) {
						for _, w := range corners(wlo, whi) {
							for _, s := range corners(slo, shi) {
								as, ws, accs = append(as, a), append(ws, w), append(accs, s)
							}
						}
					}
					for i := 0; i < 2000; i++ {
						as = append(as, alo+rng.Int63n(ahi-alo+1))
						ws = append(ws, wlo+rng.Int63n(whi-wlo+1))
						accs = append(accs, slo+rng.Int63n(shi-slo))
					}
					n.check(t, as, ws, accs)
					for i := 0; i < 8; i++ {
						k := rng.Intn(len(as))
						if got, want := n.eval(as[k], ws[k], accs[k]), n.want(as[k], ws[k], accs[k]); got != want {
							t.Errorf("hdl.Eval: %d + %d*%d = %d, want %d", accs[k], as[k], ws[k], got, want)
						}
					}
				})
			}
		}
	}
}

// TestCSAConfigRejects checks that what the carry-save form cannot be
// built with is one error line naming the keys.
func TestCSAConfigRejects(t *testing.T) {
	ok := MatrixConfig{Rows: 4, Cols: 4, InputBits: 8, InputSigned: true, WeightBits: 8, WeightSigned: true,
		AccBits: 16, AccDepth: 16, MAC: arch.CSAMAC}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid csa configuration rejected: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(c *MatrixConfig)
		want string
	}{
		{"stages", func(c *MatrixConfig) { c.MACStages = 1 }, "mac_stages 1"},
		{"narrow", func(c *MatrixConfig) { c.AccBits = 15 }, "acc_bits 15"},
		{"mixed", func(c *MatrixConfig) { c.InputSigned = false }, "acc_bits 16 to hold a whole product (17 bits)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("got %v, want one line with %q", err, tc.want)
			}
		})
	}
}
