package blocks

import "github.com/tpugen/tpugen/hdl"

// creditOut is the output side of a matrix unit with stall "credit": the
// array and the accumulator never stop, so each result goes into a FIFO
// (out_fifo) that replaces the output register, and a beat that makes a
// result (last) enters the array only while the FIFO has room for it and
// for every result still on its way there (credit_ok, from registers
// only). The FIFO holds latency+1 results, so a sink that takes every
// result at once never sees a credit refused, and the timing is the same
// as with the stall enable: a result is on c_out (or at the pipeline) the
// cycle after the accumulator makes it.
func (b *mxuBuilder) creditOut(mu *MatrixUnit, cout hdl.Stream, cl cOutPayload, resValid, item, raw *hdl.Expr, latency int) (*MatrixUnit, error) {
	m, cfg := b.m, b.cfg
	pipe := cfg.Pipeline.Enabled()
	if pipe {
		item = hdl.Cat(raw, item)
	}
	depth := latency + 1
	f, err := NewFIFO(FIFOConfig{Depth: depth, Width: item.Width()})
	if err != nil {
		return nil, err
	}
	fi := m.Instance("out_fifo", f.Module)
	fi.In(f.In.Valid, resValid)
	fi.In(f.In.Data, item)
	outValid, outData := fi.Out(f.Out.Valid), fi.Out(f.Out.Data)
	outReady := m.Wire("out_ready", hdl.U(1))
	fi.In(f.Out.Ready, outReady)

	// Credits: results on their way (beats with last taken, not yet in the
	// FIFO) and results in the FIFO.
	cw := hdl.BitsFor(2*depth + 1)
	flight := m.Reg("credit_flight", hdl.U(cw), hdl.ResetTo(0))
	held := m.Reg("credit_held", hdl.U(cw), hdl.ResetTo(0))
	take := b.ain.Valid.And(b.ain.Ready).And(b.al.last.of(b.ain.Data))
	pop := outValid.And(outReady)
	step := func(r, up, down *hdl.Expr) {
		m.If(up.And(down.Not()), func() { m.Set(r, r.Add(m.Lit(1, 1)).Trunc(cw)) }).
			ElseIf(down.And(up.Not()), func() { m.Set(r, r.Sub(m.Lit(1, 1)).Trunc(cw)) })
	}
	step(flight, take, resValid)
	step(held, resValid, pop)
	total := flight.Add(held).Trunc(cw)
	m.Set(b.credit, total.Lt(m.Const(int64(depth), total.Shape())))

	mu.Streams = b.streams(cl)
	body := outData
	if pipe {
		body = outData.Slice(cl.next-1, 0)
	}
	m.Set(cout.Data, gated(m, outValid, body))
	if !pipe {
		m.Set(cout.Valid, outValid)
		m.Set(outReady, cout.Ready)
		return mu, nil
	}
	// Each result goes out raw on c_out (GEMM) or into the requantizer.
	outRaw := outData.Bit(cl.next)
	m.Set(cout.Valid, outValid.And(outRaw))
	pipeValid := m.Wire("pipe_valid", hdl.U(1))
	m.Set(pipeValid, outValid.And(outRaw.Not()))
	pipeReady, streams, err := b.addPipeline(pipeValid, hdl.Cat(cl.tag.bits(body), cl.sums.bits(body)))
	if err != nil {
		return nil, err
	}
	m.Set(outReady, hdl.Mux(outRaw, cout.Ready, pipeReady))
	mu.Streams = append(mu.Streams, streams...)
	return mu, nil
}
