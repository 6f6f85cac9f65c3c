package blocks

import (
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/tpugen/tpugen/hdl"
)

// The pooling unit's limits, which are also those of the configuration keys
// pool_window, pool_width and pool_height (checked here only, by
// PoolConfig.Validate). The unit holds MaxWindow-1 line-buffer rows and a
// reciprocal for each of the MaxWindow² window sizes, so its area grows with
// the square of the window; the line buffer is MaxWidth words deep.
const (
	MaxPoolWindow = 7
	MaxPoolSide   = 1024
)

// PoolConfig sizes the pooling unit.
type PoolConfig struct {
	Stage     StageConfig
	MaxWindow int // largest window side (and stride), at least 3
	MaxWidth  int // largest feature-map width the line buffers hold
	MaxHeight int // largest feature-map height the row counter holds
	// L2 adds L2 pooling (mode PoolModeL2): the rounded square root of the
	// window's sum of squares of the zero-point-subtracted values. It widens
	// the mode field to two bits and adds the zero point to the control word.
	L2 bool
}

// Validate checks the sizes. The messages name the configuration keys the
// sizes come from.
func (c PoolConfig) Validate() error {
	var errs []error
	if err := c.Stage.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxWindow < 3 || c.MaxWindow > MaxPoolWindow {
		errs = append(errs, fmt.Errorf("pool_window %d must be in [3, %d]", c.MaxWindow, MaxPoolWindow))
	}
	if c.MaxWidth < 1 || c.MaxWidth > MaxPoolSide {
		errs = append(errs, fmt.Errorf("pool_width %d must be in [1, %d]", c.MaxWidth, MaxPoolSide))
	}
	if c.MaxHeight < 1 || c.MaxHeight > MaxPoolSide {
		errs = append(errs, fmt.Errorf("pool_height %d must be in [1, %d]", c.MaxHeight, MaxPoolSide))
	}
	return errors.Join(errs...)
}

func (c PoolConfig) widthBits() int  { return hdl.BitsFor(c.MaxWidth + 1) }
func (c PoolConfig) heightBits() int { return hdl.BitsFor(c.MaxHeight + 1) }
func (c PoolConfig) windowBits() int { return hdl.BitsFor(c.MaxWindow + 1) }

// The pooling unit's control word is at parameter address PoolControlAddr;
// its mode field is PoolModeMax, PoolModeAverage or (built with L2)
// PoolModeL2.
const (
	PoolControlAddr = 0
	PoolModeMax     = 0
	PoolModeAverage = 1
	PoolModeL2      = 2
)

// ParamFields is the layout of the control word (parameter address 0), LSB
// first:
//
//	enable  0: pass-through (every input beat goes straight out), 1: pool
//	mode    0: max, 1: average (one bit), 2: L2 (two bits, built with L2)
//	width   feature-map width W, 1..MaxWidth
//	height  feature-map height H, 1..MaxHeight
//	kh, kw  window height and width, 1..MaxWindow
//	sh, sw  strides, 1..MaxWindow
//	zp      (built with L2) the int8 zero point L2 pooling subtracts from
//	        each value and adds to the root
//
// A pooled frame is H rows of W pixels in raster order, one pixel per beat;
// the output is the VALID-padded pooled map, (H-kh)/sh+1 rows of
// (W-kw)/sw+1 pixels, in raster order. Values outside these ranges give
// unspecified (but finite) output; kh > H or kw > W give no output.
func (c PoolConfig) ParamFields() []Field { return c.control().l.fields }

// poolControlLayout is the control word's layout, field by field.
type poolControlLayout struct {
	l                           layout
	enable, mode, width, height payloadField
	kh, kw, sh, sw              payloadField
	zp                          payloadField // L2 only
}

func (c PoolConfig) control() poolControlLayout {
	var w poolControlLayout
	w.enable = w.l.add("enable", 1, 1, false)
	modeBits := 1
	if c.L2 {
		modeBits = 2
	}
	w.mode = w.l.add("mode", modeBits, 1, false)
	w.width = w.l.add("width", c.widthBits(), 1, false)
	w.height = w.l.add("height", c.heightBits(), 1, false)
	w.kh = w.l.add("kh", c.windowBits(), 1, false)
	w.kw = w.l.add("kw", c.windowBits(), 1, false)
	w.sh = w.l.add("sh", c.windowBits(), 1, false)
	w.sw = w.l.add("sw", c.windowBits(), 1, false)
	if c.L2 {
		w.zp = w.l.add("zp", 8, 1, true)
	}
	return w
}

