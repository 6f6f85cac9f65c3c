package sim

import (
	"math/big"
	"slices"
	"testing"
)

func TestIntConversions(t *testing.T) {
	for _, tc := range []struct {
		v      int64
		width  int
		bits   string // hex
		signed bool
	}{
		{-1, 8, "ff", true},
		{-128, 8, "80", true},
		{127, 8, "7f", true},
		{200, 8, "c8", false},
		{-2, 100, "ffffffffffffffffffffffffe", true},
		{1, 1, "1", false},
	} {
		b := FromInt(tc.v, tc.width)
		if got := b.Text(16); got != tc.bits {
			t.Errorf("FromInt(%d, %d) = %s, want %s", tc.v, tc.width, got, tc.bits)
		}
		if got := ToInt(b, tc.width, tc.signed); got != tc.v {
			t.Errorf("ToInt(%s, %d, %v) = %d, want %d", tc.bits, tc.width, tc.signed, got, tc.v)
		}
	}
	lanes := []int64{-3, 7, 0, -128, 127}
	p := Pack(lanes, 8)
	if got := p.Text(16); got != "7f800007fd" {
		t.Errorf("Pack = %s", got)
	}
	if got := Unpack(p, len(lanes), 8, true); !slices.Equal(got, lanes) {
		t.Errorf("Unpack signed = %v, want %v", got, lanes)
	}
	if got := Unpack(p, 2, 8, false); !slices.Equal(got, []int64{253, 7}) {
		t.Errorf("Unpack unsigned = %v", got)
	}
}

func TestHex(t *testing.T) {
	if got := formatHex(big.NewInt(0x1f), 13); got != "001f" {
		t.Errorf("formatHex = %q", got)
	}
	if v, err := parseHex("001F", 13); err != nil || v.Int64() != 0x1f {
		t.Errorf("parseHex = %v, %v", v, err)
	}
	for _, s := range []string{"x", "0X1", "zz", "1z"} {
		if _, err := parseHex(s, 8); err == nil {
			t.Errorf("parseHex(%q) accepted x/z", s)
		}
	}
	if _, err := parseHex("2000", 13); err == nil {
		t.Error("parseHex accepted a value wider than the port")
	}
}
