package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// MatrixUnit is the top of the matrix unit: a systolic array (WS or OS),
// its skew and deskew registers, the accumulator memory and three streams:
//
//	w_in   weights: one beat per array row (WS: rows beats per tile, row 0
//	       first) or per K step (OS), Cols lanes.
//	a_in   activations: Rows lanes plus the accumulator address and the
//	       flags first (WS: first beat of a weight tile; OS: first K step),
//	       acc (add into the accumulator row instead of overwriting) and last
//	       (WS: emit the accumulated row; OS: last K step of the tile).
//	c_out  results: Cols accumulator lanes and the row address.
//
// Every register of the datapath advances together (adv); the pipeline
// stalls only when c_out holds a result nobody takes, so backpressure never
// drops or reorders anything.
type MatrixUnit struct {
	*hdl.Module
	Config  MatrixConfig
	Streams []StreamPort
	// Latency is the number of cycles from an a_in beat firing to its
	// result's c_out beat (WS: for a beat with last set; OS: for row 0 of
	// the tile whose last beat it is).
	Latency int
}

// TopName is the name of the generated top module.
const TopName = "tpu_mxu"

type mxuBuilder struct {
	cfg      MatrixConfig
	m        *hdl.Module
	adv      *hdl.Expr
	win, ain hdl.Stream
	wl, al   layout
	accS     hdl.Shape
	aw       int
	stages   []pipelineStage
	pin      hdl.Stream
	pl       layout
}

// back-end control produced by the array side for the accumulator.
type mxuResult struct {
	preAddr, valid, addr, acc, last *hdl.Expr
	tag, raw                        *hdl.Expr   // with a pipeline: parameter set, and bypass to c_out
	sums                            []*hdl.Expr // accumulator shape
	latency                         int
}

