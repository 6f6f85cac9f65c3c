package verify_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/verify"
)

// TestCoreSoftResetAfterFault faults a matmul while beats are in flight
// (a UB row or a weight tile never written, met halfway through the
// operands), soft-resets the core and runs a clean program, whose result
// must match core.Machine's from the reset state bit for bit: nothing of
// the faulted matmul may survive in the controller or the matrix unit.
func TestCoreSoftResetAfterFault(t *testing.T) {
	c := newCoreRTL(t, coreConfig("core_c", 1024, 512))
	R, C := c.Config.Arch.Rows, c.Config.Arch.Cols
	const M = 12
	K := 2 * R // two weight tiles, the second loaded while the first computes
	bytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}
	type fault struct {
		name string
		src  string
		in   []byte
	}
	var faults []fault
	for _, rows := range []int{1, 2, 3, 5, 8} {
		faults = append(faults, fault{fmt.Sprintf("ub_rows_%d", rows),
			fmt.Sprintf("read_host ub=0 len=%d\nread_weights waddr=0 len=%d\nmatmul ub=0 m=%d k=%d waddr=0 n=%d acc=0\nhalt", rows*K, K*C, M, K, C),
			bytes(rows*K + K*C)})
	}
	for _, w := range []int{K*C/2 + 1, K*C - 1} {
		faults = append(faults, fault{fmt.Sprintf("weights_%d", w),
			fmt.Sprintf("read_host ub=0 len=%d\nread_weights waddr=0 len=%d\nmatmul ub=0 m=%d k=%d waddr=0 n=%d acc=0\nhalt", M*K, w, M, K, C),
			bytes(M*K + w)})
	}
	for _, simName := range []string{"icarus", "verilator"} {
		for i, f := range faults {
			t.Run(simName+"/"+f.name, func(t *testing.T) {
				words := asm(t, f.src)
				first, err := c.Expected(words, f.in)
				if err != nil {
					t.Fatal(err)
				}
				if first.Code != core.ErrUnwritten {
					t.Fatalf("the faulting program stops with %v, want %v", first.Code, core.ErrUnwritten)
				}
				seed := uint64(4000 + i)
				clean, in := verify.RandomComputeProgram(rand.New(rand.NewPCG(seed, 14)), c.Config)
				want, got := runThen(t, c, simName, words, f.in, clean, in, verify.CoreRunOptions{Seed: uint32(seed), StallPercent: 10 * (i % 3)})
				if err := verify.CompareCore(want, got); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestCoreSoftResetMidConvolve soft-resets the core at points of random
// convolution programs (their convolve is most of their cycles; these
// points catch the matrix unit with a weight tile half loaded) and then
// runs a clean program, compared with core.Machine bit for bit.
func TestCoreSoftResetMidConvolve(t *testing.T) {
	c := newCoreRTL(t, coreConfig("core_c", 1024, 512))
	for _, simName := range []string{"icarus", "verilator"} {
		for _, seed := range []uint64{3000, 3004} {
			r := rand.New(rand.NewPCG(seed, 12))
			conv, convIn := verify.RandomConvProgram(r, c.Config)
			clean, in := verify.RandomComputeProgram(rand.New(rand.NewPCG(seed, 15)), c.Config)
			opt := verify.CoreRunOptions{Seed: uint32(seed), StallPercent: 10}
			var cycles int
			for _, at := range []int{12, 20, 27} { // fortieths of the program's cycles
				t.Run(fmt.Sprintf("%s/%d/%d_40", simName, seed, at), func(t *testing.T) {
					if cycles == 0 {
						_, alone := runCore(t, c, simName, conv, convIn, opt)
						cycles = alone.TBCycles
					}
					opt := opt
					opt.SoftResetAt = cycles * at / 40
					want, got := runThen(t, c, simName, conv, convIn, clean, in, opt)
					if err := verify.CompareCore(want, got); err != nil {
						t.Fatalf("soft reset at cycle %d of %d: %v", opt.SoftResetAt, cycles, err)
					}
				})
			}
		}
	}
}

// runThen runs words, soft-resets the core (at opt.SoftResetAt, or once
// words stop) and runs then; want is core.Machine's outcome of then alone.
func runThen(t *testing.T, c *verify.CoreRTL, simName string, words []core.Word, in []byte, then []core.Word, thenIn []byte, opt verify.CoreRunOptions) (want, got *verify.CoreOutcome) {
	t.Helper()
	want, err := c.Expected(then, thenIn)
	if err != nil {
		t.Fatal(err)
	}
	if want.Code != core.ErrNone {
		t.Fatalf("the clean program faults in the model: %v (pc %d)", want.Code, want.PC)
	}
	opt.ThenWords, opt.ThenIn = then, thenIn
	// A core that never comes back from the soft reset fails quickly.
	opt.MaxCycles = 100_000
	got, err = c.Run(t.Context(), simName, words, in, opt)
	if err != nil {
		t.Fatal(err)
	}
	return want, got
}
