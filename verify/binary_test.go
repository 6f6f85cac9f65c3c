package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// binaryConfigs are binary (mac "xnor") units: WS with K padding (4 rows)
// and the pipeline, OS, and 4-bit lanes.
var binaryConfigs = []gen.Config{
	{Name: "bin_ws_4x3", Rows: 4, Cols: 3, MAC: arch.XnorMAC, AccDepth: 32, Requant: true},
	{Name: "bin_os_3x2", Rows: 3, Cols: 2, Dataflow: arch.OS, MAC: arch.XnorMAC, AccDepth: 16},
	{Name: "bin_ws_2x2_b4", Rows: 2, Cols: 2, MAC: arch.XnorMAC, InputBits: 4, WeightBits: 4, AccDepth: 16, AccBits: 12},
}

// TestBinaryUnit runs GEMMs of packed {-1, +1} lanes (and, with the
// pipeline, binary fully connected layers) on binary units in both
// simulators against the golden model's XNOR-popcount dot products.
func TestBinaryUnit(t *testing.T) {
	for _, cfg := range binaryConfigs {
		t.Run(cfg.Name, func(t *testing.T) {
			man, dir := genRTL(t, cfg)
			layers := 0
			if cfg.Requant {
				layers = 3
			}
			var log bytes.Buffer
			rep, err := verify.Regress(context.Background(), man, dir, verify.RegressOptions{
				Sims: sims(t, "icarus", "verilator"), Cases: 6, Layers: layers, Seed: *regressSeed, Only: -1,
				Repro: fmt.Sprintf("go test ./verify -run 'TestBinaryUnit/%s$' -regress-seed", cfg.Name), Log: &log,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed > 0 {
				t.Fatalf("%d of %d cases failed (seed %d):\n%s", rep.Failed, rep.Cases, *regressSeed, log.String())
			}
		})
	}
}

// TestBinaryPEMutantIsCaught breaks the binary PE's dot product (the
// offset n of 2*popcount - n, and xnor turned into xor) and checks that the
// regression sees it in both simulators.
func TestBinaryPEMutantIsCaught(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		sims           []string
	}{
		{"offset", "- 5'h8)", "- 5'h7)", []string{"icarus", "verilator"}},
		{"xor", "(~(in_act ^ weight))", "(in_act ^ weight)", []string{"icarus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			man, dir := genRTL(t, gen.Config{Name: "bin_mut", Rows: 2, Cols: 2, MAC: arch.XnorMAC, AccDepth: 16})
			path := filepath.Join(dir, "pe_ws_as8_ws8_s6_xnor.v") // the second row's PEs
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), tc.from) {
				t.Fatalf("%s has no %q to mutate", path, tc.from)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(src), tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, s := range sims(t, tc.sims...) {
				rep, err := verify.Regress(context.Background(), man, dir, verify.RegressOptions{
					Sims: []sim.Simulator{s}, Cases: 4, Seed: *regressSeed, Only: -1,
				})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Mismatches == 0 {
					t.Errorf("%s: the mutated binary PE passed the regression", s.Name())
				}
			}
		})
	}
}

// TestBinaryZeroWeightTile runs a binary layer whose weight lanes are all
// 0: 8 values of -1 each, not zeros, so no weight tile may be skipped as
// an all-zero one.
func TestBinaryZeroWeightTile(t *testing.T) {
	man, dir := genRTL(t, binaryConfigs[0])
	const batch, lanes, units = 3, 8, 3
	in := make([]int8, batch*lanes)
	for i := range in {
		in[i] = int8(37*i + 5)
	}
	one, shift := quant.QuantizeMultiplier(1)
	l := &compile.Layer{Kind: compile.FC, Input: in, InShape: quant.Shape{N: batch, H: 1, W: 1, C: lanes},
		Weights: make([]int8, units*lanes), WeightShape: quant.Shape{N: units, H: 1, W: 1, C: lanes},
		Bias: make([]int32, units), Requant: compile.Requant{Multipliers: []int32{one, one, one}, Shifts: []int{shift, shift, shift}}}
	want, _, err := verify.LayerReference(man.Config, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sims(t, "icarus", "verilator") {
		r, err := verify.RunLayer(context.Background(), s, man, dir, l, verify.GEMMOptions{})
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		for i := range want {
			if r.Output[i] != want[i] {
				t.Fatalf("%s: output %d is %d, want %d (all outputs %v, want %v)", s.Name(), i, r.Output[i], want[i], r.Output, want)
			}
		}
	}
}
