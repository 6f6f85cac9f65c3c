package blocks_test

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/hdl"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify/sim"
)

// fifoCase is one FIFO under stress: its size, how many payloads go through
// and how often each side stalls.
type fifoCase struct {
	cfg                 blocks.FIFOConfig
	n                   int
	srcStall, sinkStall float64
}

// fifoCases covers depths 1, 4 and 5 with widths 1, 16 and 100. The first is
// the main configuration with 10,000 transfers; stall rates vary so that
// some FIFOs mostly run full and others mostly empty.
var fifoCases = []fifoCase{
	{cfg: blocks.FIFOConfig{Depth: 4, Width: 16}, n: 10000, srcStall: 0.3, sinkStall: 0.4},
	{cfg: blocks.FIFOConfig{Depth: 1, Width: 1}, n: 600, srcStall: 0.2, sinkStall: 0.2},
	{cfg: blocks.FIFOConfig{Depth: 1, Width: 16}, n: 600, srcStall: 0.6, sinkStall: 0.1},
	{cfg: blocks.FIFOConfig{Depth: 1, Width: 100}, n: 600, srcStall: 0.1, sinkStall: 0.6},
	{cfg: blocks.FIFOConfig{Depth: 4, Width: 1}, n: 600, srcStall: 0.5, sinkStall: 0.5},
	{cfg: blocks.FIFOConfig{Depth: 4, Width: 100}, n: 600, srcStall: 0.05, sinkStall: 0.7},
	{cfg: blocks.FIFOConfig{Depth: 5, Width: 1}, n: 600, srcStall: 0.7, sinkStall: 0.05},
	{cfg: blocks.FIFOConfig{Depth: 5, Width: 16}, n: 600, srcStall: 0.4, sinkStall: 0.4},
	{cfg: blocks.FIFOConfig{Depth: 5, Width: 100}, n: 600, srcStall: 0.1, sinkStall: 0.8},
}

// fifoStress is the stimulus of a stress run over several FIFOs, one source
// and one sink stream each, plus the expectations.
type fifoStress struct {
	cases    []fifoCase
	payloads [][]*big.Int
	stim     *sim.Stimulus
}

func newFIFOStress(cases []fifoCase, seed uint64) *fifoStress {
	s := &fifoStress{cases: cases, stim: &sim.Stimulus{}}
	r := rand.New(rand.NewPCG(seed, 1))
	for k, fc := range cases {
		p := randPayloads(r, fc.n, fc.cfg.Width)
		s.payloads = append(s.payloads, p)
		// Stalls stop well before verify's own horizon, which is at least
		// 8 cycles per payload: both then agree on every cycle.
		horizon := 4 * fc.n
		s.stim.Sources = append(s.stim.Sources, p)
		s.stim.SourceStall = append(s.stim.SourceStall, stallPattern(seed*100+uint64(2*k), fc.srcStall, horizon))
		s.stim.SinkStall = append(s.stim.SinkStall, stallPattern(seed*100+uint64(2*k+1), fc.sinkStall, horizon))
		s.stim.Expect = append(s.stim.Expect, fc.n)
	}
	return s
}

// fifosTop places one FIFO per case side by side, with ports f<k>_in_* and
// f<k>_out_*; build makes each FIFO (the real block or a mutant).
func fifosTop(name string, cases []fifoCase, build func(blocks.FIFOConfig) *hdl.Module) *hdl.Module {
	top := hdl.NewModule(name)
	for k, fc := range cases {
		rtltest.ExposePorts(top, top.Instance(fmt.Sprintf("u%d", k), build(fc.cfg)), fmt.Sprintf("f%d_", k))
	}
	return top
}

func fifoVerifyTop(e *rtltest.Emitted, cases []fifoCase) *sim.Top {
	top := e.VerifyTop()
	for k := range cases {
		top.Sources = append(top.Sources, rtltest.StreamNamed(fmt.Sprintf("f%d_in", k)))
		top.Sinks = append(top.Sinks, rtltest.StreamNamed(fmt.Sprintf("f%d_out", k)))
	}
	return top
}

