package blocks

import (
	"fmt"
	"math/big"
	"math/bits"

	"github.com/tpugen/tpugen/hdl"
)

// MaxPoolWindow is the largest pooling window side the generator accepts.
const MaxPoolWindow = 16

// maxPoolSide bounds MaxWidth and MaxHeight.
const maxPoolSide = 1 << 16

// PoolConfig sizes the pooling unit.
type PoolConfig struct {
	Stage     StageConfig
	MaxWindow int // largest window side (and stride), at least 3
	MaxWidth  int // largest feature-map width the line buffers hold
	MaxHeight int // largest feature-map height the row counter holds
}

// Validate checks the sizes.
func (c PoolConfig) Validate() error {
	if err := c.Stage.Validate(); err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	if c.MaxWindow < 3 || c.MaxWindow > MaxPoolWindow {
		return fmt.Errorf("pool: max_window %d must be in [3, %d]", c.MaxWindow, MaxPoolWindow)
	}
	if c.MaxWidth < 1 || c.MaxWidth > maxPoolSide {
		return fmt.Errorf("pool: max_width %d must be in [1, %d]", c.MaxWidth, maxPoolSide)
	}
	if c.MaxHeight < 1 || c.MaxHeight > maxPoolSide {
		return fmt.Errorf("pool: max_height %d must be in [1, %d]", c.MaxHeight, maxPoolSide)
	}
	return nil
}

func (c PoolConfig) widthBits() int  { return hdl.BitsFor(c.MaxWidth + 1) }
func (c PoolConfig) heightBits() int { return hdl.BitsFor(c.MaxHeight + 1) }
func (c PoolConfig) windowBits() int { return hdl.BitsFor(c.MaxWindow + 1) }

// The pooling unit's control word is at parameter address PoolControlAddr;
// its mode field is PoolModeMax or PoolModeAverage.
const (
	PoolControlAddr = 0
	PoolModeMax     = 0
	PoolModeAverage = 1
)

// ParamFields is the layout of the control word (parameter address 0), LSB
// first:
//
//	enable  0: pass-through (every input beat goes straight out), 1: pool
//	mode    0: max, 1: average
//	width   feature-map width W, 1..MaxWidth
//	height  feature-map height H, 1..MaxHeight
//	kh, kw  window height and width, 1..MaxWindow
//	sh, sw  strides, 1..MaxWindow
//
// A pooled frame is H rows of W pixels in raster order, one pixel per beat;
// the output is the VALID-padded pooled map, (H-kh)/sh+1 rows of
// (W-kw)/sw+1 pixels, in raster order. Values outside these ranges give
// unspecified (but finite) output; kh > H or kw > W give no output.
func (c PoolConfig) ParamFields() []Field {
	var l layout
	l.add("enable", 1, 1, false)
	l.add("mode", 1, 1, false)
	l.add("width", c.widthBits(), 1, false)
	l.add("height", c.heightBits(), 1, false)
	for _, n := range []string{"kh", "kw", "sh", "sw"} {
		l.add(n, c.windowBits(), 1, false)
	}
	return l.fields
}

// ParamBits is the width of the control word (prm_data).
func (c PoolConfig) ParamBits() int {
	f := c.ParamFields()
	last := f[len(f)-1]
	return last.LSB + last.Width*last.Lanes
}

// PoolControl is the content of a control word.
type PoolControl struct {
	Enable, Average bool
	Width, Height   int
	KH, KW, SH, SW  int
}

// Word packs p into a control word by the layout of ParamFields.
func (c PoolConfig) Word(p PoolControl) *big.Int {
	vals := map[string]int{"width": p.Width, "height": p.Height, "kh": p.KH, "kw": p.KW, "sh": p.SH, "sw": p.SW}
	if p.Enable {
		vals["enable"] = 1
	}
	if p.Average {
		vals["mode"] = 1
	}
	w := new(big.Int)
	for _, f := range c.ParamFields() {
		v := big.NewInt(int64(vals[f.Name]))
		v.And(v, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(f.Width)), big.NewInt(1)))
		w.Or(w, v.Lsh(v, uint(f.LSB)))
	}
	return w
}

