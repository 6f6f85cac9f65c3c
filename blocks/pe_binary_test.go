package blocks

import (
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
)

// TestBinaryConfigRejects checks that each combination a binary unit
// cannot be built with is one error line naming both keys.
func TestBinaryConfigRejects(t *testing.T) {
	ok := MatrixConfig{Rows: 4, Cols: 4, InputBits: 8, InputSigned: true, WeightBits: 8, WeightSigned: true,
		AccBits: 32, AccDepth: 16, MAC: arch.XnorMAC}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid binary configuration rejected: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(c *MatrixConfig)
		want string
	}{
		{"bits", func(c *MatrixConfig) { c.WeightBits = 4 }, "input_bits 8 and weight_bits 4"},
		{"unsigned", func(c *MatrixConfig) { c.InputSigned = false }, "input_signed and weight_signed"},
		{"stages", func(c *MatrixConfig) { c.MACStages = 1 }, "mac_stages 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("got %v, want one line with %q", err, tc.want)
			}
		})
	}
}