// check is the stress checker: for every FIFO it reports payloads lost,
// duplicated, reordered or corrupted, transfers in stalled cycles, and any
// cycle where the FIFO's handshakes differ from the documented behaviour
// (in_ready while not full, out_valid while not empty, a payload readable
// the cycle after it was written). It returns the problems found.
func (s *fifoStress) check(res *sim.Result) []string {
	var problems []string
	for k, fc := range s.cases {
		name := fmt.Sprintf("fifo %d (depth %d, width %d)", k, fc.cfg.Depth, fc.cfg.Width)
		for _, p := range checkPayloads(s.payloads[k], res.Sinks[k]) {
			problems = append(problems, name+": "+p)
		}
		srcStall, sinkStall := s.stim.SourceStall[k], s.stim.SinkStall[k]
		for i, c := range res.Sources[k] {
			if srcStall(c) {
				problems = append(problems, fmt.Sprintf("%s: payload %d accepted in cycle %d while the source was stalled", name, i, c))
				break
			}
		}
		for i, b := range res.Sinks[k] {
			if sinkStall(b.Cycle) {
				problems = append(problems, fmt.Sprintf("%s: beat %d delivered in cycle %d while the sink was stalled", name, i, b.Cycle))
				break
			}
		}
		wantAcc, wantBeats := fifoModel(fc.cfg.Depth, fc.n, srcStall, sinkStall)
		if p := firstCycleDiff("accepted", wantAcc, res.Sources[k]); p != "" {
			problems = append(problems, name+": "+p)
		}
		var beats []int
		for _, b := range res.Sinks[k] {
			beats = append(beats, b.Cycle)
		}
		if p := firstCycleDiff("delivered", wantBeats, beats); p != "" {
			problems = append(problems, name+": "+p)
		}
	}
	return problems
}

// checkPayloads compares the delivered payloads with the sent ones and
// names the first difference.
func checkPayloads(sent []*big.Int, got []sim.Beat) []string {
	index := map[string]int{}
	for i := len(sent) - 1; i >= 0; i-- {
		index[sent[i].String()] = i
	}
	for i := 0; i < min(len(sent), len(got)); i++ {
		if got[i].Data.Cmp(sent[i]) == 0 {
			continue
		}
		j, known := index[got[i].Data.String()]
		what := "corrupted"
		switch {
		case known && j < i:
			what = fmt.Sprintf("duplicated: payload %d again", j)
		case known && j > i:
			what = fmt.Sprintf("reordered or lost: payload %d came instead", j)
		}
		return []string{fmt.Sprintf("beat %d (cycle %d) is %#x, want payload %d = %#x: %s", i, got[i].Cycle, got[i].Data, i, sent[i], what)}
	}
	switch {
	case len(got) < len(sent):
		return []string{fmt.Sprintf("lost: %d of %d payloads delivered", len(got), len(sent))}
	case len(got) > len(sent):
		return []string{fmt.Sprintf("duplicated: %d beats for %d payloads", len(got), len(sent))}
	}
	return nil
}

// fifoModel returns the cycles in which a FIFO of the given depth accepts
// and delivers each of n payloads, following its documented handshake.
func fifoModel(depth, n int, srcStall, sinkStall func(int) bool) (acc, beats []int) {
	count := 0
	for c := 0; len(beats) < n; c++ {
		inFire := len(acc) < n && !srcStall(c) && count != depth
		outFire := count != 0 && !sinkStall(c)
		if inFire {
			acc = append(acc, c)
			count++
		}
		if outFire {
			beats = append(beats, c)
			count--
		}
	}
	return acc, beats
}

func firstCycleDiff(what string, want, got []int) string {
	for i := 0; i < min(len(want), len(got)); i++ {
		if want[i] != got[i] {
			return fmt.Sprintf("payload %d %s in cycle %d, the FIFO model says %d", i, what, got[i], want[i])
		}
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%d payloads %s, the FIFO model says %d", len(got), what, len(want))
	}
	return ""
}

func realFIFO(t *testing.T) func(blocks.FIFOConfig) *hdl.Module {
	return func(cfg blocks.FIFOConfig) *hdl.Module {
		f, err := blocks.NewFIFO(cfg)
		must(t, err)
		return f.Module
	}
}

// TestFIFO pushes payloads through FIFOs of depths 1, 4 and 5 and widths 1,
// 16 and 100, with random stalls on both sides, in both simulators (10,000
// transfers through the main 4×16 configuration): nothing may be lost,
// duplicated or reordered, and every handshake must follow the FIFO model.
func TestFIFO(t *testing.T) {
	t.Parallel()
	e := rtltest.Build(t, fifosTop("fifos_tb", fifoCases, realFIFO(t)))
	rtltest.CheckTools(t, e)
	s := newFIFOStress(fifoCases, 7)
	runBoth(t, fifoVerifyTop(e, fifoCases), s.stim, func(t *testing.T, res *sim.Result) {
		for _, p := range s.check(res) {
			t.Error(p)
		}
		t.Logf("%d transfers through %d FIFOs in %d cycles", total(fifoCases), len(fifoCases), res.Cycles)
	})
}

func total(cases []fifoCase) int {
	n := 0
	for _, c := range cases {
		n += c.n
	}
	return n
}