// The average divides n = |sum| + floor(count/2) by count, with sum the
// window's sum and count = kh*kw, and restores the sign: that is
// quant.RoundedAverage (C's truncating division of sum ± count/2). The
// division is a multiplication by R = ceil(2^P/count) and a shift by P.
//
// Why it is exact: write R*count = 2^P + e with 0 <= e < count, and
// n = q*count + r with 0 <= r < count. Then
//
//	n*R/2^P = q + r/count + n*e/(count*2^P),
//
// so floor(n*R/2^P) = q whenever r + n*e/2^P < count, which holds for every
// r when n*e < 2^P. With |sum| <= 128*count, n <= 128*count + count/2, and
// P is the smallest shift with e*(128*count + count/2) < 2^P for every
// count in 1..MaxWindow^2. TestPoolDivision also checks every sum.
//
// The quotient is at most 127 for sum >= 0 (n <= 127*count + count/2) and at
// most 128 for sum < 0 (an all -128 window), so with the sign it lies in the
// int8 range and TFLite's clamp is the identity.

// averageNumMax is the largest n for a count.
func averageNumMax(count int) int { return 128*count + count/2 }

// DivideShift is P, the shift of the reciprocal division.
func (c PoolConfig) DivideShift() int {
	maxCount := c.MaxWindow * c.MaxWindow
	for p := 1; ; p++ {
		ok := true
		for count := 1; count <= maxCount && ok; count++ {
			r := PoolReciprocal(count, p)
			e := r*uint64(count) - 1<<p
			ok = e*uint64(averageNumMax(count)) < 1<<p
		}
		if ok {
			return p
		}
	}
}

// PoolReciprocal is ceil(2^shift / count).
func PoolReciprocal(count, shift int) uint64 {
	return (1<<shift + uint64(count) - 1) / uint64(count)
}

// Averager returns what the unit computes for the average of count values
// summing to sum: sign(sum) * ((|sum| + count/2) * R >> P).
func (c PoolConfig) Averager() func(sum, count int) int {
	p := c.DivideShift()
	return func(sum, count int) int {
		n := uint64(max(sum, -sum) + count/2)
		q := int(n * PoolReciprocal(count, p) >> p)
		if sum < 0 {
			return -q
		}
		return q
	}
}

// Pool is the pooling unit: a stream of int8 feature maps in, their max or
// average pooled maps out, one pixel (all lanes = channels) per beat.
//
// It streams: MaxWindow-1 rows of MaxWidth pixels are kept in one line-buffer
// memory (each word holds one column of the rows above), the reduced columns
// of the last MaxWindow-1 pixels in registers. A frame's counters (column,
// row, and the stride phases) decide which pixels end a window; the others
// leave the pipeline as bubbles.
//
// Pipeline (Latency register stages, all under adv):
//
//	1  pixel and control word (read from the beat's tag when it entered);
//	   the frame counters place the pixel and issue the line-buffer read
//	2  the column of kh pixels is reduced (max and sum); the column is
//	   shifted into the line buffer
//	3  the kw reduced columns are reduced; |sum| + count/2
//	4  multiply by the reciprocal of the count; select max or average
//	5  output register
type Pool struct {
	*hdl.Module
	Config  PoolConfig
	Ports   *StagePorts
	Latency int
}

