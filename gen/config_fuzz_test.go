package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary bytes to ParseConfig, as `tpugen -config`
// does: it returns a configuration or a one-line error naming the source,
// never panics, and a configuration it accepts validates and, when small
// enough to elaborate quickly, generates. Seeds:
// the shipped configurations and testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	shipped, _ := filepath.Glob(filepath.Join("..", "configs", "*.json"))
	for _, path := range shipped {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"name": "x", "rows": 1, "cols": 1}`))
	f.Add([]byte(`{"name": "x", "rows": 2, "cols": 3, "dataflow": "os", "requant": true, "activation": "leaky", "pool": true, "pool_window": 2}`))
	f.Add([]byte(`{"name": "x", "rows": 2, "cols": 2, "input_bits": 4, "input_signed": false, "weight_bits": 16, "acc_bits": 48, "acc_depth": 3}`))
	f.Add([]byte(`{"name": "x", "rows": 2, "cols": 2, "mac": "fused", "param_sets": 8, "rounding": "single"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "f.json")
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "config f.json: ") {
				t.Fatalf("error %q: want one line starting with the source", msg)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted configuration does not validate: %v", err)
		}
		// Elaboration time grows with the array and the pooling line
		// buffer: keep each input quick.
		if c.Rows*c.Cols > 16 || c.AccDepth > 4096 || c.Pool && c.PoolWidth*c.PoolWindow > 256 {
			return
		}
		// A configuration Validate accepts must elaborate: the tool has
		// already told the user it is fine.
		if _, err := Generate(c); err != nil {
			t.Fatalf("generate %s: %v", data, err)
		}
	})
}
