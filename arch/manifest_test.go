package arch

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// slowPack is the definition of Pack, lane by lane in big.Int.
func slowPack(fields []Field, vals Values) *big.Int {
	v := new(big.Int)
	for _, f := range fields {
		for k, x := range vals[f.Name] {
			if k >= f.Lanes {
				break
			}
			lane := new(big.Int).SetInt64(x)
			lane.And(lane, mask(f.Width))
			v.Or(v, lane.Lsh(lane, uint(f.LSB+k*f.Width)))
		}
	}
	return v
}

// TestPackUnpack packs random values into random layouts (lanes straddling
// 64-bit words, fields wider than 64 bits) and checks Pack against its
// definition and Unpack against the values.
func TestPackUnpack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 2000; trial++ {
		var fields []Field
		vals := Values{}
		pos := 0
		for i := 0; i < 1+r.IntN(5); i++ {
			f := Field{Name: string(rune('a' + i)), LSB: pos, Width: 1 + r.IntN(70), Lanes: 1 + r.IntN(9), Signed: r.IntN(2) == 0}
			pos += f.Width*f.Lanes + r.IntN(3)
			fields = append(fields, f)
			for k := 0; k < f.Lanes; k++ {
				vals[f.Name] = append(vals[f.Name], int64(r.Uint64()))
			}
		}
		got, err := Pack(fields, vals)
		if err != nil {
			t.Fatal(err)
		}
		if want := slowPack(fields, vals); got.Cmp(want) != 0 {
			t.Fatalf("trial %d: Pack = %x, want %x (fields %+v)", trial, got, want, fields)
		}
		for _, f := range fields {
			if f.Width > 64 {
				continue
			}
			for k, x := range f.Unpack(got) {
				want := vals[f.Name][k]
				if f.Width < 64 {
					want &= 1<<f.Width - 1
					if f.Signed && want>>(f.Width-1) == 1 {
						want -= 1 << f.Width
					}
				}
				if x != want {
					t.Fatalf("trial %d: field %s lane %d = %d, want %d", trial, f.Name, k, x, want)
				}
			}
		}
	}
	if _, err := Pack([]Field{{Name: "a", Width: 4, Lanes: 1}}, Values{"b": {1}}); err == nil || !strings.Contains(err.Error(), `no field "b"`) {
		t.Errorf("a misspelt field packed: %v", err)
	}
}