// NewPool builds the pooling unit.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	L, K := cfg.Stage.Lanes, cfg.MaxWindow
	m := hdl.NewModule(fmt.Sprintf("pool_l%d_t%d_k%d_w%d_h%d", L, cfg.Stage.TagBits, K, cfg.MaxWidth, cfg.MaxHeight))
	m.Comment("Pooling unit: streaming max or average pooling (VALID padding) over raster-order frames.")
	p := NewStagePorts(m, cfg.Stage, hdl.S(8), hdl.S(8), 1, cfg.ParamBits())
	pool := &Pool{Module: m, Config: cfg, Ports: p, Latency: 5}
	adv := p.Adv
	pixBits := 8 * L
	wb, hb, kb := cfg.widthBits(), cfg.heightBits(), cfg.windowBits()
	tagShape := hdl.U(cfg.Stage.TagBits)

	// Control words, one per parameter set; read with the incoming tag.
	prm := m.Memory("prm", hdl.U(cfg.ParamBits()), cfg.Stage.Sets(), nil)
	m.If(p.PrmWe.And(p.PrmAddr.EqConst(0)), func() { prm.Write(p.PrmSet, p.PrmData) })
	prm1 := prm.Read("prm_q", p.InTag, adv)

	// Stage 1: the pixel and its place in the frame.
	v1 := m.Reg("v1", hdl.U(1), hdl.ResetTo(0))
	tag1 := m.Reg("tag1", tagShape)
	pix1 := m.Reg("pix1", hdl.U(pixBits))
	m.If(adv, func() {
		m.Set(v1, p.In.Fire())
		m.Set(tag1, p.InTag)
		m.Set(pix1, p.In.Data.Slice(pixBits-1, 0))
	})
	field := map[string]*hdl.Expr{}
	for _, f := range cfg.ParamFields() {
		field[f.Name] = prm1.Slice(f.LSB+f.Width-1, f.LSB)
	}
	pass := field["enable"].Not()
	width, height := field["width"], field["height"]
	kh, kw, sh, sw := field["kh"], field["kw"], field["sh"], field["sw"]

	x := m.Reg("col", hdl.U(wb), hdl.ResetTo(0))
	y := m.Reg("row", hdl.U(hb), hdl.ResetTo(0))
	xph := m.Reg("col_phase", hdl.U(kb), hdl.ResetTo(0))
	yph := m.Reg("row_phase", hdl.U(kb), hdl.ResetTo(0))
	lastCol := m.Wire("last_col", hdl.U(1))
	lastRow := m.Wire("last_row", hdl.U(1))
	colIn := m.Wire("col_in", hdl.U(1)) // a window ends at this column or later
	rowIn := m.Wire("row_in", hdl.U(1))
	m.Set(lastCol, poolSucc(m, x).Eq(width.Resize(wb+1)))
	m.Set(lastRow, poolSucc(m, y).Eq(height.Resize(hb+1)))
	cw := max(wb, kb) + 1
	m.Set(colIn, poolSucc(m, x).Resize(cw).Ge(kw.Resize(cw)))
	ch := max(hb, kb) + 1
	m.Set(rowIn, poolSucc(m, y).Resize(ch).Ge(kh.Resize(ch)))
	// phase counts (position - (k-1)) modulo the stride once a window fits.
	nextPhase := func(ph, in, s *hdl.Expr) *hdl.Expr {
		n := poolSucc(m, ph)
		wrap := n.Eq(s.Resize(kb + 1))
		return hdl.Mux(in.And(wrap.Not()), n.Trunc(kb), m.Const(0, hdl.U(kb)))
	}
	m.If(adv.And(v1), func() {
		m.If(pass, func() {
			m.Set(x, m.Const(0, hdl.U(wb)))
			m.Set(y, m.Const(0, hdl.U(hb)))
			m.Set(xph, m.Const(0, hdl.U(kb)))
			m.Set(yph, m.Const(0, hdl.U(kb)))
		}).ElseIf(lastCol, func() {
			m.Set(x, m.Const(0, hdl.U(wb)))
			m.Set(xph, m.Const(0, hdl.U(kb)))
			m.If(lastRow, func() {
				m.Set(y, m.Const(0, hdl.U(hb)))
				m.Set(yph, m.Const(0, hdl.U(kb)))
			}).Else(func() {
				m.Set(y, poolSucc(m, y).Trunc(hb))
				m.Set(yph, nextPhase(yph, rowIn, sh))
			})
		}).Else(func() {
			m.Set(x, poolSucc(m, x).Trunc(wb))
			m.Set(xph, nextPhase(xph, colIn, sw))
		})
	})
	// Pass-through is pooling by a 1×1 max window that ends everywhere.
	out1 := m.Wire("win_end", hdl.U(1))
	m.Set(out1, pass.Or(colIn.And(rowIn).And(xph.EqConst(0)).And(yph.EqConst(0))))
	one := m.Const(1, hdl.U(kb))

	// Line buffer: word x holds column x of the K-1 rows above, nearest in
	// slot 0. The read for the pixel in stage 1 is issued now.
	lbBits := (K - 1) * pixBits
	lb := m.Memory("line_buf", hdl.U(lbBits), cfg.MaxWidth, nil)
	lbAddr := func(e *hdl.Expr) *hdl.Expr { return e.Resize(lb.AddrWidth()) }
	lbRd := lb.Read("line_q", lbAddr(x), adv)

	// Stage 2.
	v2 := m.Reg("v2", hdl.U(1), hdl.ResetTo(0))
	tag2 := m.Reg("tag2", tagShape)
	pix2 := m.Reg("pix2", hdl.U(pixBits))
	x2 := m.Reg("col2", hdl.U(wb))
	out2 := m.Reg("win_end2", hdl.U(1))
	mode2 := m.Reg("mode2", hdl.U(1))
	kh2 := m.Reg("kh2", hdl.U(kb))
	kw2 := m.Reg("kw2", hdl.U(kb))
	// A one-row frame writes the word that the next pixel reads in the same
	// cycle; the memory returns the old word, so forward the new one.
	bypHit := m.Reg("byp_hit", hdl.U(1), hdl.ResetTo(0))
	bypWord := m.Reg("byp_word", hdl.U(lbBits))
	lbWord := m.Wire("line_word", hdl.U(lbBits))
	m.Set(lbWord, hdl.Mux(bypHit, bypWord, lbRd))
	lbNext := m.Wire("line_next", hdl.U(lbBits))
	m.Set(lbNext, hdl.Cat(lbWord.Slice(lbBits-pixBits-1, 0), pix2))
	m.If(adv, func() {
		m.Set(v2, v1)
		m.Set(tag2, tag1)
		m.Set(pix2, pix1)
		m.Set(x2, x)
		m.Set(out2, out1)
		m.Set(mode2, field["mode"].And(pass.Not()))
		m.Set(kh2, hdl.Mux(pass, one, kh))
		m.Set(kw2, hdl.Mux(pass, one, kw))
		m.Set(bypHit, v2.And(x2.Eq(x)))
		m.Set(bypWord, lbNext)
		m.If(v2, func() { lb.Write(lbAddr(x2), lbNext) })
	})

	// Column reduction: rows 0..kh-1 of the column (row 0 is the pixel).
	colSumBits := 8 + hdl.Clog2(K)
	winSumBits := 8 + hdl.Clog2(K*K)
	minS8 := m.Const(-128, hdl.S(8))
	zeroS8 := m.Const(0, hdl.S(8))
	lane := func(word *hdl.Expr, slot, k int) *hdl.Expr {
		lo := (slot*L + k) * 8
		return word.Slice(lo+7, lo).AsSigned()
	}
	v3 := m.Reg("v3", hdl.U(1), hdl.ResetTo(0))
	tag3 := m.Reg("tag3", tagShape)
	out3 := m.Reg("win_end3", hdl.U(1))
	mode3 := m.Reg("mode3", hdl.U(1))
	kh3 := m.Reg("kh3", hdl.U(kb))
	kw3 := m.Reg("kw3", hdl.U(kb))
	m.If(adv, func() {
		m.Set(v3, v2)
		m.Set(tag3, tag2)
		m.Set(out3, out2)
		m.Set(mode3, mode2)
		m.Set(kh3, kh2)
		m.Set(kw3, kw2)
	})
	colMax3 := make([]*hdl.Expr, L)
	colSum3 := make([]*hdl.Expr, L)
	for k := 0; k < L; k++ {
		taps := []*hdl.Expr{lane(pix2, 0, k)}
		sumE := hdl.SExt(taps[0], colSumBits)
		for r := 1; r < K; r++ {
			v := lane(lbWord, r-1, k)
			in := kh2.Gt(m.Const(int64(r), hdl.U(kb)))
			taps = append(taps, hdl.Mux(in, v, minS8))
			sumE = sumE.Add(hdl.SExt(hdl.Mux(in, v, zeroS8), colSumBits)).Trunc(colSumBits)
		}
		colMax := poolMaxTree(m, fmt.Sprintf("col_max_%d", k), taps)
		colSum := m.Wire(fmt.Sprintf("col_sum_%d", k), hdl.S(colSumBits))
		m.Set(colSum, sumE)
		colMax3[k] = m.Reg(fmt.Sprintf("col_max3_%d", k), hdl.S(8))
		colSum3[k] = m.Reg(fmt.Sprintf("col_sum3_%d", k), hdl.S(colSumBits))
		m.If(adv, func() {
			m.Set(colMax3[k], colMax)
			m.Set(colSum3[k], colSum)
		})
	}

	// Stage 3: the row of kw reduced columns (the current one and the K-1
	// before it, kept in registers), and the numerator of the average.
	shift := cfg.DivideShift()
	maxCount := K * K
	recipBits := bits.Len64(PoolReciprocal(1, shift))
	halfBits := max(1, bits.Len(uint(maxCount/2)))
	absBits := bits.Len(uint(128 * maxCount))
	numBits := bits.Len(uint(averageNumMax(maxCount)))
	half := m.Wire("half", hdl.U(halfBits))
	recip := m.Wire("recip", hdl.U(recipBits))
	m.Switch(hdl.Cat(kh3, kw3), func(s *hdl.SwitchBuilder) {
		for h := 1; h <= K; h++ {
			for w := 1; w <= K; w++ {
				s.Case([]int64{int64(h<<kb | w)}, func() {
					m.Set(half, m.Const(int64(h*w/2), hdl.U(halfBits)))
					m.Set(recip, m.Const(int64(PoolReciprocal(h*w, shift)), hdl.U(recipBits)))
				})
			}
		}
		s.Default(func() {
			m.Set(half, m.Const(0, hdl.U(halfBits)))
			m.Set(recip, m.Const(0, hdl.U(recipBits)))
		})
	})
	v4 := m.Reg("v4", hdl.U(1), hdl.ResetTo(0))
	tag4 := m.Reg("tag4", tagShape)
	mode4 := m.Reg("mode4", hdl.U(1))
	recip4 := m.Reg("recip4", hdl.U(recipBits))
	m.If(adv, func() {
		m.Set(v4, v3.And(out3))
		m.Set(tag4, tag3)
		m.Set(mode4, mode3)
		m.Set(recip4, recip)
	})
	winMax4 := make([]*hdl.Expr, L)
	num4 := make([]*hdl.Expr, L)
	neg4 := make([]*hdl.Expr, L)
	for k := 0; k < L; k++ {
		taps := []*hdl.Expr{colMax3[k]}
		sumE := hdl.SExt(colSum3[k], winSumBits)
		prev := colMax3[k]
		prevSum := colSum3[k]
		for j := 0; j < K-1; j++ {
			hm := m.Reg(fmt.Sprintf("hist_max_%d_%d", j, k), hdl.S(8))
			hs := m.Reg(fmt.Sprintf("hist_sum_%d_%d", j, k), hdl.S(colSumBits))
			pm, ps := prev, prevSum
			m.If(adv.And(v3), func() {
				m.Set(hm, pm)
				m.Set(hs, ps)
			})
			prev, prevSum = hm, hs
			in := kw3.Gt(m.Const(int64(j+1), hdl.U(kb)))
			taps = append(taps, hdl.Mux(in, hm, minS8))
			sumE = sumE.Add(hdl.SExt(hdl.Mux(in, hs, m.Const(0, hdl.S(colSumBits))), winSumBits)).Trunc(winSumBits)
		}
		winMax := poolMaxTree(m, fmt.Sprintf("win_max_%d", k), taps)
		winSum := m.Wire(fmt.Sprintf("win_sum_%d", k), hdl.S(winSumBits))
		m.Set(winSum, sumE)
		// |sum| <= 128*K*K fits absBits; n = |sum| + count/2 fits numBits.
		neg := winSum.MSB()
		abs := m.Wire(fmt.Sprintf("avg_abs_%d", k), hdl.U(absBits))
		m.Set(abs, hdl.Mux(neg, winSum.Neg(), hdl.SExt(winSum, winSumBits+1)).AsUnsigned().Resize(absBits))
		num := m.Wire(fmt.Sprintf("avg_num_%d", k), hdl.U(numBits))
		m.Set(num, hdl.ZExt(abs, numBits).Add(hdl.ZExt(half, numBits)).Trunc(numBits))
		winMax4[k] = m.Reg(fmt.Sprintf("win_max4_%d", k), hdl.S(8))
		num4[k] = m.Reg(fmt.Sprintf("avg_num4_%d", k), hdl.U(numBits))
		neg4[k] = m.Reg(fmt.Sprintf("avg_neg4_%d", k), hdl.U(1))
		m.If(adv, func() {
			m.Set(winMax4[k], winMax)
			m.Set(num4[k], num)
			m.Set(neg4[k], neg)
		})
	}

	// Stage 4: the quotient (at most 128, see above), its sign, the choice.
	outTag := m.Reg("out_tag", tagShape)
	outLanes := make([]*hdl.Expr, L)
	m.If(adv, func() {
		m.Set(p.OutValid, v4)
		m.Set(outTag, tag4)
	})
	for k := 0; k < L; k++ {
		q := m.Wire(fmt.Sprintf("avg_q_%d", k), hdl.U(8))
		m.Set(q, num4[k].Mul(recip4).Slice(shift+7, shift))
		qs := hdl.ZExt(q, 9).AsSigned()
		avg := m.Wire(fmt.Sprintf("avg_%d", k), hdl.S(8))
		m.Set(avg, hdl.Mux(neg4[k], qs.Neg(), hdl.SExt(qs, 10)).Trunc(8))
		outLanes[k] = m.Reg(fmt.Sprintf("out_lane_%d", k), hdl.S(8))
		m.If(adv, func() { m.Set(outLanes[k], hdl.Mux(mode4, avg, winMax4[k])) })
	}
	m.Set(p.Out.Data, PackLanes(outTag, outLanes))
	return pool, nil
}

// poolSucc is e+1, one bit wider.
func poolSucc(m *hdl.Module, e *hdl.Expr) *hdl.Expr { return e.Add(m.Const(1, hdl.U(1))) }

// poolMaxTree returns a wire called name holding the largest of the
// signed int8 values, reduced pairwise. Every node is a wire of its own: a
// compare-and-select uses each operand twice, so nested expressions would
// grow exponentially with the depth.
func poolMaxTree(m *hdl.Module, name string, vals []*hdl.Expr) *hdl.Expr {
	for level := 0; len(vals) > 1; level++ {
		var next []*hdl.Expr
		for i := 0; i+1 < len(vals); i += 2 {
			w := m.Wire(fmt.Sprintf("%s_l%d_%d", name, level, i/2), hdl.S(8))
			m.Set(w, hdl.Mux(vals[i].Gt(vals[i+1]), vals[i], vals[i+1]))
			next = append(next, w)
		}
		if len(vals)%2 == 1 {
			next = append(next, vals[len(vals)-1])
		}
		vals = next
	}
	w := m.Wire(name, hdl.S(8))
	m.Set(w, vals[0])
	return w
}
