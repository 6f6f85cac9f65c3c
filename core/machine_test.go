package core_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
)

func testConfig() core.Config {
	return core.Config{Arch: gen.DefaultConfig().Resolve(), UBBytes: 4096, WeightBytes: 2048}
}

func randInt8(r *rand.Rand, n int, lo, hi int) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(lo + r.IntN(hi-lo+1))
	}
	return v
}

func bytesOf(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func int8sOf(b []byte) []int8 {
	v := make([]int8, len(b))
	for i, x := range b {
		v[i] = int8(x)
	}
	return v
}

// params is a parameter set for n lanes with folded biases and per-lane
// requantization, and the quant output stage it implements.
func params(r *rand.Rand, cols int, bias []int32, zp int32, weights []int8, K int) (*core.ParamSet, quant.OutputStage) {
	n := len(bias)
	st := quant.OutputStage{ZeroPoint: 3, ActMin: -100, ActMax: 120}
	ps := &core.ParamSet{}
	for o := 0; o < n; o++ {
		m, s := quant.QuantizeMultiplier(0.002 + 0.01*r.Float64())
		st.Multipliers, st.Shifts = append(st.Multipliers, m), append(st.Shifts, s)
		var sum int32
		for _, w := range weights[o*K : (o+1)*K] {
			sum += int32(w)
		}
		ps.Lanes = append(ps.Lanes, core.LaneParams{Bias: bias[o] - zp*sum, Multiplier: m, Shift: int32(s), OutZP: 3, ActMin: -100, ActMax: 120})
	}
	return ps, st
}

func run(t *testing.T, cfg core.Config, src string, stream ...[]byte) []byte {
	t.Helper()
	words, err := core.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.NewMachine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(words, slices.Concat(stream...))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMachineGEMM(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cfg := testConfig()
	const M, K, N = 5, 19, 7
	a, w := randInt8(r, M*K, -128, 127), randInt8(r, N*K, -127, 127)
	bias := make([]int32, N)
	for i := range bias {
		bias[i] = int32(r.IntN(2000) - 1000)
	}
	const zp = -7
	ps, st := params(r, cfg.Arch.Cols, bias, zp, w, K)
	src := fmt.Sprintf(`read_host ub=0 len=%d
read_weights waddr=0x10 len=%d
load_params set=2 len=%d
matmul ub=0 m=%d k=%d waddr=0x10 n=%d acc=3
activate acc=3 m=%d n=%d set=2 out=0x200 pitch=%d
write_host ub=0x200 len=%d
halt
`, M*K, N*K, core.ParamBlockBytes(cfg.Arch.Cols), M, K, N, M, N, N, M*N)
	got := run(t, cfg, src, bytesOf(a), bytesOf(w), ps.Bytes(cfg.Arch.Cols))
	want, err := quant.FullyConnected(a, M, w, N, bias, quant.FCParams{InputZeroPoint: zp, Output: st})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(int8sOf(got), want) {
		t.Errorf("gemm: core %v\nquant %v", int8sOf(got), want)
	}
	// The same activate fused: before the matmul, which it follows.
	fused := fmt.Sprintf(`read_host ub=0 len=%d
read_weights waddr=0x10 len=%d
load_params set=2 len=%d
activate acc=3 m=%d n=%d set=2 out=0x200 pitch=%d fuse=1
matmul ub=0 m=%d k=%d waddr=0x10 n=%d acc=3
write_host ub=0x200 len=%d
halt
`, M*K, N*K, core.ParamBlockBytes(cfg.Arch.Cols), M, N, N, M, K, N, M*N)
	if got := run(t, cfg, fused, bytesOf(a), bytesOf(w), ps.Bytes(cfg.Arch.Cols)); !slices.Equal(int8sOf(got), want) {
		t.Errorf("fused gemm: core %v\nquant %v", int8sOf(got), want)
	}
}

// TestMachineConv runs convolutions with padding holding the zero point,
// stride and dilation, and pooling, against quant's reference kernels.
func TestMachineConv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cfg := testConfig()
	for _, tc := range []struct {
		name           string
		h, w, c, n     int
		kh, kw, s, d   int
		pt, pb, pl, pr int
		pool           *core.PoolParams
	}{
		{"pad-stride", 7, 6, 3, 5, 3, 3, 2, 1, 1, 1, 1, 1, nil},
		{"asym-dilated", 9, 8, 2, 8, 3, 2, 1, 2, 2, 0, 1, 2, nil},
		{"maxpool", 8, 8, 2, 4, 3, 3, 1, 1, 1, 1, 1, 1, &core.PoolParams{Enable: true, Kind: arch.MaxPool, KH: 2, KW: 2, SH: 2, SW: 2}},
		{"avgpool", 8, 7, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, &core.PoolParams{Enable: true, Kind: arch.AveragePool, KH: 3, KW: 2, SH: 1, SW: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := quant.Shape{N: 2, H: tc.h, W: tc.w, C: tc.c}
			x := randInt8(r, in.Len(), -128, 127)
			K := tc.kh * tc.kw * tc.c
			w := randInt8(r, tc.n*K, -127, 127)
			bias := make([]int32, tc.n)
			for i := range bias {
				bias[i] = int32(r.IntN(4000) - 2000)
			}
			const zp = -20
			ps, st := params(r, cfg.Arch.Cols, bias, zp, w, K)
			if tc.pool != nil {
				ps.Pool = *tc.pool
			}
			win := quant.Window{StrideH: tc.s, StrideW: tc.s, DilationH: tc.d, DilationW: tc.d, Padding: quant.PaddingExplicit,
				PadTop: tc.pt, PadBottom: tc.pb, PadLeft: tc.pl, PadRight: tc.pr}
			want, os, err := quant.Conv2D(x, in, w, quant.Shape{N: tc.n, H: tc.kh, W: tc.kw, C: tc.c}, bias,
				quant.ConvParams{Window: win, InputZeroPoint: zp, Output: st})
			if err != nil {
				t.Fatal(err)
			}
			fh, fw := os.H, os.W
			if p := tc.pool; p != nil {
				pp := quant.PoolParams{Window: quant.Window{StrideH: p.SH, StrideW: p.SW}, FilterH: p.KH, FilterW: p.KW}
				if p.Kind == arch.MaxPool {
					want, _, err = quant.MaxPool(want, os, pp)
				} else {
					want, _, err = quant.AveragePool(want, os, pp)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			src := fmt.Sprintf(`read_host ub=0 len=%d
read_weights waddr=0 len=%d
load_params set=0 len=%d
convolve ub=0 images=2 h=%d w=%d c=%d k=%dx%d s=%d d=%d pad=%d,%d,%d,%d zp=%d waddr=0 n=%d acc=0
activate acc=0 m=%d n=%d set=0 out=0x800 pitch=%d fh=%d fw=%d
write_host ub=0x800 len=%d
halt
`, in.Len(), len(w), core.ParamBlockBytes(cfg.Arch.Cols), tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.s, tc.d, tc.pt, tc.pb, tc.pl, tc.pr, zp,
				tc.n, os.Len()/tc.n, tc.n, tc.n, fh, fw, len(want))
			got := run(t, cfg, src, bytesOf(x), bytesOf(w), ps.Bytes(cfg.Arch.Cols))
			if !slices.Equal(int8sOf(got), want) {
				t.Errorf("core %v\nquant %v", int8sOf(got), want)
			}
		})
	}
}

// TestMachineErrors: a bad program stops with the right error code, never
// a panic.
func TestMachineErrors(t *testing.T) {
	cfg := testConfig()
	pb := core.ParamBlockBytes(cfg.Arch.Cols)
	for _, tc := range []struct {
		name, src string
		stream    int
		code      core.ErrorCode
	}{
		{"ub range", "read_host ub=4000 len=100\nhalt", 100, core.ErrUBRange},
		{"unwritten", "read_host ub=0 len=10\nwrite_host ub=0 len=11\nhalt", 10, core.ErrUnwritten},
		{"underflow", "read_host ub=0 len=10\nhalt", 9, core.ErrHostUnderflow},
		{"weights range", "read_weights waddr=2000 len=100\nhalt", 100, core.ErrWeightRange},
		{"weights unwritten", "read_host ub=0 len=8\nmatmul ub=0 m=1 k=8 waddr=0 n=1\nhalt", 8, core.ErrUnwritten},
		{"set unloaded", "activate acc=0 m=1 n=1 set=1 out=0 pitch=1\nhalt", 0, core.ErrParamSet},
		{"set range", fmt.Sprintf("load_params set=9 len=%d\nhalt", pb), pb, core.ErrParamSet},
		{"acc range", "read_host ub=0 len=8\nread_weights waddr=0 len=8\nmatmul ub=0 m=1 k=8 waddr=0 n=1 acc=512\nhalt", 16, core.ErrAccRange},
		{"lanes", "read_host ub=0 len=8\nread_weights waddr=0 len=72\nmatmul ub=0 m=1 k=8 waddr=0 n=9\nhalt", 80, core.ErrBadField},
		{"window", "read_host ub=0 len=4\nread_weights waddr=0 len=9\nconvolve ub=0 h=2 w=2 c=1 k=3 n=1\nhalt", 13, core.ErrBadField},
		{"no halt", "sync", 0, core.ErrNoHalt},
		// A fused activate must be followed by the matmul or convolve
		// writing its rows, reading none of its output.
		{"fused halt", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=1 n=1 set=0 out=0 pitch=1 fuse=1\nhalt", pb), pb, core.ErrBadField},
		{"fused read", fmt.Sprintf("load_params set=0 len=%d\nactivate acc=0 m=1 n=1 set=0 out=0 pitch=1 fuse=1\nread_host ub=0 len=0\nhalt", pb), pb, core.ErrBadField},
		{"fused acc", fmt.Sprintf("load_params set=0 len=%d\nread_host ub=0 len=8\nread_weights waddr=0 len=8\nactivate acc=1 m=1 n=1 set=0 out=64 pitch=1 fuse=1\nmatmul ub=0 m=1 k=8 waddr=0 n=1\nhalt", pb), pb + 16, core.ErrBadField},
		{"fused rows", fmt.Sprintf("load_params set=0 len=%d\nread_host ub=0 len=16\nread_weights waddr=0 len=8\nactivate acc=0 m=1 n=1 set=0 out=64 pitch=1 fuse=1\nmatmul ub=0 m=2 k=8 waddr=0 n=1\nhalt", pb), pb + 24, core.ErrBadField},
		{"fused over input", fmt.Sprintf("load_params set=0 len=%d\nread_host ub=0 len=8\nread_weights waddr=0 len=8\nactivate acc=0 m=1 n=1 set=0 out=7 pitch=1 fuse=1\nmatmul ub=0 m=1 k=8 waddr=0 n=1\nhalt", pb), pb + 16, core.ErrBadField},
	} {
		words, err := core.Assemble(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		m, _ := core.NewMachine(cfg)
		_, err = m.Run(words, make([]byte, tc.stream))
		var f *core.Fault
		if !errors.As(err, &f) || f.Code != tc.code {
			t.Errorf("%s: %v, want code %d (%v)", tc.name, err, tc.code, tc.code)
		}
	}
	m, _ := core.NewMachine(cfg)
	m.MaxSteps = 100
	words, _ := core.Assemble("sync\nsync\n")
	loop := slices.Repeat(words, 100)
	if _, err := m.Run(loop, nil); err == nil {
		t.Error("step limit not enforced")
	} else if f := err.(*core.Fault); f.Code != core.ErrStepLimit {
		t.Errorf("step limit: %v", err)
	}
	if _, err := m.Run([]core.Word{{14}}, nil); err == nil || err.(*core.Fault).Code != core.ErrIllegalOpcode {
		t.Errorf("illegal opcode: %v", err)
	}
}

// TestMachineParamWords loads parameter sets with their words alone: the
// set's table stays as it was, a table activation is refused, and a
// length that is neither block size is a bad field.
func TestMachineParamWords(t *testing.T) {
	cfg := testConfig()
	cols := cfg.Arch.Cols
	full := &core.ParamSet{Lanes: make([]core.LaneParams, cols), Act: arch.ActTable}
	for x := range full.Table {
		full.Table[x] = int8(x)
	}
	words := (&core.ParamSet{Lanes: make([]core.LaneParams, cols)}).Bytes(cols)[:core.ParamWordBytes(cols)]
	run := func(src string, in []byte) (*core.Machine, error) {
		w, err := core.Assemble(src)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := core.NewMachine(cfg)
		_, err = m.Run(w, in)
		return m, err
	}
	src := fmt.Sprintf("load_params set=1 len=%d\nload_params set=1 len=%d\nhalt", core.ParamBlockBytes(cols), len(words))
	m, err := run(src, append(full.Bytes(cols), words...))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Params[1]; p.Act != arch.ActIdentity || p.Table != full.Table {
		t.Errorf("words-only block: mode %v, table kept %v", p.Act, p.Table == full.Table)
	}
	tableWords := full.Bytes(cols)[:core.ParamWordBytes(cols)]
	for _, tc := range []struct {
		name string
		n    int
		in   []byte
	}{{"table mode", len(tableWords), tableWords}, {"length", len(words) + 1, append(words, 0)}} {
		_, err := run(fmt.Sprintf("load_params set=0 len=%d\nhalt", tc.n), tc.in)
		if f := (*core.Fault)(nil); !errors.As(err, &f) || f.Code != core.ErrBadField {
			t.Errorf("%s: %v, want a bad field", tc.name, err)
		}
	}
}

// FuzzMachine runs untrusted binary programs with an untrusted host
// stream: the machine stops with a fault or halts, never panics or loops.
func FuzzMachine(f *testing.F) {
	words, _ := core.Assemble("read_host ub=0 len=16\nread_weights waddr=0 len=16\nmatmul ub=0 m=2 k=8 waddr=0 n=2\nwrite_host ub=0 len=16\nhalt")
	f.Add(core.MarshalBinary(words), make([]byte, 64))
	f.Fuzz(func(t *testing.T, prog, stream []byte) {
		words, err := core.UnmarshalBinary(prog)
		if err != nil {
			return
		}
		cfg := testConfig()
		cfg.Arch.AccDepth = 64
		m, err := core.NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.MaxSteps = 64
		_, err = m.Run(words, stream)
		var fl *core.Fault
		if err != nil && !errors.As(err, &fl) {
			t.Fatalf("error %v is not a fault", err)
		}
	})
}

func TestMachineDepthwise(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cfg := testConfig()
	in := quant.Shape{N: 2, H: 6, W: 7, C: 11}
	const kh, kw, lanes, c0, zp = 3, 3, 5, 4, 9
	x := randInt8(r, in.Len(), -128, 127)
	// quant's depthwise filter is 1×kh×kw×C; the core's weights are a row
	// of kh*kw per lane.
	filter := randInt8(r, kh*kw*in.C, -127, 127)
	w := make([]int8, lanes*kh*kw)
	for o := 0; o < lanes; o++ {
		for k := 0; k < kh*kw; k++ {
			w[o*kh*kw+k] = filter[k*in.C+c0+o]
		}
	}
	bias := make([]int32, in.C)
	for i := range bias {
		bias[i] = int32(r.IntN(2000) - 1000)
	}
	ps, _ := params(r, cfg.Arch.Cols, bias[c0:c0+lanes], zp, w, kh*kw)
	st := quant.OutputStage{ZeroPoint: 3, ActMin: -100, ActMax: 120}
	for c := 0; c < in.C; c++ {
		m, s := int32(1<<30), -8
		if c >= c0 && c < c0+lanes {
			m, s = ps.Lanes[c-c0].Multiplier, int(ps.Lanes[c-c0].Shift)
		}
		st.Multipliers, st.Shifts = append(st.Multipliers, m), append(st.Shifts, s)
	}
	win := quant.Window{StrideH: 2, StrideW: 1, Padding: quant.PaddingExplicit, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	full, os, err := quant.DepthwiseConv2D(x, in, filter, quant.Shape{N: 1, H: kh, W: kw, C: in.C}, bias,
		quant.ConvParams{Window: win, InputZeroPoint: zp, Output: st})
	if err != nil {
		t.Fatal(err)
	}
	var want []int8
	for p := 0; p < os.N*os.H*os.W; p++ {
		want = append(want, full[p*in.C+c0:p*in.C+c0+lanes]...)
	}
	rows := os.N * os.H * os.W
	src := fmt.Sprintf(`read_host ub=0 len=%d
read_weights waddr=0 len=%d
load_params set=0 len=%d
convolve ub=0 images=2 h=%d w=%d c=%d k=%dx%d s=2x1 pad=1 zp=%d waddr=0 n=%d acc=0 depthwise=1 c0=%d
activate acc=0 m=%d n=%d set=0 out=0x800 pitch=%d
write_host ub=0x800 len=%d
halt
`, in.Len(), len(w), core.ParamBlockBytes(cfg.Arch.Cols), in.H, in.W, in.C, kh, kw, zp, lanes, c0, rows, lanes, lanes, len(want))
	got := run(t, cfg, src, bytesOf(x), bytesOf(w), ps.Bytes(cfg.Arch.Cols))
	if !slices.Equal(int8sOf(got), want) {
		t.Errorf("depthwise: core %v\nquant %v", int8sOf(got), want)
	}
}

// TestMachineAccumulate splits K over two MATMULs, the second accumulating.
func TestMachineAccumulate(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cfg := testConfig()
	const M, K1, K2, N = 3, 5, 6, 4
	a1, a2 := randInt8(r, M*K1, -128, 127), randInt8(r, M*K2, -128, 127)
	w1, w2 := randInt8(r, N*K1, -127, 127), randInt8(r, N*K2, -127, 127)
	m, _ := core.NewMachine(cfg)
	words, err := core.Assemble(fmt.Sprintf(`read_host ub=0 len=%d
read_host ub=0x100 len=%d
read_weights waddr=0 len=%d
read_weights waddr=0x100 len=%d
matmul ub=0 m=%d k=%d waddr=0 n=%d acc=10
matmul ub=0x100 m=%d k=%d waddr=0x100 n=%d acc=10 accumulate=1
halt`, M*K1, M*K2, N*K1, N*K2, M, K1, N, M, K2, N))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(words, slices.Concat(bytesOf(a1), bytesOf(a2), bytesOf(w1), bytesOf(w2))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < M; i++ {
		for o := 0; o < N; o++ {
			var want int32
			for k := 0; k < K1; k++ {
				want += int32(a1[i*K1+k]) * int32(w1[o*K1+k])
			}
			for k := 0; k < K2; k++ {
				want += int32(a2[i*K2+k]) * int32(w2[o*K2+k])
			}
			if got := m.Acc[10+i][o]; got != want {
				t.Errorf("acc[%d][%d] = %d, want %d", 10+i, o, got, want)
			}
		}
	}
}

func TestBound(t *testing.T) {
	cfg := testConfig() // 8x8
	words, err := core.Assemble("matmul m=16 k=8 n=8\nmatmul m=4 k=20 n=3\nconvolve images=2 h=4 w=4 c=2 k=3 pad=1 n=8 depthwise=1\nhalt")
	if err != nil {
		t.Fatal(err)
	}
	b, err := core.Bound(cfg, words)
	if err != nil {
		t.Fatal(err)
	}
	// 8+1*16+16, 8+3*8+16, 8+2*32+16 cycles; 16*8*8 + 4*20*3 + 32*9*8 MACs.
	if b.Cycles != 40+48+88 || b.MACs != 1024+240+2304 {
		t.Errorf("bound %+v", b)
	}
}
