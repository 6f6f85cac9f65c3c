package compile

import (
	"fmt"

	"github.com/tpugen/tpugen/arch"
)

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

// CheckOperands verifies the shapes of A (M×K) and B (K×N) and that their
// values fit the configuration's input and weight types.
func CheckOperands(cfg arch.Config, a, b Matrix) error {
	m, k := a.Dims()
	kb, n := b.Dims()
	if m == 0 || k == 0 || n == 0 {
		return fmt.Errorf("gemm: empty operand (A is %dx%d, B is %dx%d)", m, k, kb, n)
	}
	if k != kb {
		return fmt.Errorf("gemm: A is %dx%d but B is %dx%d: K must match", m, k, kb, n)
	}
	check := func(name string, x Matrix, bits int, signed bool) error {
		lo, hi := arch.OperandRange(bits, signed)
		for i, row := range x {
			if len(row) != len(x[0]) {
				return fmt.Errorf("gemm: %s row %d has %d values, want %d", name, i+1, len(row), len(x[0]))
			}
			for j, v := range row {
				if v < lo || v > hi {
					return fmt.Errorf("gemm: %s[%d][%d] = %d is out of range [%d, %d] for %s", name, i, j, v, lo, hi, arch.TypeName(bits, signed))
				}
			}
		}
		return nil
	}
	if err := check("A", a, cfg.InputBits, cfg.InputSigned); err != nil {
		return err
	}
	return check("B", b, cfg.WeightBits, cfg.WeightSigned)
}