// ParamBits is the width of the control word (prm_data).
func (c PoolConfig) ParamBits() int { return c.control().l.next }

// PoolControl is the content of a control word.
type PoolControl struct {
	Enable, Average bool
	L2              bool // L2 pooling (a unit built with L2); wins over Average
	Width, Height   int
	KH, KW, SH, SW  int
	ZeroPoint       int // L2 only
}

// Word packs p into a control word by the layout of ParamFields. Each value
// keeps only its field's width.
func (c PoolConfig) Word(p PoolControl) *big.Int {
	bit := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	ctl := c.control()
	mode := bit(p.Average)
	if p.L2 {
		mode = PoolModeL2
	}
	fields := []struct {
		f payloadField
		v int
	}{
		{ctl.enable, bit(p.Enable)}, {ctl.mode, mode}, {ctl.width, p.Width}, {ctl.height, p.Height},
		{ctl.kh, p.KH}, {ctl.kw, p.KW}, {ctl.sh, p.SH}, {ctl.sw, p.SW},
	}
	if c.L2 {
		fields = append(fields, struct {
			f payloadField
			v int
		}{ctl.zp, p.ZeroPoint})
	}
	w := new(big.Int)
	for _, f := range fields {
		v := big.NewInt(int64(f.v))
		v.And(v, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(f.f.Width)), big.NewInt(1)))
		w.Or(w, v.Lsh(v, uint(f.f.LSB)))
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
// Pipeline (Latency register stages, all under adv), with the builder's
// step that fills each stage's registers:
//
//	1  pixel: the pixel and control word (read from the beat's tag when it
//	   entered); the frame counters place the pixel and issue the
//	   line-buffer read
//	2  lineBuffer: the pixel and the column above it; the column is shifted
//	   into the line buffer
//	3  reduceColumn: the column of kh pixels reduced (max and sum)
//	4  reduceWindow: the kw reduced columns reduced; |sum| + count/2
//	5  divide: multiply by the reciprocal of the count; select max or
//	   average into the output register
type Pool struct {
	*hdl.Module
	Config  PoolConfig
	Ports   *StagePorts
	Latency int
}

// NewPool builds the pooling unit.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	L, K := cfg.Stage.Lanes, cfg.MaxWindow
	name := fmt.Sprintf("pool_l%d_t%d_k%d_w%d_h%d", L, cfg.Stage.TagBits, K, cfg.MaxWidth, cfg.MaxHeight)
	what := "max or average"
	if cfg.L2 {
		name += "_l2"
		what = "max, average or L2"
	}
	m := hdl.NewModule(name)
	m.Comment("Pooling unit: streaming %s pooling (VALID padding) over raster-order frames.", what)
	p := NewStagePorts(m, cfg.Stage, hdl.S(8), hdl.S(8), 1, cfg.ParamBits())
	b := &poolBuilder{pipeRegs: pipeRegs{m: m, adv: p.Adv}, cfg: cfg, p: p, pixBits: 8 * L}
	s1 := b.pixel()
	s2 := b.lineBuffer(s1)
	s3 := b.reduceColumn(s2)
	s4 := b.reduceWindow(s3)
	b.divide(s4)
	return &Pool{Module: m, Config: cfg, Ports: p, Latency: 5}, nil
}

type poolBuilder struct {
	pipeRegs // every register advances with the stage (p.Adv)
	cfg      PoolConfig
	p        *StagePorts
	pixBits  int // a pixel: Lanes int8 values
}

// poolBeat is what stages 1 to 3 hold of a beat besides its pixel data.
type poolBeat struct {
	valid, tag *hdl.Expr
	winEnd     *hdl.Expr // a window ends at this pixel (else it leaves as a bubble)
	average    *hdl.Expr // average pooling, not max
	kh, kw     *hdl.Expr // the window (1×1 in pass-through)
	l2, zp     *hdl.Expr // L2 pooling and its zero point (nil unless built with L2)
}

