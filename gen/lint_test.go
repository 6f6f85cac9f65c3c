package gen_test

import (
	"github.com/tpugen/tpugen/arch"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/rtltest"
)

// TestMatrixUnitRTLIsClean lints the generated matrix unit, with and without
// the pipeline, across the size range, both multiply-accumulate forms and
// with MAC stages and in the carry-save form:
// Verilator -Wall prints nothing, Icarus compiles it without a warning, and
// Yosys's coarse synthesis (where latches would appear) finds none. make
// lint runs the same checks on rtl-out and the 64x64 extreme.
func TestMatrixUnitRTLIsClean(t *testing.T) {
	rtltest.RequireTools(t, "verilator", "iverilog", "yosys")
	configs := []gen.Config{
		gen.DefaultConfig(),
		{Name: "os_1x1", Rows: 1, Cols: 1, Dataflow: arch.OS, AccDepth: 2},
		{Name: "ws_3x5_fused", Rows: 3, Cols: 5, AccDepth: 8, MAC: arch.FusedMAC, Requant: true, Rounding: arch.SingleRounding, Activation: arch.TableActivation, ParamSets: 2},
		{Name: "os_5x3_u16", Rows: 5, Cols: 3, Dataflow: arch.OS, InputBits: 16, WeightBits: 16, AccBits: 48, AccDepth: 8},
		// Register stages in the multiply-accumulate paths (mac_stages).
		{Name: "ws_4x3_p2_pipe", Rows: 4, Cols: 3, AccDepth: 8, MACStages: 2, Requant: true, Activation: arch.AllActivations, Pool: true},
		{Name: "os_3x2_s4_p1", Rows: 3, Cols: 2, Dataflow: arch.OS, InputBits: 4, WeightBits: 4, AccDepth: 8, MACStages: 1},
		{Name: "ws_1x1_p1", Rows: 1, Cols: 1, AccDepth: 2, MACStages: 1},
		// The carry-save gate form (mac "csa"): signed, unsigned and mixed
		// operands of each width, the narrowest accumulator it accepts.
		{Name: "ws_3x2_csa", Rows: 3, Cols: 2, AccDepth: 8, MAC: arch.CSAMAC, Requant: true, ParamSets: 2},
		{Name: "os_2x3_csa_u4s8", Rows: 2, Cols: 3, Dataflow: arch.OS, InputBits: 4, InputSigned: new(bool), WeightBits: 8, AccBits: 13, AccDepth: 4, MAC: arch.CSAMAC},
		{Name: "ws_2x2_csa_u16", Rows: 2, Cols: 2, InputBits: 16, InputSigned: new(bool), WeightBits: 16, WeightSigned: new(bool), AccBits: 33, AccDepth: 4, MAC: arch.CSAMAC},
	}
	for _, c := range configs {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			out, err := gen.Generate(c)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), c.Name)
			if err := out.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range out.Verilog {
				paths = append(paths, filepath.Join(dir, f.Name))
			}
			if err := rtltest.LintVerilator(out.Manifest.Top, paths); err != nil {
				t.Error(err)
			}
			if err := rtltest.CompileIcarus(out.Manifest.Top, paths); err != nil {
				t.Error(err)
			}
			script := "read_verilog " + strings.Join(paths, " ") + "; synth -top " + out.Manifest.Top +
				" -run begin:fine; check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*"
			if msg, err := exec.Command("yosys", "-q", "-p", script).CombinedOutput(); err != nil {
				t.Errorf("yosys: %v\n%s", err, msg)
			}
		})
	}
}
