package gen_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/gen"
)

// capiCore is the part of a FuseSoC CAPI2 core file the test checks.
type capiCore struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Filesets    map[string]struct {
		Files    []string `yaml:"files"`
		FileType string   `yaml:"file_type"`
	} `yaml:"filesets"`
	Targets map[string]struct {
		DefaultTool string         `yaml:"default_tool"`
		Filesets    []string       `yaml:"filesets"`
		Toplevel    string         `yaml:"toplevel"`
		Tools       map[string]any `yaml:"tools"`
	} `yaml:"targets"`
}

// TestFuseSoCCore checks the generated .core file's CAPI2 structure with
// a YAML parser, and with FuseSoC itself when it is installed.
func TestFuseSoCCore(t *testing.T) {
	for _, cfg := range []gen.Config{gen.DefaultConfig(), {Name: "os_3x2", Rows: 3, Cols: 2, Dataflow: arch.OS, AccDepth: 8}} {
		t.Run(cfg.Name, func(t *testing.T) {
			out, err := gen.Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			names, data, err := out.Files()
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for i, n := range names {
				files[n] = data[i]
			}
			text, ok := files[gen.CoreName(cfg)]
			if !ok {
				t.Fatalf("Files() has no %s: %v", gen.CoreName(cfg), names)
			}
			if !bytes.HasPrefix(text, []byte("CAPI=2:\n")) {
				t.Errorf("the core file must start with CAPI=2:, starts %q", text[:min(len(text), 20)])
			}
			var core capiCore
			if err := yaml.Unmarshal(text, &core); err != nil {
				t.Fatalf("%s is not YAML: %v\n%s", gen.CoreName(cfg), err, text)
			}
			if want := "tpugen:tpu:" + cfg.Name + ":2.0"; core.Name != want {
				t.Errorf("name %q, want %q", core.Name, want)
			}
			if !strings.Contains(core.Description, cfg.Name) {
				t.Errorf("description %q does not name the configuration", core.Description)
			}
			rtl := core.Filesets["rtl"]
			if rtl.FileType != "verilogSource" {
				t.Errorf("rtl file_type %q, want verilogSource", rtl.FileType)
			}
			list := strings.Fields(string(files["files.f"]))
			if strings.Join(rtl.Files, " ") != strings.Join(list, " ") {
				t.Errorf("rtl files %v, want files.f's order %v", rtl.Files, list)
			}
			sdc := core.Filesets["constraints"]
			if sdc.FileType != "SDC" || len(sdc.Files) != 1 || sdc.Files[0] != gen.ConstraintsName(cfg) {
				t.Errorf("constraints fileset %+v", sdc)
			}
			for _, fs := range core.Filesets {
				for _, f := range fs.Files {
					if _, ok := files[f]; !ok {
						t.Errorf("the core lists %s, which is not generated", f)
					}
				}
			}
			def, lint := core.Targets["default"], core.Targets["lint"]
			if def.Toplevel != "tpu_mxu" || len(def.Filesets) == 0 || def.Filesets[0] != "rtl" {
				t.Errorf("default target %+v", def)
			}
			if lint.DefaultTool != "verilator" || lint.Toplevel != "tpu_mxu" || lint.Tools["verilator"] == nil {
				t.Errorf("lint target %+v", lint)
			}
			if c := string(files[gen.ConstraintsName(cfg)]); !strings.Contains(c, "create_clock -name clk -period 10.000 [get_ports clk]") {
				t.Errorf("constraints lack the clock:\n%s", c)
			}

			if _, err := exec.LookPath("fusesoc"); err != nil {
				t.Logf("fusesoc not installed: checked the YAML structure only")
				return
			}
			dir := filepath.Join(t.TempDir(), cfg.Name)
			if err := out.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "fusesoc", "--cores-root", dir, "core-info", core.Name)
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "HOME="+cmd.Dir)
			if msg, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(msg, []byte(cfg.Name)) {
				t.Errorf("fusesoc core-info %s: %v\n%s", core.Name, err, msg)
			}
		})
	}
}
