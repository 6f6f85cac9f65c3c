package nn

import "fmt"

// broadcastShape is numpy's multidirectional broadcast of two shapes.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := dimFromEnd(a, n-1-i), dimFromEnd(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// dimFromEnd returns the dimension back places from the end of s, 1 past
// its rank (numpy's right alignment).
func dimFromEnd(s []int, back int) int {
	if back < len(s) {
		return s[len(s)-1-back]
	}
	return 1
}

// broadcastsTo reports whether in broadcasts unidirectionally to out.
func broadcastsTo(in, out []int) bool {
	if len(in) > len(out) {
		return false
	}
	for i := range in {
		d := in[len(in)-1-i]
		if d != 1 && d != out[len(out)-1-i] {
			return false
		}
	}
	return true
}

// broadcastIndex maps each flat row-major index of out to the flat index
// of the element of in (which broadcasts to out) that it reads.
func broadcastIndex(in, out []int) []int {
	size := prod(out)
	idx := make([]int, size)
	// Strides of in laid against out's axes, 0 where in is broadcast.
	strides := make([]int, len(out))
	stride := 1
	for i := 1; i <= len(in); i++ {
		d := in[len(in)-i]
		if d != 1 {
			strides[len(out)-i] = stride
		}
		stride *= d
	}
	pos := make([]int, len(out))
	off := 0
	for i := 0; i < size; i++ {
		idx[i] = off
		// Advance the odometer and the offset together.
		for d := len(out) - 1; d >= 0; d-- {
			pos[d]++
			off += strides[d]
			if pos[d] < out[d] {
				break
			}
			off -= strides[d] * pos[d]
			pos[d] = 0
		}
	}
	return idx
}
