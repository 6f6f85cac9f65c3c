package verify

import "fmt"

// Matrix is a dense row-major matrix of integers: Matrix[i][j].
type Matrix [][]int64

// Dims returns rows and columns (0, 0 for an empty matrix).
func (m Matrix) Dims() (int, int) {
	if len(m) == 0 {
		return 0, 0
	}
	return len(m), len(m[0])
}

// NewMatrix returns a zero matrix.
func NewMatrix(rows, cols int) Matrix {
	m := make(Matrix, rows)
	for i := range m {
		m[i] = make([]int64, cols)
	}
	return m
}

// Wrap reduces v to bits-bit two's complement (signed) or modulo 2^bits
// (unsigned): the accumulator's overflow behaviour.
func Wrap(v int64, bits int, signed bool) int64 {
	if bits >= 64 {
		return v
	}
	u := uint64(v) & (1<<uint(bits) - 1)
	if signed && u>>(uint(bits)-1) == 1 {
		return int64(u) - 1<<uint(bits)
	}
	return int64(u)
}

// GoldenGEMM computes C = A × B the way the accumulators do: exact products,
// sums wrapped to acc_bits. It is plain integer arithmetic, independent of
// the RTL.
func GoldenGEMM(cfg MXUConfig, a, b Matrix) Matrix {
	m, k := a.Dims()
	_, n := b.Dims()
	c := NewMatrix(m, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int64
			for x := 0; x < k; x++ {
				// Wrapping each step is the same as wrapping once (the sum is
				// taken modulo 2^acc_bits) and keeps int64 from overflowing.
				s = Wrap(s+a[i][x]*b[x][j], cfg.AccBits, cfg.AccSigned())
			}
			c[i][j] = s
		}
	}
	return c
}

// OperandRange returns the inclusive range of a bits-wide operand.
func OperandRange(bits int, signed bool) (lo, hi int64) {
	if signed {
		return -(1 << uint(bits-1)), 1<<uint(bits-1) - 1
	}
	return 0, 1<<uint(bits) - 1
}

// CheckOperands verifies shapes and value ranges of A (M×K) and B (K×N).
func (c MXUConfig) CheckOperands(a, b Matrix) error {
	m, k := a.Dims()
	kb, n := b.Dims()
	if m == 0 || k == 0 || n == 0 {
		return fmt.Errorf("gemm: empty operand (A is %dx%d, B is %dx%d)", m, k, kb, n)
	}
	if k != kb {
		return fmt.Errorf("gemm: A is %dx%d but B is %dx%d: K must match", m, k, kb, n)
	}
	check := func(name string, x Matrix, bits int, signed bool) error {
		lo, hi := OperandRange(bits, signed)
		for i, row := range x {
			if len(row) != len(x[0]) {
				return fmt.Errorf("gemm: %s row %d has %d values, want %d", name, i+1, len(row), len(x[0]))
			}
			for j, v := range row {
				if v < lo || v > hi {
					return fmt.Errorf("gemm: %s[%d][%d] = %d is out of range [%d, %d] for %s", name, i, j, v, lo, hi, typeName(bits, signed))
				}
			}
		}
		return nil
	}
	if err := check("A", a, c.InputBits, c.InputSigned); err != nil {
		return err
	}
	return check("B", b, c.WeightBits, c.WeightSigned)
}

func typeName(bits int, signed bool) string {
	if signed {
		return fmt.Sprintf("int%d", bits)
	}
	return fmt.Sprintf("uint%d", bits)
}