// NewMatrixUnit builds the matrix unit for cfg.
func NewMatrixUnit(cfg MatrixConfig) (*MatrixUnit, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("matrix unit: %w", err)
	}
	m := hdl.NewModule(TopName)
	m.Comment("tpugen matrix unit: %dx%d %s array, %s x %s -> %s, %d accumulator rows.",
		cfg.Rows, cfg.Cols, cfg.Dataflow, sig(cfg.InputBits, cfg.InputSigned), sig(cfg.WeightBits, cfg.WeightSigned),
		sig(cfg.AccBits, cfg.ProductSigned()), cfg.AccDepth)
	b := &mxuBuilder{cfg: cfg, m: m, accS: shapeOf(cfg.AccBits, cfg.ProductSigned()), aw: cfg.AccAddrBits()}
	b.wl.add("weights", cfg.WeightBits, cfg.Cols, cfg.WeightSigned)
	b.al.add("acts", cfg.InputBits, cfg.Rows, cfg.InputSigned)
	b.al.add("addr", b.aw, 1, false)
	b.al.add("first", 1, 1, false)
	b.al.add("acc", 1, 1, false)
	b.al.add("last", 1, 1, false)
	if cfg.Dataflow.IsOS() {
		// How many of the tile's rows hold real output rows: the readout
		// skips the zero-padded rest.
		b.al.add("rows", hdl.BitsFor(cfg.Rows+1), 1, false)
	}
	pipe := cfg.Pipeline.Enabled()
	if pipe {
		b.al.add("tag", cfg.Pipeline.TagBits, 1, false)
		b.al.add("raw", 1, 1, false)
	}
	var cl layout
	cl.add("sums", cfg.AccBits, cfg.Cols, cfg.ProductSigned())
	cl.add("addr", b.aw, 1, false)
	if pipe {
		cl.add("tag", cfg.Pipeline.TagBits, 1, false)
	}

	b.win = m.InStream("w_in", hdl.U(b.wl.next))
	b.ain = m.InStream("a_in", hdl.U(b.al.next))
	if pipe {
		if err := b.declareParams(); err != nil {
			return nil, fmt.Errorf("matrix unit: %w", err)
		}
	}
	cout := m.OutStream("c_out", hdl.U(cl.next))

	outValid := m.Reg("out_valid_q", hdl.U(1), hdl.ResetTo(0))
	outData := m.Reg("out_data_q", hdl.U(cl.next))
	b.adv = m.Wire("adv", hdl.U(1))
	m.Set(cout.Data, outData)

	var r mxuResult
	if !cfg.Dataflow.IsOS() {
		r = b.buildWS()
	} else {
		r = b.buildOS()
	}

	acc := NewAccumulator(cfg)
	ai := m.Instance("acc", acc.Module)
	ai.In(acc.Adv, b.adv)
	ai.In(acc.PreAddr, r.preAddr)
	ai.In(acc.Valid, r.valid)
	ai.In(acc.Addr, r.addr)
	ai.In(acc.Acc, r.acc)
	ai.In(acc.Last, r.last)
	for j, s := range r.sums {
		ai.In(acc.Sum[j], s)
	}
	parts := []*hdl.Expr{ai.Out(acc.OutAddr)}
	if pipe {
		parts = append([]*hdl.Expr{r.tag}, parts...)
	}
	for j := cfg.Cols - 1; j >= 0; j-- {
		parts = append(parts, ai.Out(acc.Out[j]).AsUnsigned())
	}
	resValid := ai.Out(acc.OutValid)
	m.If(b.adv, func() {
		m.Set(outValid, resValid)
		m.If(resValid, func() { m.Set(outData, hdl.Cat(parts...)) })
	})

	mu := &MatrixUnit{Module: m, Config: cfg, Latency: r.latency + 1}
	mu.Streams = []StreamPort{
		{Name: "w_in", Dir: "in", Valid: "w_in_valid", Ready: "w_in_ready", Data: "w_in_data", Width: b.wl.next, Fields: b.wl.fields},
		{Name: "a_in", Dir: "in", Valid: "a_in_valid", Ready: "a_in_ready", Data: "a_in_data", Width: b.al.next, Fields: b.al.fields},
		{Name: "c_out", Dir: "out", Valid: "c_out_valid", Ready: "c_out_ready", Data: "c_out_data", Width: cl.next, Fields: cl.fields},
	}
	if !pipe {
		m.Set(b.adv, outValid.Not().Or(cout.Ready))
		m.Set(cout.Valid, outValid)
		return mu, nil
	}
	// With a pipeline, each result goes either out raw on c_out (GEMM) or
	// into the requantizer (layers), as its beat's raw flag says.
	outRaw := m.Reg("out_raw_q", hdl.U(1))
	m.If(b.adv.And(resValid), func() { m.Set(outRaw, r.raw) })
	m.Set(cout.Valid, outValid.And(outRaw))
	pipeValid := m.Wire("pipe_valid", hdl.U(1))
	m.Set(pipeValid, outValid.And(outRaw.Not()))
	lanesW := cfg.Cols * cfg.AccBits
	tagF := cl.fields[2]
	pipeData := hdl.Cat(outData.Slice(tagF.LSB+tagF.Width-1, tagF.LSB), outData.Slice(lanesW-1, 0))
	pipeReady, streams, err := b.addPipeline(pipeValid, pipeData)
	if err != nil {
		return nil, fmt.Errorf("matrix unit: %w", err)
	}
	m.Set(b.adv, outValid.Not().Or(hdl.Mux(outRaw, cout.Ready, pipeReady)))
	mu.Streams = append(mu.Streams, streams...)
	return mu, nil
}

// field extracts lane k of the named field from a stream payload.
func (b *mxuBuilder) field(data *hdl.Expr, l *layout, name string, k int) *hdl.Expr {
	for _, f := range l.fields {
		if f.Name == name {
			lo := f.LSB + k*f.Width
			e := data.Slice(lo+f.Width-1, lo)
			if f.Signed {
				e = e.AsSigned()
			}
			return e
		}
	}
	panic("blocks: no payload field " + name) // a tpugen bug, not user input
}

