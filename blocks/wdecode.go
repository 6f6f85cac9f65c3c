package blocks

import (
	"errors"
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// WeightDecoderConfig sizes the bitmask weight decoder that sits between a
// compressed w_in stream and the array.
type WeightDecoderConfig struct {
	Lanes      int // weights per dense row: the array's columns
	Rows       int // dense rows per weight tile: the array's rows
	WeightBits int // only 8-bit weights are compressed
}

// Validate checks the sizes.
func (c WeightDecoderConfig) Validate() error {
	var errs []error
	if c.Lanes < 1 || c.Lanes > MaxArray {
		errs = append(errs, fmt.Errorf("weight decoder: %d lanes must be in [1, %d]", c.Lanes, MaxArray))
	}
	if c.Rows < 1 || c.Rows > MaxArray {
		errs = append(errs, fmt.Errorf("weight decoder: %d rows per tile must be in [1, %d]", c.Rows, MaxArray))
	}
	if c.WeightBits != 8 {
		errs = append(errs, fmt.Errorf("weight decoder: weight_bits %d, the bitmask stream carries 8-bit weights (set weight_bits 8 or weight_compression none)", c.WeightBits))
	}
	return errors.Join(errs...)
}

// MaskBytes is the length of a row's mask: one bit per lane.
func (c WeightDecoderConfig) MaskBytes() int { return (c.Lanes + 7) / 8 }

// BeatBytes is the bytes one compressed beat carries at most.
func (c WeightDecoderConfig) BeatBytes() int { return c.Lanes }

// bufferBytes holds a whole record (MaskBytes + Lanes) plus one beat, so a
// beat is accepted whenever no complete record is waiting.
func (c WeightDecoderConfig) bufferBytes() int { return c.MaskBytes() + 2*c.Lanes }

// WeightDecoder expands a bitmask-compressed weight stream into dense rows.
//
// The stream is a byte string per weight tile, sent in beats of up to
// BeatBytes bytes (field bytes, lane 0 first; count says how many of the
// beat's bytes are used, the rest are ignored; last marks a tile's final
// beat). A tile is Rows records, one per dense row in order: MaskBytes
// bytes of mask (bit j of the mask, least significant bit of byte 0 first,
// is 1 when lane j's weight is not zero) followed by the nonzero weights in
// lane order, one byte each. Records run on across beats.
//
// A malformed tile sets the sticky out_err and is still closed with
// exactly Rows dense rows, so the array never waits for weights that will
// not come: a record cut off by the tile's end, or a tile with too few
// records, is padded with zero rows; records beyond Rows are dropped; bytes
// left after the last record, a count above BeatBytes (taken as
// BeatBytes), a mask bit beyond the lanes and a stored zero are flagged.
// out_err clears only on reset.
type WeightDecoder struct {
	*hdl.Module
	Config WeightDecoderConfig
	In     hdl.Stream // compressed beats
	Out    hdl.Stream // dense rows, Lanes bytes, lane 0 in the low byte
	Err    *hdl.Expr
	// Fields is the compressed beat's layout (bytes, count, last), for the
	// manifest.
	Fields []Field
	Width  int
}

// NewWeightDecoder builds the decoder.
func NewWeightDecoder(cfg WeightDecoderConfig) (*WeightDecoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	N, R, MB, B, S := cfg.Lanes, cfg.Rows, cfg.MaskBytes(), cfg.BeatBytes(), cfg.bufferBytes()
	m := hdl.NewModule(fmt.Sprintf("wdecode_bitmask_l%d_r%d", N, R))
	m.Comment("Bitmask weight decoder: per tile, %d records of a %d-byte lane mask and the nonzero bytes, in beats of up to %d bytes, expand to %d dense rows of %d lanes.", R, MB, B, R, N)
	var l layout
	fBytes := l.add("bytes", 8, B, false)
	fCount := l.add("count", hdl.BitsFor(B+1), 1, false)
	fLast := l.add("last", 1, 1, false)
	d := &WeightDecoder{Module: m, Config: cfg, Fields: l.fields, Width: l.next,
		In: m.InStream("in", hdl.U(l.next)), Out: m.OutStream("out", hdl.U(8*N)), Err: m.Output("out_err", hdl.U(1))}

	sw := hdl.BitsFor(S + 1) // byte counts 0..S
	cnst := func(v int) *hdl.Expr { return m.Const(int64(v), hdl.U(sw)) }
	buf := m.Reg("buf", hdl.U(8*S), hdl.ResetTo(0)) // bytes at and above fill are zero
	fill := m.Reg("fill", hdl.U(sw), hdl.ResetTo(0))
	tileEnd := m.Reg("tile_end", hdl.U(1), hdl.ResetTo(0)) // the tile's last beat is in buf
	rows := m.Reg("rows", hdl.U(hdl.BitsFor(R+1)), hdl.ResetTo(0))
	outValid := m.Reg("out_valid_q", hdl.U(1), hdl.ResetTo(0))
	outData := m.Reg("out_data_q", hdl.U(8*N), hdl.ResetTo(0))
	errQ := m.Reg("err_q", hdl.U(1), hdl.ResetTo(0))
	m.Set(d.Out.Valid, outValid)
	m.Set(d.Out.Data, outData)
	m.Set(d.Err, errQ)

	// The record at the head of buf: its mask, popcount, length, and each
	// lane's value (the byte after the mask that the lanes before it leave).
	mask := buf.Slice(8*MB-1, 0)
	pw := hdl.BitsFor(N + 1)
	byteAt := func(idx *hdl.Expr) *hdl.Expr {
		return buf.ShrBy(hdl.Cat(idx, m.Lit(0, 3))).Slice(7, 0)
	}
	prefix := m.Const(0, hdl.U(pw))
	lanes := make([]*hdl.Expr, N)
	zeroVal := m.Lit(0, 1)
	for j := 0; j < N; j++ {
		bit := mask.Bit(j)
		v := byteAt(cnst(MB).Add(hdl.ZExt(prefix, sw)).Trunc(sw))
		lanes[N-1-j] = hdl.Mux(bit, v, m.Lit(0, 8))
		zeroVal = zeroVal.Or(bit.And(v.EqConst(0)))
		prefix = prefix.Add(hdl.ZExt(bit, pw)).Trunc(pw)
	}
	maskBad := m.Lit(0, 1)
	if N < 8*MB {
		maskBad = mask.Slice(8*MB-1, N).AnyBits()
	}
	need := m.Wire("need", hdl.U(sw))
	m.Set(need, cnst(MB).Add(hdl.ZExt(prefix, sw)).Trunc(sw))
	complete := m.Wire("complete", hdl.U(1))
	m.Set(complete, fill.Ge(cnst(MB)).And(fill.Ge(need)))

	outFree := outValid.Not().Or(d.Out.Ready)
	rowsFull := rows.EqConst(int64(R))
	emit := m.Wire("emit", hdl.U(1))     // a complete record becomes a row
	drop := m.Wire("drop", hdl.U(1))     // a record beyond the tile's rows
	pad := m.Wire("pad", hdl.U(1))       // the tile ended short: a zero row
	finish := m.Wire("finish", hdl.U(1)) // every row out: close the tile
	m.Set(emit, complete.And(rowsFull.Not()).And(outFree))
	m.Set(drop, complete.And(rowsFull).And(tileEnd.Not()))
	m.Set(pad, complete.Not().And(tileEnd).And(rowsFull.Not()).And(outFree))
	m.Set(finish, tileEnd.And(rowsFull))
	consume := m.Wire("consume", hdl.U(sw))
	m.Set(consume, hdl.Mux(emit.Or(drop), need, hdl.Mux(pad.Or(finish), fill, cnst(0))))

	// Input: taken while the tile is open and a beat fits; this depends on
	// registers only, so ready never waits on the array combinationally.
	inReady := m.Wire("in_ready_w", hdl.U(1))
	m.Set(inReady, tileEnd.Not().And(fill.Le(cnst(S-B))))
	m.Set(d.In.Ready, inReady)
	inFire := m.Wire("in_fire", hdl.U(1))
	m.Set(inFire, d.In.Valid.And(inReady))
	count := fCount.of(d.In.Data)
	countBad := m.Lit(0, 1)
	if 1<<count.Width()-1 > B { // a count field that can say more than B
		countBad = count.Gt(m.Const(int64(B), count.Shape()))
	}
	taken := m.Wire("taken", hdl.U(sw))
	m.Set(taken, hdl.Mux(inFire, hdl.Mux(countBad, cnst(B), hdl.ZExt(count, sw)), cnst(0)))
	in := make([]*hdl.Expr, B)
	for k := 0; k < B; k++ {
		in[B-1-k] = hdl.Mux(cnst(k).Lt(taken), fBytes.lane(d.In.Data, k), m.Lit(0, 8))
	}
	base := m.Wire("base", hdl.U(sw))
	m.Set(base, fill.Sub(consume).Trunc(sw))
	m.Set(buf, buf.ShrBy(hdl.Cat(consume, m.Lit(0, 3))).Or(hdl.ZExt(hdl.Cat(in...), 8*S).ShlBy(hdl.Cat(base, m.Lit(0, 3)))))
	m.Set(fill, base.Add(taken).Trunc(sw))

	m.If(finish, func() {
		m.Set(tileEnd, m.Lit(0, 1))
		m.Set(rows, m.Const(0, rows.Shape()))
	}).ElseIf(inFire.And(fLast.of(d.In.Data)), func() {
		m.Set(tileEnd, m.Lit(1, 1))
	})
	m.If(emit.Or(pad), func() { m.Set(rows, rows.Add(m.Lit(1, 1)).Trunc(rows.Width())) })
	m.If(outFree, func() {
		m.Set(outValid, emit.Or(pad))
		m.If(emit, func() { m.Set(outData, hdl.Cat(lanes...)) }).ElseIf(pad, func() { m.Set(outData, m.Const(0, outData.Shape())) })
	})
	bad := inFire.And(countBad).Or(emit.And(maskBad.Or(zeroVal))).Or(drop).Or(pad).Or(finish.And(fill.Ne(cnst(0))))
	m.If(bad, func() { m.Set(errQ, m.Lit(1, 1)) })
	return d, nil
}
