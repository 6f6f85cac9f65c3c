package gen

import (
	"strings"
	"testing"
)

// TestBinaryConfigs checks configs/binary.json and that what a binary
// unit cannot be built with is rejected at the JSON boundary, one line
// each.
func TestBinaryConfigs(t *testing.T) {
	c, err := LoadConfig("../configs/binary.json")
	if err != nil {
		t.Fatal(err)
	}
	if !c.MAC.IsBinary() {
		t.Fatalf("configs/binary.json: mac %s, want xnor", c.MAC)
	}
	base := `"name": "b", "rows": 4, "cols": 4, "mac": "xnor"`
	for _, tc := range []struct{ json, want string }{
		{`{` + base + `, "weight_bits": 4}`, `input_bits 8 and weight_bits 4 must be equal`},
		{`{` + base + `, "input_signed": false}`, `input_signed and weight_signed true`},
		{`{` + base + `, "mac_stages": 1}`, `mac "xnor" and mac_stages 1 exclude each other`},
		{`{` + base + `, "requant": true, "core": {"ub_bytes": 1024, "weight_bytes": 1024}}`, `mac "xnor" is not available with core`},
	} {
		_, err := ParseConfig([]byte(tc.json), "test.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line with %q", tc.json, err, tc.want)
		}
	}
}
