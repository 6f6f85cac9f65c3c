package verify_test

import (
	"encoding/json"
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
