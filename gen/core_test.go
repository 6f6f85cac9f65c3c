package gen_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/rtltest"
)

// TestCoreRTLIsClean lints the core top like the matrix unit: Verilator
// -Wall silent, Icarus compiles it, and for the shipped core (make lint
// checks tpu_mxu in every rtl-out directory, not tpu_core) Yosys finds no
// latch.
func TestCoreRTLIsClean(t *testing.T) {
	rtltest.RequireTools(t, "verilator", "iverilog", "yosys")
	shipped, err := gen.LoadConfig("../configs/core.json")
	if err != nil {
		t.Fatal(err)
	}
	// The smallest core: no activation unit, no pooling, one-byte rows.
	small := gen.Config{Name: "core_small", Rows: 1, Cols: 3, AccDepth: 4, Requant: true, ParamSets: 2,
		Core: &arch.CoreConfig{UBBytes: 16, WeightBytes: 16}}
	for _, c := range []gen.Config{shipped, small} {
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
			if c.Name != shipped.Name {
				return // Yosys takes the longest: the shipped core is the one synthesized
			}
			script := "read_verilog " + strings.Join(paths, " ") + "; synth -top " + out.Manifest.Top +
				" -run begin:fine; check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*"
			if msg, err := exec.Command("yosys", "-q", "-p", script).CombinedOutput(); err != nil {
				t.Errorf("yosys: %v\n%s", err, msg)
			}
		})
	}
}

// TestCoreManifest checks that the manifest carries the ISA as core.Encode
// gives it, the register map and the core streams, and that the header
// names the opcodes and registers.
func TestCoreManifest(t *testing.T) {
	c := gen.Config{Name: "core_m", Rows: 4, Cols: 4, AccDepth: 16, Requant: true, Core: &arch.CoreConfig{UBBytes: 64, WeightBytes: 16}}
	out, err := gen.Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(out.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	man, err := arch.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if man.Top != "tpu_core" || man.Core == nil || man.Config.Core == nil || man.Config.Core.UBBytes != 64 {
		t.Fatalf("top %q, core %+v, config core %+v", man.Top, man.Core, man.Config.Core)
	}
	var isa core.Encoding
	if err := json.Unmarshal(man.Core.ISA, &isa); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(isa, core.Encode()) {
		t.Error("the manifest's ISA differs from core.Encode()")
	}
	h := string(out.Header())
	for _, want := range []string{"TPU_OP_MATMUL", "TPU_CONVOLVE_WADDR_LSB", "TPU_REG_STATUS ", "TPU_REG_STATUS_CODE_LSB", "TPU_CORE_UB_BYTES"} {
		if !strings.Contains(h, want) {
			t.Errorf("header has no %s", want)
		}
	}
}

// TestCoreConfigErrors: bad core sizes give one clear line.
func TestCoreConfigErrors(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"name":"c","rows":4,"cols":4,"requant":true,"core":{"ub_bytes":100,"weight_bytes":64}}`, "ub_bytes 100 must be a multiple of 8"},
		{`{"name":"c","rows":4,"cols":4,"requant":true,"core":{"ub_bytes":0,"weight_bytes":64}}`, "unified buffer 0"},
		{`{"name":"c","rows":4,"cols":4,"core":{"ub_bytes":64,"weight_bytes":64}}`, "needs the pipeline"},
		{`{"name":"c","rows":4,"cols":4,"dataflow":"os","requant":true,"core":{"ub_bytes":64,"weight_bytes":64}}`, "weight-stationary"},
		{`{"name":"c","rows":4,"cols":4,"requant":true,"core":{"ub_bytes":64,"weight_byte":64}}`, "unknown key"},
	}
	for _, tc := range cases {
		_, err := gen.ParseConfig([]byte(tc.json), "c.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line with %q", tc.json, err, tc.want)
		}
	}
}