// reg returns a register loaded with e on every advancing cycle.
func (b *mxuBuilder) reg(name string, e *hdl.Expr, opts ...hdl.RegOption) *hdl.Expr {
	r := b.m.Reg(name, e.Shape(), opts...)
	b.m.If(b.adv, func() { b.m.Set(r, e) })
	return r
}

// delay returns e delayed by n advancing cycles (n may be 0). Flags get a
// reset so a restarted unit never sees stale valid bits.
func (b *mxuBuilder) delay(name string, e *hdl.Expr, n int, flag bool) *hdl.Expr {
	for k := 1; k <= n; k++ {
		if flag {
			e = b.reg(fmt.Sprintf("%s_d%d", name, k), e, hdl.ResetTo(0))
		} else {
			e = b.reg(fmt.Sprintf("%s_d%d", name, k), e)
		}
	}
	return e
}

func (b *mxuBuilder) buildWS() mxuResult {
	cfg, m := b.cfg, b.m
	R, C := cfg.Rows, cfg.Cols
	a := b.ain.Data
	first := b.field(a, &b.al, "first", 0)

	// Weight tile sequencing: rows beats fill the shadow registers; the
	// first activation beat of the next tile swaps them in. A new tile may
	// start loading in the cycle its predecessor is swapped in.
	rowBits := max(1, hdl.Clog2(R))
	wrow := m.Reg("w_row", hdl.U(rowBits), hdl.ResetTo(0))
	shadowFull := m.Reg("shadow_full", hdl.U(1), hdl.ResetTo(0))
	aFire := m.Wire("a_fire", hdl.U(1))
	swapNow := m.Wire("swap_now", hdl.U(1))
	wFire := m.Wire("w_fire", hdl.U(1))
	m.Set(b.ain.Ready, b.adv.And(first.Not().Or(shadowFull)).And(b.paramsIdle()))
	m.Set(aFire, b.ain.Valid.And(b.ain.Ready))
	m.Set(swapNow, aFire.And(first))
	m.Set(b.win.Ready, b.adv.And(shadowFull.Not().Or(swapNow)))
	m.Set(wFire, b.win.Valid.And(b.win.Ready))
	wLast := wrow.EqConst(int64(R - 1))
	m.If(wFire, func() {
		m.Set(wrow, hdl.Mux(wLast, m.Const(0, hdl.U(rowBits)), wrow.Add(m.Lit(1, 1)).Trunc(rowBits)))
	})
	m.If(wFire.And(wLast), func() { m.Set(shadowFull, m.Lit(1, 1)) }).
		ElseIf(swapNow, func() { m.Set(shadowFull, m.Lit(0, 1)) })

	// Stage 0: register the accepted beats.
	s0Valid := b.reg("s0_valid", aFire, hdl.ResetTo(0))
	s0Swap := b.reg("s0_swap", swapNow, hdl.ResetTo(0))
	s0Addr := b.reg("s0_addr", b.field(a, &b.al, "addr", 0))
	s0Acc := b.reg("s0_acc", b.field(a, &b.al, "acc", 0))
	s0Last := b.reg("s0_last", b.field(a, &b.al, "last", 0))
	wen := make([]*hdl.Expr, R)
	for i := 0; i < R; i++ {
		wen[i] = b.reg(fmt.Sprintf("w0_wen_%d", i), wFire.And(wrow.EqConst(int64(i))), hdl.ResetTo(0))
	}
	wbus := make([]*hdl.Expr, C)
	for j := 0; j < C; j++ {
		w0 := b.reg(fmt.Sprintf("w0_w_%d", j), b.field(b.win.Data, &b.wl, "weights", j))
		wbus[j] = b.delay(fmt.Sprintf("wskew_%d", j), w0, j, false)
	}

	peTop := NewPEWS(cfg, true)
	var peMid *PEWS
	if R > 1 {
		peMid = NewPEWS(cfg, false)
	}
	sums := make([]*hdl.Expr, C) // out_sum of the PE above, per column
	for i := 0; i < R; i++ {
		// The activation trails its row's swap flag by one cycle, so the swap
		// (end of cycle) lands exactly before the new tile's first product.
		act := b.delay(fmt.Sprintf("askew_%d", i), b.reg(fmt.Sprintf("s0_act_%d", i), b.field(a, &b.al, "acts", i)), i+1, false)
		swap := b.delay(fmt.Sprintf("swskew_%d", i), s0Swap, i, true)
		en := wen[i]
		for j := 0; j < C; j++ {
			pe := peMid
			if i == 0 {
				pe = peTop
			}
			inst := m.Instance(fmt.Sprintf("pe_%d_%d", i, j), pe.Module)
			inst.In(pe.InAct, act)
			inst.In(pe.InSwap, swap)
			inst.In(pe.InWen, en)
			inst.In(pe.InW, wbus[j])
			inst.In(pe.Adv, b.adv)
			if i > 0 {
				inst.In(pe.InSum, sums[j])
			}
			if j < C-1 { // the last column's pass-through outputs go nowhere
				act, swap, en = inst.Out(pe.OutAct), inst.Out(pe.OutSwap), inst.Out(pe.OutWen)
			}
			sums[j] = inst.Out(pe.OutSum)
		}
	}
	T := R + C + 1
	res := mxuResult{latency: T}
	for j := 0; j < C; j++ {
		res.sums = append(res.sums, b.delay(fmt.Sprintf("deskew_%d", j), sums[j], C-1-j, false).Resize(cfg.AccBits))
	}
	res.preAddr = b.delay("ctl_addr", s0Addr, T-2, false)
	res.addr = b.delay("ctl_addr_main", res.preAddr, 1, false)
	res.valid = b.delay("ctl_valid", s0Valid, T-1, true)
	res.acc = b.delay("ctl_acc", s0Acc, T-1, false)
	res.last = b.delay("ctl_last", s0Last, T-1, false)
	if cfg.Pipeline.Enabled() {
		res.tag = b.delay("ctl_tag", b.reg("s0_tag", b.field(a, &b.al, "tag", 0)), T-1, false)
		res.raw = b.delay("ctl_raw", b.reg("s0_raw", b.field(a, &b.al, "raw", 0)), T-1, false)
	}
	return res
}

