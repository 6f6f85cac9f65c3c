package verify_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/verify"
)

// TestCoreRefusesOtherEncoding: a core whose manifest records another
// instruction encoding than the one programs are assembled with is
// refused before any simulation.
func TestCoreRefusesOtherEncoding(t *testing.T) {
	dir := "../rtl-out/core"
	data, err := os.ReadFile(dir + "/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	man, err := arch.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.NewCoreRTL(man, dir); err != nil {
		t.Fatalf("the shipped core: %v", err)
	}
	var isa core.Encoding
	if err := json.Unmarshal(man.Core.ISA, &isa); err != nil {
		t.Fatal(err)
	}
	isa.Instructions[1].Fields[0].LSB++
	if man.Core.ISA, err = json.Marshal(isa); err != nil {
		t.Fatal(err)
	}
	_, err = verify.NewCoreRTL(man, dir)
	if err == nil || !strings.Contains(err.Error(), "instruction encoding") {
		t.Fatalf("an edited encoding: err = %v, want a refusal", err)
	}
}

// TestCoreDirectedCodes checks, on core.Machine alone, that every directed
// core case stops with the fault it is meant for, at the test's small
// sizes and at the shipped core's.
func TestCoreDirectedCodes(t *testing.T) {
	for _, sizes := range [][2]int{{256, 128}, {131072, 65536}} {
		g := coreConfig("core_t", sizes[0], sizes[1])
		if sizes[0] > 256 {
			g.Rows, g.Cols, g.AccDepth = 8, 8, 512
		}
		cfg := core.Config{Arch: g.Resolve(), UBBytes: sizes[0], WeightBytes: sizes[1]}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		cases, err := verify.CoreDirected(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			m, err := core.NewMachine(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Run(c.Words, c.In)
			code := core.ErrNone
			var f *core.Fault
			if errors.As(err, &f) {
				code = f.Code
			} else if err != nil {
				t.Fatalf("%d bytes: %s: %v", sizes[0], c.Name, err)
			}
			if !c.Any && code != c.Code {
				t.Errorf("%d-byte buffer: %s stops with %v, want %v", sizes[0], c.Name, code, c.Code)
			}
		}
	}
}
