package hdl

import "fmt"

// Shape is the type of a value: its width in bits and whether it is two's
// complement signed.
type Shape struct {
	Width  int
	Signed bool
}

// U returns an unsigned shape of w bits.
func U(w int) Shape { return Shape{Width: w} }

// S returns a signed shape of w bits.
func S(w int) Shape { return Shape{Width: w, Signed: true} }

func (s Shape) String() string {
	if s.Signed {
		return fmt.Sprintf("s%d", s.Width)
	}
	return fmt.Sprintf("u%d", s.Width)
}

// BitsFor returns the number of bits needed to hold n distinct values (at least 1).
func BitsFor(n int) int {
	b := 1
	for (1 << b) < n {
		b++
	}
	return b
}

// Clog2 returns ceil(log2(n)) for n >= 1 (0 for n == 1).
func Clog2(n int) int {
	b := 0
	for (1 << b) < n {
		b++
	}
	return b
}