// paramsIdle is 1 unless parameter words are waiting: activations wait for
// parameters, so a host that sends a set's parameters before the beats
// that use it needs no other synchronisation.
func (b *mxuBuilder) paramsIdle() *hdl.Expr {
	if !b.cfg.Pipeline.Enabled() {
		return b.m.Lit(1, 1)
	}
	return b.pin.Valid.Not()
}

// OSGap is the minimum spacing, in cycles, between the last beats of two OS
// tiles: a tile's results must be read out of the array (one row per
// cycle) before the next tile overwrites them.
func (c MatrixConfig) OSGap() int { return max(c.Rows, c.Cols) }

func (b *mxuBuilder) buildOS() mxuResult {
	cfg, m := b.cfg, b.m
	R, C := cfg.Rows, cfg.Cols
	a, w := b.ain.Data, b.win.Data
	last := b.field(a, &b.al, "last", 0)

	// a_in and w_in fire together. A last beat waits until the previous
	// tile's readout can no longer be disturbed (OSGap).
	gapBits := hdl.BitsFor(cfg.OSGap())
	gap := m.Reg("gap", hdl.U(gapBits), hdl.ResetTo(0))
	ok := m.Wire("beat_ok", hdl.U(1))
	fire := m.Wire("fire", hdl.U(1))
	m.Set(ok, b.adv.And(last.Not().Or(gap.EqConst(0))).And(b.paramsIdle()))
	m.Set(b.ain.Ready, ok.And(b.win.Valid))
	m.Set(b.win.Ready, ok.And(b.ain.Valid))
	m.Set(fire, ok.And(b.ain.Valid).And(b.win.Valid))
	m.If(fire.And(last), func() {
		m.Set(gap, m.Const(int64(cfg.OSGap()-1), hdl.U(gapBits)))
	}).ElseIf(gap.EqConst(0).Not().And(b.adv), func() {
		m.Set(gap, gap.Sub(m.Lit(1, 1)).Trunc(gapBits))
	})

	s0Valid := b.reg("s0_valid", fire, hdl.ResetTo(0))
	s0First := b.reg("s0_first", fire.And(b.field(a, &b.al, "first", 0)), hdl.ResetTo(0))
	s0Last := b.reg("s0_last", fire.And(last), hdl.ResetTo(0))
	s0Addr := b.reg("s0_addr", b.field(a, &b.al, "addr", 0))
	s0Acc := b.reg("s0_acc", b.field(a, &b.al, "acc", 0))

	pe := NewPEOS(cfg)
	wdown := make([]*hdl.Expr, C)
	for j := 0; j < C; j++ {
		w0 := b.reg(fmt.Sprintf("s0_w_%d", j), b.field(w, &b.wl, "weights", j))
		wdown[j] = b.delay(fmt.Sprintf("wskew_%d", j), w0, j, false)
	}
	results := make([][]*hdl.Expr, R)
	for i := 0; i < R; i++ {
		act := b.delay(fmt.Sprintf("askew_%d", i), b.reg(fmt.Sprintf("s0_act_%d", i), b.field(a, &b.al, "acts", i)), i, false)
		valid := b.delay(fmt.Sprintf("vskew_%d", i), s0Valid, i, true)
		first := b.delay(fmt.Sprintf("fskew_%d", i), s0First, i, true)
		lastF := b.delay(fmt.Sprintf("lskew_%d", i), s0Last, i, true)
		for j := 0; j < C; j++ {
			inst := m.Instance(fmt.Sprintf("pe_%d_%d", i, j), pe.Module)
			inst.In(pe.InAct, act)
			inst.In(pe.InW, wdown[j])
			inst.In(pe.InValid, valid)
			inst.In(pe.InFirst, first)
			inst.In(pe.InLast, lastF)
			inst.In(pe.Adv, b.adv)
			if j < C-1 {
				act, valid, first, lastF = inst.Out(pe.OutAct), inst.Out(pe.OutValid), inst.Out(pe.OutFirst), inst.Out(pe.OutLast)
			}
			if i < R-1 {
				wdown[j] = inst.Out(pe.OutW)
			}
			results[i] = append(results[i], inst.Out(pe.Result))
		}
	}

	// Readout: row i of a tile is complete Cols+1+i cycles after its last
	// beat was registered; read one row per cycle.
	trig := b.delay("rd_trig", s0Last, C, true)
	trigAddr := b.delay("rd_trig_addr", s0Addr, C, false)
	trigAcc := b.delay("rd_trig_acc", s0Acc, C, false)
	rowBits := max(1, hdl.Clog2(R))
	rowsW := hdl.BitsFor(R + 1)
	trigRows := b.delay("rd_trig_rows", b.reg("s0_rows", b.field(a, &b.al, "rows", 0)), C, false)
	// The readout stops after row rows-1 (rows 0 is treated as 1).
	lastRow := m.Wire("rd_last_row", hdl.U(rowBits))
	rowsQ := m.Reg("rd_rows", hdl.U(rowsW))
	var trigTag, trigRaw, tagQ, rawQ *hdl.Expr
	if cfg.Pipeline.Enabled() {
		trigTag = b.delay("rd_trig_tag", b.reg("s0_tag", b.field(a, &b.al, "tag", 0)), C, false)
		trigRaw = b.delay("rd_trig_raw", b.reg("s0_raw", b.field(a, &b.al, "raw", 0)), C, false)
		tagQ = m.Reg("rd_tag", trigTag.Shape())
		rawQ = m.Reg("rd_raw", hdl.U(1))
	}
	busy := m.Reg("rd_busy", hdl.U(1), hdl.ResetTo(0))
	row := m.Reg("rd_row", hdl.U(rowBits), hdl.ResetTo(0))
	base := m.Reg("rd_base", hdl.U(b.aw))
	accQ := m.Reg("rd_acc", hdl.U(1))
	curRow := m.Wire("rd_cur_row", hdl.U(rowBits))
	curValid := m.Wire("rd_cur_valid", hdl.U(1))
	curAddr := m.Wire("rd_cur_addr", hdl.U(b.aw))
	curAcc := m.Wire("rd_cur_acc", hdl.U(1))
	m.Set(curRow, hdl.Mux(trig, m.Const(0, hdl.U(rowBits)), row))
	m.Set(curValid, trig.Or(busy))
	m.Set(curAddr, hdl.Mux(trig, trigAddr, base).Add(curRow.Resize(b.aw)).Trunc(b.aw))
	m.Set(curAcc, hdl.Mux(trig, trigAcc, accQ))
	rowsNow := hdl.Mux(trig, trigRows, rowsQ)
	// last row = max(rows, 1) - 1, in the row counter's width
	m.Set(lastRow, hdl.Mux(rowsNow.EqConst(0), m.Const(0, hdl.U(rowsW)), rowsNow.Sub(m.Lit(1, 1)).Trunc(rowsW)).Resize(rowBits))
	m.If(b.adv, func() {
		m.If(trig, func() {
			if R > 1 { // a one-row array never reads out more than one row
				m.Set(busy, trigRows.Gt(m.Const(1, hdl.U(rowsW))))
			} else {
				m.Set(busy, m.Lit(0, 1))
			}
			m.Set(rowsQ, trigRows)
			m.Set(row, m.Const(int64(1%(1<<rowBits)), hdl.U(rowBits)))
			m.Set(base, trigAddr)
			m.Set(accQ, trigAcc)
			if tagQ != nil {
				m.Set(tagQ, trigTag)
				m.Set(rawQ, trigRaw)
			}
		}).ElseIf(busy, func() {
			m.Set(row, row.Add(m.Lit(1, 1)).Trunc(rowBits))
			m.If(row.Eq(lastRow), func() { m.Set(busy, m.Lit(0, 1)) })
		})
	})

	res := mxuResult{latency: C + 2}
	res.preAddr = curAddr
	res.valid = b.reg("rd_valid_q", curValid, hdl.ResetTo(0))
	res.addr = b.reg("rd_addr_q", curAddr)
	res.acc = b.reg("rd_acc_q", curAcc)
	res.last = m.Lit(1, 1)
	if tagQ != nil {
		res.tag = b.reg("rd_tag_q", hdl.Mux(trig, trigTag, tagQ))
		res.raw = b.reg("rd_raw_q", hdl.Mux(trig, trigRaw, rawQ))
	}
	sumS := shapeOf(cfg.SumBits(), cfg.ProductSigned())
	for j := 0; j < C; j++ {
		sel := m.Wire(fmt.Sprintf("rd_sel_%d", j), sumS)
		m.Set(sel, results[0][j])
		if R > 1 {
			m.Switch(curRow, func(sw *hdl.SwitchBuilder) {
				for i := 1; i < R; i++ {
					sw.Case([]int64{int64(i)}, func() { m.Set(sel, results[i][j]) })
				}
			})
		}
		res.sums = append(res.sums, b.reg(fmt.Sprintf("rd_sum_%d", j), sel).Resize(cfg.AccBits))
	}
	return res
}
