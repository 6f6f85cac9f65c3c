package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		desc, json, want string
	}{
		{"unknown key", `{"name": "x", "rows": 2, "colz": 2}`, `unknown key "colz" (did you mean "cols"?)`},
		{"wrong type", `{"name": "x", "rows": "8", "cols": 2}`, `key "rows": got a JSON string, want int`},
		{"malformed", `{"name": "x", "rows": 2,`, "malformed JSON"},
		{"empty", ``, "empty file"},
		{"trailing", `{"name": "x", "rows": 2, "cols": 2} {}`, "trailing data"},
		{"zero rows", `{"name": "x", "rows": 0, "cols": 2}`, "rows 0 must be in [1, 256]"},
		{"bad dataflow", `{"name": "x", "rows": 2, "cols": 2, "dataflow": "is"}`, `dataflow "is" must be "ws" or "os"`},
		{"bad bits", `{"name": "x", "rows": 2, "cols": 2, "input_bits": 7}`, "input_bits 7 must be 4, 8 or 16"},
		{"bad name", `{"name": "X Y", "rows": 2, "cols": 2}`, `name "X Y" must be lower case`},
		{"pool without requant", `{"name": "x", "rows": 2, "cols": 2, "pool": true}`, "activation and pool need requant: true"},
		{"requant on unsigned", `{"name": "x", "rows": 2, "cols": 2, "requant": true, "input_signed": false, "weight_signed": false}`, "requant needs signed 32-bit accumulators"},
		{"param sets", `{"name": "x", "rows": 2, "cols": 2, "requant": true, "param_sets": 3}`, "param_sets must be a power of two"},
		{"mac stages", `{"name": "x", "rows": 2, "cols": 2, "mac_stages": 3}`, "mac_stages 3 must be in [0, 2]"},
		{"negative mac stages", `{"name": "x", "rows": 2, "cols": 2, "mac_stages": -1}`, "mac_stages -1 must be in [0, 2]"},
		{"fused with stages", `{"name": "x", "rows": 2, "cols": 2, "mac": "fused", "mac_stages": 1}`, `mac "fused" and mac_stages 1 exclude each other`},
		{"stall mode", `{"name": "x", "rows": 2, "cols": 2, "stall": "wait"}`, `stall "wait" must be "enable" or "credit"`},
		{"credit os", `{"name": "x", "rows": 2, "cols": 2, "dataflow": "os", "stall": "credit"}`, `stall "credit" needs the ws dataflow`},
		{"two problems", `{"name": "x", "rows": 0, "cols": 0}`, "rows 0 must be in [1, 256]; cols 0 must be in [1, 256]"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.json), "c.json")
			if err == nil {
				t.Fatalf("ParseConfig succeeded; want an error containing %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "config c.json: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the source and containing %q", msg, tc.want)
			}
		})
	}
}

// The shipped default file and the embedded default must be the same
// configuration, so `make demo` and `make rtl` agree byte for byte.
func TestDefaultConfigMatchesFile(t *testing.T) {
	c, err := LoadConfig(filepath.Join("..", "configs", "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(DefaultConfig(), c); d != "" {
		t.Errorf("configs/default.json differs from DefaultConfig (-embedded +file):\n%s", d)
	}
}

func TestShippedConfigsGenerate(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "configs", "*.json"))
	if len(paths) < 3 {
		t.Fatalf("found %d shipped configurations, want default, small and large", len(paths))
	}
	for _, p := range paths {
		c, err := LoadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Generate(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Design.Warnings) > 0 {
			t.Errorf("%s: elaboration warnings:\n%s", p, a.Design.Warnings)
		}
		b, _ := Generate(c)
		na, da, _ := a.Files()
		nb, db, _ := b.Files()
		if !cmp.Equal(na, nb) || !cmp.Equal(da, db) {
			t.Errorf("%s: generating twice gave different output", p)
		}
	}
}

func TestWriteDirIsAtomicAndCareful(t *testing.T) {
	out, err := Generate(Config{Name: "tiny", Rows: 1, Cols: 1, AccDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rtl")
	if err := out.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := out.WriteDir(dir); err != nil { // replacing earlier output is fine
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("left %d entries beside the output, want only the output directory", len(entries))
	}
	other := filepath.Join(t.TempDir(), "mine")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := out.WriteDir(other); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("WriteDir over a foreign directory: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Errorf("the foreign directory was touched: %v", err)
	}
}
