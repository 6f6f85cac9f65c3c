package nn

import "fmt"

// Gemm and MatMul, and the matrix product the integer MatMuls share.

// Gemm-6 broadcasts C only with broadcast=1, as Gemm-7 always does; with
// broadcast=0 C must already be M×N.
func checkGemm(n *Node, opset int) error {
	if opset < 11 && len(n.Inputs) < 3 {
		return fmt.Errorf("input C is required before opset 11")
	}
	if n.HasAttr("broadcast") && opset >= 7 {
		return fmt.Errorf("attribute broadcast does not exist from opset 7")
	}
	if err := checkBool("broadcast")(n, opset); err != nil {
		return err
	}
	for _, a := range []string{"transA", "transB"} {
		if err := checkBool(a)(n, opset); err != nil {
			return err
		}
	}
	for _, a := range []string{"alpha", "beta"} {
		if err := checkFinite(a)(n, opset); err != nil {
			return err
		}
	}
	return nil
}

// gemmDims returns M, K, N of op(A)·op(B).
func gemmDims(n *Node, a, b []int) (m, k, nn int, err error) {
	if len(a) != 2 || len(b) != 2 {
		return 0, 0, 0, fmt.Errorf("inputs A %v and B %v must be matrices", a, b)
	}
	m, k = a[0], a[1]
	if n.AttrInt("transA", 0) != 0 {
		m, k = k, m
	}
	kb, nn := b[0], b[1]
	if n.AttrInt("transB", 0) != 0 {
		kb, nn = nn, kb
	}
	if k != kb {
		return 0, 0, 0, fmt.Errorf("inputs A %v and B %v (transA=%d, transB=%d) disagree on K", a, b, n.AttrInt("transA", 0), n.AttrInt("transB", 0))
	}
	return m, k, nn, nil
}

func inferGemm(n *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	for i, v := range in {
		if v.Name != "" || i < 2 {
			if err := wantType(fmt.Sprintf("input %d", i), v.DType, Float32); err != nil {
				return nil, err
			}
		}
	}
	m, _, nn, err := gemmDims(n, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	out := []int{m, nn}
	if _, err := numElements(out); err != nil {
		return nil, err
	}
	if c := optional(in, 2); c.Name != "" {
		if !broadcastsTo(c.Shape, out) {
			return nil, fmt.Errorf("input C %v does not broadcast to %v", c.Shape, out)
		}
		if n.HasAttr("broadcast") && n.AttrInt("broadcast", 0) == 0 && !agrees(out, c.Shape) {
			return nil, fmt.Errorf("input C %v is not %v and broadcast=0", c.Shape, out)
		}
	}
	return []Value{{DType: Float32, Shape: out}}, nil
}

// runGemm is alpha·op(A)·op(B) + beta·C, accumulated in float64.
func runGemm(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	m, k, nn, err := gemmDims(n, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	a, b := in[0].float64s(), in[1].float64s()
	ta, tb := n.AttrInt("transA", 0) != 0, n.AttrInt("transB", 0) != 0
	alpha, beta := float64(n.AttrFloat("alpha", 1)), float64(n.AttrFloat("beta", 1))
	out := []int{m, nn}
	var c []float64
	var cIdx []int
	if len(in) > 2 && in[2] != nil {
		c, cIdx = in[2].float64s(), broadcastIndex(in[2].Shape, out)
	}
	y := make([]float64, m*nn)
	for i := 0; i < m; i++ {
		for j := 0; j < nn; j++ {
			sum := 0.0
			for p := 0; p < k; p++ {
				av, bv := a[i*k+p], b[p*nn+j]
				if ta {
					av = a[p*m+i]
				}
				if tb {
					bv = b[j*k+p]
				}
				sum += av * bv
			}
			v := alpha * sum
			if c != nil {
				v += beta * c[cIdx[i*nn+j]]
			}
			y[i*nn+j] = v
		}
	}
	return []*Tensor{fromFloat64s(Float32, out, y)}, nil
}

// matmulShape is a resolved numpy matmul: a batch of M×K by K×N products.
type matmulShape struct {
	m, k, n        int
	batch          []int // broadcast batch shape
	aBatch, bBatch []int // the operands' own batch shapes
	out            []int
}

// resolveMatMul applies numpy's matmul rules: a 1-D A is a row vector and
// a 1-D B a column vector (their unit axis dropped from the result), and
// the leading axes broadcast.
func resolveMatMul(a, b []int) (matmulShape, error) {
	if len(a) == 0 || len(b) == 0 {
		return matmulShape{}, fmt.Errorf("matmul of a scalar (%v, %v)", a, b)
	}
	var s matmulShape
	a2, b2 := a, b
	if len(a) == 1 {
		a2 = []int{1, a[0]}
	}
	if len(b) == 1 {
		b2 = []int{b[0], 1}
	}
	s.m, s.k = a2[len(a2)-2], a2[len(a2)-1]
	if b2[len(b2)-2] != s.k {
		return s, fmt.Errorf("shapes %v and %v disagree on K", a, b)
	}
	s.n = b2[len(b2)-1]
	s.aBatch, s.bBatch = a2[:len(a2)-2], b2[:len(b2)-2]
	var err error
	if s.batch, err = broadcastShape(s.aBatch, s.bBatch); err != nil {
		return s, fmt.Errorf("batch axes: %w", err)
	}
	s.out = append([]int{}, s.batch...)
	if len(a) > 1 {
		s.out = append(s.out, s.m)
	}
	if len(b) > 1 {
		s.out = append(s.out, s.n)
	}
	if _, err := numElements(s.out); err != nil {
		return s, err
	}
	return s, nil
}

// matmul computes the batch of products in the accumulation type.
func matmul[T float64 | int32](a, b []T, s matmulShape) []T {
	out := make([]T, prod(s.batch)*s.m*s.n)
	aIdx, bIdx := broadcastIndex(s.aBatch, s.batch), broadcastIndex(s.bBatch, s.batch)
	for bi := range aIdx {
		ao, bo, yo := aIdx[bi]*s.m*s.k, bIdx[bi]*s.k*s.n, bi*s.m*s.n
		for i := 0; i < s.m; i++ {
			for j := 0; j < s.n; j++ {
				var sum T
				for p := 0; p < s.k; p++ {
					sum += a[ao+i*s.k+p] * b[bo+p*s.n+j]
				}
				out[yo+i*s.n+j] = sum
			}
		}
	}
	return out
}

func inferMatMul(_ *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	for i, v := range in[:2] {
		if err := wantType(fmt.Sprintf("input %d", i), v.DType, Float32); err != nil {
			return nil, err
		}
	}
	s, err := resolveMatMul(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	return []Value{{DType: Float32, Shape: s.out}}, nil
}

// runMatMul is MatMul on float32, accumulated in float64.
func runMatMul(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	s, err := resolveMatMul(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	return []*Tensor{fromFloat64s(Float32, s.out, matmul(in[0].float64s(), in[1].float64s(), s))}, nil
}
