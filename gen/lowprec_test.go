package gen

import (
	"strings"
	"testing"
)

// TestLowPrecConfig checks the keys of L2 pooling and the float-scale
// requantizer at the JSON boundary: the combinations the hardware cannot
// build are refused with one line each.
func TestLowPrecConfig(t *testing.T) {
	base := `"name": "x", "rows": 2, "cols": 2, "requant": true`
	for _, c := range []struct {
		json, want string
	}{
		{`{` + base + `, "pool_l2": true}`, "pool_l2 needs pool: true"},
		{`{"name": "x", "rows": 2, "cols": 2, "pool": true, "pool_l2": true}`, "need requant: true"},
		{`{"name": "x", "rows": 2, "cols": 2, "softmax": true}`, "softmax needs requant: true"},
		{`{` + base + `, "rounding": "floot"}`, `rounding "floot" must be "double", "single" or "float"`},
		{`{` + base + `, "rounding": "float", "mac": "xnor"}`, `rounding "float" is not available with mac "xnor"`},
		{`{` + base + `, "rounding": "float", "core": {"ub_bytes": 1024, "weight_bytes": 1024}}`, `rounding "float" is not available with core`},
		{`{` + base + `, "softmax": true, "core": {"ub_bytes": 1024, "weight_bytes": 1024}}`, `softmax and pool_l2 are not available with core`},
	} {
		_, err := ParseConfig([]byte(c.json), "test.json")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.json, err, c.want)
		}
	}
	cfg, err := ParseConfig([]byte(`{`+base+`, "rounding": "float", "pool": true, "pool_l2": true, "softmax": true}`), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Resolve(); !r.Rounding.IsFloat() || !r.PoolL2 || !r.Softmax {
		t.Errorf("resolved %+v: want rounding float, pool_l2 and softmax", r)
	}
}
