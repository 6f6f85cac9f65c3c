package nn

import "testing"

func TestAdd(t *testing.T) {
	tests := []struct {
		desc string
		a, b *Tensor
		want *Tensor
	}{
		{"same shape", f32([]int{2}, 1, 2), f32([]int{2}, 10, 20), f32([]int{2}, 11, 22)},
		{"row broadcast", seq(2, 3), f32([]int{3}, 10, 20, 30), f32([]int{2, 3}, 10, 21, 32, 13, 24, 35)},
		{"both broadcast", f32([]int{2, 1}, 1, 2), f32([]int{1, 3}, 10, 20, 30), f32([]int{2, 3}, 11, 21, 31, 12, 22, 32)},
		{"scalar", seq(2), f32([]int{}, 5), f32([]int{2}, 5, 6)},
		{"uint8 wraps", Uint8Tensor([]int{2}, []uint8{250, 1}), Uint8Tensor([]int{2}, []uint8{10, 2}), Uint8Tensor([]int{2}, []uint8{4, 3})},
		{"int8 wraps", Int8Tensor([]int{1}, []int8{127}), Int8Tensor([]int{1}, []int8{1}), Int8Tensor([]int{1}, []int8{-128})},
	}
	for _, tc := range tests {
		checkTensor(t, tc.desc, mustRun(t, 14, "Add", nil, tc.a, tc.b), tc.want)
	}
	if _, err := runOp(t, 14, "Add", nil, 1, seq(2, 3), seq(2)); err == nil {
		t.Error("2x3 + 2: no error")
	}
	if _, err := runOp(t, 14, "Add", nil, 1, seq(2), Int8Tensor([]int{2}, []int8{1, 2})); err == nil {
		t.Error("float32 + int8: no error")
	}
}

func TestBroadcastIndex(t *testing.T) {
	got := broadcastIndex([]int{3, 1}, []int{2, 3, 2})
	want := []int{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