// poolPixel is stage 1: the pixel and its place in the frame.
type poolPixel struct {
	poolBeat
	pix *hdl.Expr
	x   *hdl.Expr // its column, the line-buffer address
}

// poolColumn is stage 2: the pixel and the column of the MaxWindow-1 pixels
// above it.
type poolColumn struct {
	poolBeat
	pix   *hdl.Expr
	x     *hdl.Expr
	above []*hdl.Expr // the line-buffer words: slot 0 is the row just above
}

// poolColumns is stage 3: each lane's column of kh pixels, reduced.
type poolColumns struct {
	poolBeat
	colMax, colSum []*hdl.Expr
	colSq          []*hdl.Expr // L2: the column's sum of squares
}

// poolWindow is stage 4: each lane's window reduced, and the average's
// numerator, sign and reciprocal.
type poolWindow struct {
	valid, tag, average *hdl.Expr
	recip               *hdl.Expr
	winMax, num, neg    []*hdl.Expr
	l2, zp              *hdl.Expr   // L2 only
	winSq               []*hdl.Expr // L2: the window's sum of squares
}

// pixel registers the beat in stage 1, reads its set's control word and
// places the pixel in its frame: the frame counters (column, row, and the
// stride phases) decide whether a window ends at it.
func (b *poolBuilder) pixel() poolPixel {
	m, p, cfg := b.m, b.p, b.cfg
	wb, hb, kb := cfg.widthBits(), cfg.heightBits(), cfg.windowBits()

	// Control words, one per parameter set; read with the incoming tag.
	prm := m.Memory("prm", hdl.U(cfg.ParamBits()), cfg.Stage.Sets(), nil)
	m.If(p.PrmWe.And(p.PrmAddr.EqConst(PoolControlAddr)), func() { prm.Write(p.PrmSet, p.PrmData) })
	word := prm.Read("prm_q", p.InTag, b.adv)

	var s poolPixel
	g := b.group()
	s.valid = g.flag("v1", p.In.Fire())
	s.tag = g.reg("tag1", p.InTag)
	s.pix = g.reg("pix1", p.In.Data.Slice(b.pixBits-1, 0))
	g.end()

	ctl := cfg.control()
	pass := ctl.enable.of(word).Not()
	width, height := ctl.width.of(word), ctl.height.of(word)
	kh, kw, sh, sw := ctl.kh.of(word), ctl.kw.of(word), ctl.sh.of(word), ctl.sw.of(word)

	x := m.Reg("col", hdl.U(wb), hdl.ResetTo(0))
	y := m.Reg("row", hdl.U(hb), hdl.ResetTo(0))
	xph := m.Reg("col_phase", hdl.U(kb), hdl.ResetTo(0))
	yph := m.Reg("row_phase", hdl.U(kb), hdl.ResetTo(0))
	lastCol := m.Wire("last_col", hdl.U(1))
	lastRow := m.Wire("last_row", hdl.U(1))
	colIn := m.Wire("col_in", hdl.U(1)) // a window ends at this column or later
	rowIn := m.Wire("row_in", hdl.U(1))
	m.Set(lastCol, poolSucc(m, x).Eq(hdl.ZExt(width, wb+1)))
	m.Set(lastRow, poolSucc(m, y).Eq(hdl.ZExt(height, hb+1)))
	cw := max(wb, kb) + 1
	m.Set(colIn, hdl.ZExt(poolSucc(m, x), cw).Ge(hdl.ZExt(kw, cw)))
	ch := max(hb, kb) + 1
	m.Set(rowIn, hdl.ZExt(poolSucc(m, y), ch).Ge(hdl.ZExt(kh, ch)))
	// phase counts (position - (k-1)) modulo the stride once a window fits.
	nextPhase := func(ph, in, s *hdl.Expr) *hdl.Expr {
		n := poolSucc(m, ph)
		wrap := n.Eq(hdl.ZExt(s, kb+1))
		return hdl.Mux(in.And(wrap.Not()), n.Trunc(kb), m.Const(0, hdl.U(kb)))
	}
	m.If(b.adv.And(s.valid), func() {
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
	s.x = x
	// Pass-through is pooling by a 1×1 max window that ends everywhere.
	s.winEnd = m.Wire("win_end", hdl.U(1))
	m.Set(s.winEnd, pass.Or(colIn.And(rowIn).And(xph.EqConst(0)).And(yph.EqConst(0))))
	one := m.Const(1, hdl.U(kb))
	if cfg.L2 {
		mode := ctl.mode.of(word)
		s.average = mode.EqConst(PoolModeAverage).And(pass.Not())
		s.l2 = mode.EqConst(PoolModeL2).And(pass.Not())
		s.zp = ctl.zp.of(word)
	} else {
		s.average = ctl.mode.of(word).And(pass.Not())
	}
	s.kh, s.kw = hdl.Mux(pass, one, kh), hdl.Mux(pass, one, kw)
	return s
}

// lineBuffer moves the beat to stage 2 with the column above its pixel, and
// shifts the pixel into that column. Word x of line buffer r holds column x
// of the row r+1 above (slot r); the reads for the pixel in stage 1 are
// issued now. One memory per row keeps each word one pixel vector wide
// (64 bits with 8 lanes: one machine word in a simulator) instead of one
// word of all the rows.
func (b *poolBuilder) lineBuffer(in poolPixel) poolColumn {
	m, cfg := b.m, b.cfg
	slots := cfg.MaxWindow - 1
	lbs := make([]*hdl.Memory, slots)
	lbRd := make([]*hdl.Expr, slots)
	for r := range lbs {
		lbs[r] = m.Memory(fmt.Sprintf("line_buf_%d", r), hdl.U(b.pixBits), cfg.MaxWidth, nil)
	}
	// Columns are below MaxWidth, so they fit the address. The column
	// counter is as wide as the width field, which holds MaxWidth itself:
	// one bit wider than the address when MaxWidth is a power of two.
	lbAddr := func(e *hdl.Expr) *hdl.Expr {
		if aw := lbs[0].AddrWidth(); e.Width() > aw {
			return e.Trunc(aw)
		}
		return e
	}
	for r, lb := range lbs {
		lbRd[r] = lb.Read(fmt.Sprintf("line_q_%d", r), lbAddr(in.x), b.adv)
	}

	var s poolColumn
	g := b.group()
	s.valid = g.flag("v2", in.valid)
	s.tag = g.reg("tag2", in.tag)
	s.pix = g.reg("pix2", in.pix)
	s.x = g.reg("col2", in.x)
	s.winEnd = g.reg("win_end2", in.winEnd)
	s.average = g.reg("mode2", in.average)
	s.kh = g.reg("kh2", in.kh)
	s.kw = g.reg("kw2", in.kw)
	if b.cfg.L2 {
		s.l2 = g.reg("l2_2", in.l2)
		s.zp = g.reg("zp2", in.zp)
	}
	// A one-row frame writes the word that the next pixel reads in the same
	// cycle; the memory returns the old word, so forward the new one.
	bypHit := g.flag("byp_hit", s.valid.And(s.x.Eq(in.x)))
	s.above = make([]*hdl.Expr, slots)
	for r := range lbs {
		s.above[r] = m.Wire(fmt.Sprintf("line_word_%d", r), hdl.U(b.pixBits))
	}
	for r, lb := range lbs {
		bypWord := m.Reg(fmt.Sprintf("byp_word_%d", r), hdl.U(b.pixBits))
		m.Set(s.above[r], hdl.Mux(bypHit, bypWord, lbRd[r]))
		// The pixel enters slot 0 and every row moves one slot up.
		next := s.pix
		if r > 0 {
			next = s.above[r-1]
		}
		g.set(bypWord, next)
		g.also(func() { m.If(s.valid, func() { lb.Write(lbAddr(s.x), next) }) })
	}
	g.end()
	return s
}

// poolLane returns lane k of a pixel vector.
func poolLane(pix *hdl.Expr, k int) *hdl.Expr {
	return pix.Slice(8*k+7, 8*k).AsSigned()
}

// colSumBits is the width of a column's sum of MaxWindow int8 values.
func (c PoolConfig) colSumBits() int { return 8 + hdl.Clog2(c.MaxWindow) }

// reduceColumn reduces each lane's column, rows 0..kh-1 (row 0 is the
// pixel), to its max and sum, into stage 3.
func (b *poolBuilder) reduceColumn(in poolColumn) poolColumns {
	m, L, K := b.m, b.cfg.Stage.Lanes, b.cfg.MaxWindow
	colSumBits := b.cfg.colSumBits()
	kb := b.cfg.windowBits()
	minS8 := m.Const(-128, hdl.S(8))
	zeroS8 := m.Const(0, hdl.S(8))

	var s poolColumns
	g := b.group()
	s.valid = g.flag("v3", in.valid)
	s.tag = g.reg("tag3", in.tag)
	s.winEnd = g.reg("win_end3", in.winEnd)
	s.average = g.reg("mode3", in.average)
	s.kh = g.reg("kh3", in.kh)
	s.kw = g.reg("kw3", in.kw)
	if b.cfg.L2 {
		s.l2 = g.reg("l2_3", in.l2)
		s.zp = g.reg("zp3", in.zp)
	}
	g.end()
	for k := 0; k < L; k++ {
		taps := []*hdl.Expr{poolLane(in.pix, k)}
		sumE := hdl.SExt(taps[0], colSumBits)
		for r := 1; r < K; r++ {
			v := poolLane(in.above[r-1], k)
			row := in.kh.Gt(m.Const(int64(r), hdl.U(kb)))
			taps = append(taps, hdl.Mux(row, v, minS8))
			sumE = sumE.Add(hdl.SExt(hdl.Mux(row, v, zeroS8), colSumBits)).Trunc(colSumBits)
		}
		colMax := poolMaxTree(m, fmt.Sprintf("col_max_%d", k), taps)
		colSum := m.Wire(fmt.Sprintf("col_sum_%d", k), hdl.S(colSumBits))
		m.Set(colSum, sumE)
		g := b.when(in.valid).group() // only a valid beat's values are read
		s.colMax = append(s.colMax, g.reg(fmt.Sprintf("col_max3_%d", k), colMax))
		s.colSum = append(s.colSum, g.reg(fmt.Sprintf("col_sum3_%d", k), colSum))
		if b.cfg.L2 {
			s.colSq = append(s.colSq, g.reg(fmt.Sprintf("col_sq3_%d", k), b.columnSquares(in, k)))
		}
		g.end()
	}
	return s
}

// reduceWindow reduces each lane's row of kw reduced columns (the current
// one and the MaxWindow-1 before it, kept in a history that shifts on valid
// beats) to the window's max and sum, and forms the numerator |sum| +
// count/2 of the average, into stage 4. Only beats that end a window stay
// valid.
func (b *poolBuilder) reduceWindow(in poolColumns) poolWindow {
	m, L, K := b.m, b.cfg.Stage.Lanes, b.cfg.MaxWindow
	kb := b.cfg.windowBits()
	colSumBits := b.cfg.colSumBits()
	winSumBits := 8 + hdl.Clog2(K*K)
	minS8 := m.Const(-128, hdl.S(8))

	// The count's half and reciprocal, by the window size.
	shift := b.cfg.DivideShift()
	maxCount := K * K
	recipBits := bits.Len64(PoolReciprocal(1, shift))
	halfBits := max(1, bits.Len(uint(maxCount/2)))
	absBits := bits.Len(uint(128 * maxCount))
	numBits := bits.Len(uint(averageNumMax(maxCount)))
	half := m.Wire("half", hdl.U(halfBits))
	recip := m.Wire("recip", hdl.U(recipBits))
	m.Switch(hdl.Cat(in.kh, in.kw), func(s *hdl.SwitchBuilder) {
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

	var s poolWindow
	g := b.group()
	ends := in.valid.And(in.winEnd)
	s.valid = g.flag("v4", ends)
	s.tag = g.reg("tag4", in.tag)
	s.average = g.reg("mode4", in.average)
	s.recip = g.reg("recip4", recip)
	if b.cfg.L2 {
		s.l2 = g.reg("l2_4", in.l2)
		s.zp = g.reg("zp4", in.zp)
	}
	g.end()
	history := b.when(in.valid)
	for k := 0; k < L; k++ {
		taps := []*hdl.Expr{in.colMax[k]}
		sumE := hdl.SExt(in.colSum[k], winSumBits)
		prevMax, prevSum := in.colMax[k], in.colSum[k]
		for j := 0; j < K-1; j++ {
			h := history.group()
			prevMax = h.reg(fmt.Sprintf("hist_max_%d_%d", j, k), prevMax)
			prevSum = h.reg(fmt.Sprintf("hist_sum_%d_%d", j, k), prevSum)
			h.end()
			col := in.kw.Gt(m.Const(int64(j+1), hdl.U(kb)))
			taps = append(taps, hdl.Mux(col, prevMax, minS8))
			sumE = sumE.Add(hdl.SExt(hdl.Mux(col, prevSum, m.Const(0, hdl.S(colSumBits))), winSumBits)).Trunc(winSumBits)
		}
		winMax := poolMaxTree(m, fmt.Sprintf("win_max_%d", k), taps)
		winSum := m.Wire(fmt.Sprintf("win_sum_%d", k), hdl.S(winSumBits))
		m.Set(winSum, sumE)
		// |sum| <= 128*K*K fits absBits; n = |sum| + count/2 fits numBits.
		neg := winSum.MSB()
		abs := m.Wire(fmt.Sprintf("avg_abs_%d", k), hdl.U(absBits))
		m.Set(abs, hdl.Mux(neg, winSum.Neg(), hdl.SExt(winSum, winSumBits+1)).AsUnsigned().Trunc(absBits))
		num := m.Wire(fmt.Sprintf("avg_num_%d", k), hdl.U(numBits))
		m.Set(num, hdl.ZExt(abs, numBits).Add(hdl.ZExt(half, numBits)).Trunc(numBits))
		g := b.when(ends).group() // read only when the beat ends a window
		s.winMax = append(s.winMax, g.reg(fmt.Sprintf("win_max4_%d", k), winMax))
		s.num = append(s.num, g.reg(fmt.Sprintf("avg_num4_%d", k), num))
		s.neg = append(s.neg, g.reg(fmt.Sprintf("avg_neg4_%d", k), neg))
		if b.cfg.L2 {
			s.winSq = append(s.winSq, g.reg(fmt.Sprintf("win_sq4_%d", k), b.windowSquares(in, history, k)))
		}
		g.end()
	}
	return s
}

// divide finishes the average, n·R >> P (at most 128, see above) with the
// sign restored, and registers the max or the average into out_data.
func (b *poolBuilder) divide(in poolWindow) {
	m, p := b.m, b.p
	shift := b.cfg.DivideShift()
	g := b.group()
	zero := b.cfg.Stage.ZeroIdle
	g.set(p.OutValid, in.valid)
	tag := g.out("out_tag", in.tag, in.valid, zero)
	g.end()
	lanes := make([]*hdl.Expr, len(in.winMax))
	for k := range lanes {
		q := m.Wire(fmt.Sprintf("avg_q_%d", k), hdl.U(8))
		m.Set(q, in.num[k].Mul(in.recip).Slice(shift+7, shift))
		qs := hdl.ZExt(q, 9).AsSigned()
		avg := m.Wire(fmt.Sprintf("avg_%d", k), hdl.S(8))
		m.Set(avg, hdl.Mux(in.neg[k], qs.Neg(), hdl.SExt(qs, 10)).Trunc(8))
		res := hdl.Mux(in.average, avg, in.winMax[k])
		if b.cfg.L2 {
			res = hdl.Mux(in.l2, b.l2Result(in, k), res)
		}
		lanes[k] = b.out(fmt.Sprintf("out_lane_%d", k), res, in.valid, zero)
	}
	m.Set(p.Out.Data, PackLanes(tag, lanes))
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

// L2 pooling works on d = value - zp (9 bits), so a square is at most
// 255² < 2^16, a column's sum of MaxWindow squares fits colSqBits and the
// window's winSqBits; the rounded root of the window's sum is at most
// 255·MaxWindow + 1.
func (c PoolConfig) colSqBits() int { return 16 + hdl.Clog2(c.MaxWindow) }
func (c PoolConfig) winSqBits() int { return 16 + hdl.Clog2(c.MaxWindow*c.MaxWindow) }

// columnSquares is lane k's sum of (value - zp)² over rows 0..kh-1 of the
// column in stage 2.
func (b *poolBuilder) columnSquares(in poolColumn, k int) *hdl.Expr {
	m, K, kb := b.m, b.cfg.MaxWindow, b.cfg.windowBits()
	n := b.cfg.colSqBits()
	sq := func(v *hdl.Expr) *hdl.Expr {
		d := v.Sub(in.zp)
		return hdl.ZExt(d.Mul(d).Slice(15, 0), n)
	}
	sum := sq(poolLane(in.pix, k))
	for r := 1; r < K; r++ {
		row := in.kh.Gt(m.Const(int64(r), hdl.U(kb)))
		sum = sum.Add(hdl.Mux(row, sq(poolLane(in.above[r-1], k)), m.Const(0, hdl.U(n)))).Trunc(n)
	}
	w := m.Wire(fmt.Sprintf("col_sq_%d", k), hdl.U(n))
	m.Set(w, sum)
	return w
}

// windowSquares is lane k's sum of the kw column sums of squares: the
// current column's and those of the history, which shifts with it.
func (b *poolBuilder) windowSquares(in poolColumns, history pipeRegs, k int) *hdl.Expr {
	m, K, kb := b.m, b.cfg.MaxWindow, b.cfg.windowBits()
	n := b.cfg.winSqBits()
	sum := hdl.ZExt(in.colSq[k], n)
	prev := in.colSq[k]
	for j := 0; j < K-1; j++ {
		prev = history.reg(fmt.Sprintf("hist_sq_%d_%d", j, k), prev)
		col := in.kw.Gt(m.Const(int64(j+1), hdl.U(kb)))
		sum = sum.Add(hdl.ZExt(hdl.Mux(col, prev, m.Const(0, prev.Shape())), n)).Trunc(n)
	}
	w := m.Wire(fmt.Sprintf("win_sq_%d", k), hdl.U(n))
	m.Set(w, sum)
	return w
}

// l2Result is lane k's L2 output: zp + round(sqrt(sum of squares)),
// clamped to 127 (it is never below zp). The root is the restoring
// digit-by-digit square root, one result bit per pair of input bits; it
// leaves the remainder n - r², and the root rounds up when the remainder
// exceeds r (n >= r² + r + 1 > (r + 1/2)²; sqrt(n) is never r + 1/2).
func (b *poolBuilder) l2Result(in poolWindow, k int) *hdl.Expr {
	m := b.m
	n := in.winSq[k]
	if n.Width()%2 == 1 {
		n = hdl.ZExt(n, n.Width()+1)
	}
	half := n.Width() / 2
	// rem <= 2·root < 2^(step+1) before a step's shift, so half+2 bits
	// hold the shifted remainder of every step.
	rw := half + 2
	rem := m.Const(0, hdl.U(rw))
	root := m.Const(0, hdl.U(1))
	for i := half - 1; i >= 0; i-- {
		step := half - 1 - i
		shifted := hdl.Cat(rem.Slice(rw-3, 0), n.Slice(2*i+1, 2*i))
		trial := hdl.ZExt(hdl.Cat(root, m.Lit(1, 2)), rw)
		fits := m.Wire(fmt.Sprintf("sqrt_fit_%d_%d", k, step), hdl.U(1))
		m.Set(fits, shifted.Ge(trial))
		next := m.Wire(fmt.Sprintf("sqrt_rem_%d_%d", k, step), hdl.U(rw))
		m.Set(next, hdl.Mux(fits, shifted.Sub(trial).Trunc(rw), shifted))
		rem = next
		root = hdl.Cat(root, fits)
	}
	rootW := m.Wire(fmt.Sprintf("sqrt_root_%d", k), hdl.U(root.Width()))
	m.Set(rootW, root)
	up := m.Wire(fmt.Sprintf("sqrt_up_%d", k), hdl.U(1))
	m.Set(up, rem.Gt(hdl.ZExt(rootW, rw)))
	rounded := rootW.Add(hdl.ZExt(up, rootW.Width()))
	sum := hdl.ZExt(rounded, rounded.Width()+1).AsSigned().Add(hdl.SExt(in.zp, rounded.Width()+1))
	v := m.Wire(fmt.Sprintf("l2_sum_%d", k), sum.Shape())
	m.Set(v, sum)
	return hdl.Mux(v.Gt(m.Const(127, v.Shape())), m.Const(127, hdl.S(8)), v.Trunc(8))
}