// buildFIFOVariant is a test-only copy of blocks.NewFIFO in which the read
// and write pointers wrap after wrapAt (Depth-1 in the real block). With
// wrapAt = Depth-1 it must emit exactly the block's Verilog (see
// TestFIFOVariantIsFaithful), so a mutant differs from the block in nothing
// but its mutation.
func buildFIFOVariant(cfg blocks.FIFOConfig, wrapAt int) *hdl.Module {
	m := hdl.NewModule(fmt.Sprintf("fifo_d%d_w%d", cfg.Depth, cfg.Width))
	in, out := m.InStream("in", hdl.U(cfg.Width)), m.OutStream("out", hdl.U(cfg.Width))
	pw := max(1, hdl.Clog2(cfg.Depth))
	cw := hdl.BitsFor(cfg.Depth + 1)
	wptr := m.Reg("wptr", hdl.U(pw), hdl.ResetTo(0))
	rptr := m.Reg("rptr", hdl.U(pw), hdl.ResetTo(0))
	count := m.Reg("count", hdl.U(cw), hdl.ResetTo(0))
	slots := make([]*hdl.Expr, cfg.Depth)
	for i := range slots {
		slots[i] = m.Reg(fmt.Sprintf("slot_%d", i), hdl.U(cfg.Width))
	}
	next := func(p *hdl.Expr) *hdl.Expr {
		return hdl.Mux(p.EqConst(int64(wrapAt)), m.Const(0, hdl.U(pw)), p.Add(m.Lit(1, 1)).Trunc(pw))
	}
	inFire := m.Wire("in_fire", hdl.U(1))
	outFire := m.Wire("out_fire", hdl.U(1))
	m.Set(in.Ready, count.Ne(m.Const(int64(cfg.Depth), hdl.U(cw))))
	m.Set(out.Valid, count.Ne(m.Const(0, hdl.U(cw))))
	m.Set(inFire, in.Fire())
	m.Set(outFire, out.Fire())
	m.If(inFire, func() {
		m.Set(wptr, next(wptr))
		m.Switch(wptr, func(sw *hdl.SwitchBuilder) {
			for i, s := range slots {
				sw.Case([]int64{int64(i)}, func() { m.Set(s, in.Data) })
			}
		})
	})
	m.If(outFire, func() { m.Set(rptr, next(rptr)) })
	m.If(inFire.And(outFire.Not()), func() {
		m.Set(count, count.Add(m.Lit(1, 1)).Trunc(cw))
	}).ElseIf(outFire.And(inFire.Not()), func() {
		m.Set(count, count.Sub(m.Lit(1, 1)).Trunc(cw))
	})
	m.Set(out.Data, slots[0])
	if cfg.Depth > 1 {
		m.Switch(rptr, func(sw *hdl.SwitchBuilder) {
			for i := 1; i < cfg.Depth; i++ {
				sw.Case([]int64{int64(i)}, func() { m.Set(out.Data, slots[i]) })
			}
		})
	}
	return m
}

func emitBytes(t *testing.T, m *hdl.Module) []byte {
	t.Helper()
	files, err := gen.EmitVerilog(rtltest.Elaborate(t, m), gen.EmitOptions{})
	must(t, err)
	var b bytes.Buffer
	for _, f := range files {
		b.Write(f.Text)
	}
	return b.Bytes()
}

// TestFIFOVariantIsFaithful checks that the mutant builder, unmutated, is the
// real FIFO.
func TestFIFOVariantIsFaithful(t *testing.T) {
	for _, cfg := range []blocks.FIFOConfig{{Depth: 1, Width: 1}, {Depth: 4, Width: 16}, {Depth: 5, Width: 100}} {
		f, err := blocks.NewFIFO(cfg)
		must(t, err)
		if !bytes.Equal(emitBytes(t, f.Module), emitBytes(t, buildFIFOVariant(cfg, cfg.Depth-1))) {
			t.Errorf("%+v: the test copy of NewFIFO emits different Verilog from the block", cfg)
		}
	}
}

// TestFIFOMutantIsCaught runs the stress checker on a FIFO whose pointers
// wrap one entry early, so that it overwrites an unread slot whenever it
// fills up. The checker must report lost or reordered payloads in both
// simulators; if it did not, TestFIFO would prove little.
func TestFIFOMutantIsCaught(t *testing.T) {
	t.Parallel()
	cases := []fifoCase{fifoCases[0]}
	cases[0].n = 2000
	top := fifosTop("fifo_mutant_tb", cases, func(cfg blocks.FIFOConfig) *hdl.Module {
		return buildFIFOVariant(cfg, cfg.Depth-2)
	})
	e := rtltest.Build(t, top)
	s := newFIFOStress(cases, 7)
	for _, sim := range rtltest.Simulators(t) {
		t.Run(sim.Name(), func(t *testing.T) {
			res, err := rtltest.Run(t, sim, fifoVerifyTop(e, cases), s.stim)
			if err != nil {
				t.Fatalf("the mutant should run to the end and deliver wrong data: %v", err)
			}
			problems := s.check(res)
			if len(problems) == 0 {
				t.Fatal("the stress checker passed a FIFO that overwrites unread entries")
			}
			if !strings.Contains(problems[0], "lost") && !strings.Contains(problems[0], "reordered") && !strings.Contains(problems[0], "duplicated") {
				t.Errorf("first problem does not name lost, duplicated or reordered payloads: %s", problems[0])
			}
			t.Logf("caught: %s", problems[0])
		})
	}
}
