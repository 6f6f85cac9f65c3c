package verify_test

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// brokenRTL generates cfg into a fresh directory and breaks one stream.
func brokenRTL(t *testing.T, cfg gen.Config, stream string, m rtltest.Misbehaviour, field string) (*arch.Manifest, string) {
	t.Helper()
	out, err := gen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), cfg.Name)
	if err := out.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	man, err := arch.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	rtltest.Misbehave(t, dir, man, stream, m, field)
	return man, dir
}

// TestUntrustedDesign runs GEMMs and layers on designs that misbehave on
// their result streams: every misbehaviour is a failed run with a message
// naming the stream, the beat and the cycle, never a panic.
func TestUntrustedDesign(t *testing.T) {
	cfg := gen.Config{Name: "untrusted", Rows: 2, Cols: 2, AccDepth: 16, Requant: true, ParamSets: 2}
	r := rand.New(rand.NewPCG(3, 5))
	a, b := randMatrix(r, 5, 3, 8, true), randMatrix(r, 3, 3, 8, true)
	layer := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: 5, H: 1, W: 1, C: 3}, Input: randInt8s(r, 15, -128, 127),
		WeightShape: quant.Shape{N: 3, H: 1, W: 1, C: 3}, Weights: randInt8s(r, 9, -127, 127),
		Bias: randBias(r, 3), Requant: randOutputStage(r, 3, false)}
	for _, tc := range []struct {
		name   string
		sim    string
		stream string
		m      rtltest.Misbehaviour
		field  string
		want   []string // substrings of the error
		design bool     // a *verify.DesignError
	}{
		{"extra beat", "verilator", arch.StreamC, rtltest.ExtraBeat, "", []string{"c_out beat 10", "the RTL sent 11 result beats, the plan expects 10"}, true},
		{"beat after the end", "verilator", arch.StreamC, rtltest.LateBeat, "", []string{"the RTL sent 11 result beats, the plan expects 10"}, true},
		{"missing beat", "verilator", arch.StreamC, rtltest.DropBeat, "", []string{"cycle limit", `sink "c_out" got 9 of 10 beats`}, false},
		{"wrong address", "verilator", arch.StreamC, rtltest.FlipField, "addr", []string{"c_out beat 0 (cycle", "carries accumulator address 1, want 0"}, true},
		{"x on a payload", "icarus", arch.StreamC, rtltest.XField, "sums", []string{"x"}, false},
		{"wrong tag", "verilator", arch.StreamY, rtltest.FlipField, "tag", []string{"y_out beat 0 (cycle", "carries parameter-set tag 1, want 0"}, true},
		{"extra layer beat", "verilator", arch.StreamY, rtltest.ExtraBeat, "", []string{"y_out beat 10", "the RTL sent 11 result beats, the plan expects 10"}, true},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			s := sims(t, tc.sim)[0]
			man, dir := brokenRTL(t, cfg, tc.stream, tc.m, tc.field)
			var err error
			if tc.stream == arch.StreamY {
				_, err = verify.RunLayer(context.Background(), s, man, dir, layer, verify.GEMMOptions{})
			} else {
				_, err = verify.RunGEMM(context.Background(), s, man, dir, a, b, verify.GEMMOptions{})
			}
			if err == nil {
				t.Fatal("the broken design passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var de *verify.DesignError
			if errors.As(err, &de) != tc.design {
				t.Errorf("error %q: DesignError %v, want %v", err, !tc.design, tc.design)
			}
		})
	}
}

// TestLingerRecordsLateBeats checks the simulator side of the above: beats
// a design sends after the run is done are recorded while the run lingers,
// and Result.Cycles still ends where the streams were done.
func TestLingerRecordsLateBeats(t *testing.T) {
	cfg := gen.Config{Name: "linger", Rows: 2, Cols: 2, AccDepth: 16}
	man, dir := brokenRTL(t, cfg, arch.StreamC, rtltest.LateBeat, "")
	r := rand.New(rand.NewPCG(1, 2))
	plan, err := compile.PlanGEMM(man, randMatrix(r, 1, 2, 8, true), randMatrix(r, 2, 2, 8, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sims(t, "icarus", "verilator") {
		top := verify.SimTop(man, dir)
		stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: plan.W, arch.StreamA: plan.A}, nil, map[string]int{arch.StreamC: 1})
		res0, err := s.Run(context.Background(), top, stim, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		stim.Linger = 100
		res, err := s.Run(context.Background(), top, stim, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		k := top.SinkIndex(arch.StreamC)
		if len(res0.Sinks[k]) != 1 || len(res.Sinks[k]) != 2 || res.Cycles != res0.Cycles {
			t.Errorf("%s: without linger %d beats in %d cycles; with linger %d beats in %d cycles; want 1, 2 and the same cycles",
				s.Name(), len(res0.Sinks[k]), res0.Cycles, len(res.Sinks[k]), res.Cycles)
		}
		if len(res.Sinks[k]) == 2 && res.Sinks[k][1].Cycle <= res.Cycles {
			t.Errorf("%s: the late beat came at cycle %d, inside the %d-cycle run", s.Name(), res.Sinks[k][1].Cycle, res.Cycles)
		}
	}
}
