package core

import (
	"encoding/binary"
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/quant"
)

// ErrorCode is what the core's status register reports when a program
// stops on an error; 0 is no error.
type ErrorCode uint8

const (
	ErrNone          ErrorCode = 0
	ErrIllegalOpcode ErrorCode = 1  // unknown opcode or reserved bits set
	ErrUBRange       ErrorCode = 2  // a UB address past the buffer
	ErrWeightRange   ErrorCode = 3  // a weight address past the weight memory
	ErrAccRange      ErrorCode = 4  // an accumulator row past acc_depth
	ErrUnwritten     ErrorCode = 5  // a read of a UB byte or weight never written
	ErrParamSet      ErrorCode = 6  // a parameter set past param_sets or never loaded
	ErrHostUnderflow ErrorCode = 7  // the host stream ended inside a transfer
	ErrBadField      ErrorCode = 8  // inconsistent fields (zero size, lanes > cols, a window larger than the map, ...)
	ErrStepLimit     ErrorCode = 9  // the step limit was reached before HALT
	ErrNoHalt        ErrorCode = 10 // the program ran off its end
)

var errorNames = []string{"none", "illegal opcode", "UB address out of range", "weight address out of range",
	"accumulator row out of range", "read of unwritten data", "bad parameter set", "host stream underflow",
	"bad field", "step limit", "no halt"}

func (c ErrorCode) String() string {
	if int(c) < len(errorNames) {
		return errorNames[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// Fault is a program stopped on an error.
type Fault struct {
	Code ErrorCode
	PC   int // index of the instruction (-1: decoding a word on its own)
	Msg  string
}

func (f *Fault) Error() string {
	if f.PC < 0 {
		return fmt.Sprintf("core error %d (%v): %s", f.Code, f.Code, f.Msg)
	}
	return fmt.Sprintf("core error %d (%v) at instruction %d: %s", f.Code, f.Code, f.PC, f.Msg)
}

// Config is the core's configuration: the matrix unit's (rows, cols,
// acc_depth, param_sets, rounding, pipeline) and the buffer sizes.
type Config struct {
	Arch        arch.Config
	UBBytes     int
	WeightBytes int
}

// Validate checks that the core can be built with this configuration.
func (c Config) Validate() error {
	a := c.Arch
	switch {
	case a.InputBits != 8 || !a.InputSigned || a.WeightBits != 8 || !a.WeightSigned:
		return fmt.Errorf("core: needs int8 inputs and weights (input_bits/weight_bits 8, signed), configuration %s has %s x %s",
			a.Name, arch.TypeName(a.InputBits, a.InputSigned), arch.TypeName(a.WeightBits, a.WeightSigned))
	case a.AccBits != 32:
		return fmt.Errorf("core: needs acc_bits 32, configuration %s has %d", a.Name, a.AccBits)
	case !a.Requant:
		return fmt.Errorf("core: needs the pipeline (set requant: true in %s)", a.Name)
	case a.Cols < 1 || a.Cols >= 1<<LaneBits || a.AccDepth < 1 || a.AccDepth > 1<<AccRowBits || a.ParamSets < 1 || a.ParamSets > 1<<SetBits:
		return fmt.Errorf("core: cols %d, acc_depth %d, param_sets %d out of the ISA's range", a.Cols, a.AccDepth, a.ParamSets)
	case c.UBBytes < 1 || c.UBBytes > 1<<AddrBits || c.WeightBytes < 1 || c.WeightBytes > 1<<AddrBits:
		return fmt.Errorf("core: unified buffer %d and weight memory %d bytes must be within 1..%d", c.UBBytes, c.WeightBytes, 1<<AddrBits)
	}
	return nil
}

// ParamSet is one loaded parameter set of the pipeline.
type ParamSet struct {
	Lanes []LaneParams
	Act   arch.ActivationFunc
	Leaky quant.LeakyReLUParams
	Table [256]int8
	Pool  PoolParams
}

// LaneParams is one lane's requantizer parameters.
type LaneParams struct {
	Bias, Multiplier, Shift, OutZP, ActMin, ActMax int32
}

// PoolParams is the pooling unit's control: VALID windows over each frame.
type PoolParams struct {
	Enable         bool
	Kind           arch.PoolKind
	KH, KW, SH, SW int
}

// Parameter block layout: little-endian int32 words, per lane (bias,
// multiplier, shift, out_zp, act_min, act_max), then the activation
// control (mode, in_zp, out_zp, mult_identity, shift_identity, mult_alpha,
// shift_alpha), the pooling control (enable, kind, kh, kw, sh, sw), then
// the 256 table bytes (entry x for input bit pattern x).
const (
	laneWords = 6
	ctrlWords = 7 + 6
)

// ParamBlockBytes is the size of one parameter block for cols lanes.
func ParamBlockBytes(cols int) int { return ParamWordBytes(cols) + 256 }

// ParamWordBytes is the size of a parameter block without its table: a set
// whose activation reads no table (mode other than ActTable) may be loaded
// with its words alone, its table left as it was.
func ParamWordBytes(cols int) int { return (laneWords*cols + ctrlWords) * 4 }

// Bytes packs the set as a parameter block for cols lanes (missing lanes
// are zero).
func (p *ParamSet) Bytes(cols int) []byte {
	b := make([]byte, 0, ParamBlockBytes(cols))
	w := func(v int32) { b = binary.LittleEndian.AppendUint32(b, uint32(v)) }
	for j := 0; j < cols; j++ {
		var l LaneParams
		if j < len(p.Lanes) {
			l = p.Lanes[j]
		}
		w(l.Bias)
		w(l.Multiplier)
		w(l.Shift)
		w(l.OutZP)
		w(l.ActMin)
		w(l.ActMax)
	}
	lk := p.Leaky
	for _, v := range []int32{int32(p.Act), lk.InputZeroPoint, lk.OutputZeroPoint, lk.IdentityMultiplier, int32(lk.IdentityShift),
		lk.AlphaMultiplier, int32(lk.AlphaShift)} {
		w(v)
	}
	en := int32(0)
	if p.Pool.Enable {
		en = 1
	}
	for _, v := range []int32{en, int32(p.Pool.Kind), int32(p.Pool.KH), int32(p.Pool.KW), int32(p.Pool.SH), int32(p.Pool.SW)} {
		w(v)
	}
	for _, t := range p.Table {
		b = append(b, byte(t))
	}
	return b
}

func parseParams(b []byte, cols int) *ParamSet {
	r := func() int32 { v := int32(binary.LittleEndian.Uint32(b)); b = b[4:]; return v }
	p := &ParamSet{Lanes: make([]LaneParams, cols)}
	for j := range p.Lanes {
		p.Lanes[j] = LaneParams{Bias: r(), Multiplier: r(), Shift: r(), OutZP: r(), ActMin: r(), ActMax: r()}
	}
	p.Act = arch.ActivationFunc(r())
	p.Leaky = quant.LeakyReLUParams{InputZeroPoint: r(), OutputZeroPoint: r(), IdentityMultiplier: r(), IdentityShift: int(r()),
		AlphaMultiplier: r(), AlphaShift: int(r())}
	p.Pool = PoolParams{Enable: r() != 0, Kind: arch.PoolKind(r()), KH: int(r()), KW: int(r()), SH: int(r()), SW: int(r())}
	if len(b) >= len(p.Table) {
		for x := range p.Table {
			p.Table[x] = int8(b[x])
		}
	}
	return p
}

// Machine is the instruction-level model of the core. Its state persists
// across Run calls (a program split into segments with host steps in
// between runs segment after segment on one Machine).
type Machine struct {
	Config  Config
	UB      []int8
	written []bool
	Weights []int8
	wset    []bool
	Acc     [][]int32 // acc_depth rows of cols lanes
	Params  []*ParamSet
	// MaxSteps bounds the instructions of one Run (0: 1<<20).
	MaxSteps int
	// Stats of everything run so far.
	Stats Stats
	// PC is where the last Run stopped: the index of its HALT or of the
	// failing instruction (what the core's pc register then holds).
	PC int
}

// Stats counts what the machine did.
type Stats struct {
	Instructions int
	MACs         int64 // multiply-accumulates of MATMUL and CONVOLVE
	HostIn       int64 // bytes read from the host stream
	HostOut      int64 // bytes written to the host
}

// NewMachine returns a machine in its reset state.
func NewMachine(c Config) (*Machine, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Machine{Config: c, UB: make([]int8, c.UBBytes), written: make([]bool, c.UBBytes),
		Weights: make([]int8, c.WeightBytes), wset: make([]bool, c.WeightBytes),
		Acc: make([][]int32, c.Arch.AccDepth), Params: make([]*ParamSet, c.Arch.ParamSets)}
	for i := range m.Acc {
		m.Acc[i] = make([]int32, c.Arch.Cols)
	}
	return m, nil
}

type runState struct {
	m   *Machine
	pc  int
	in  []byte
	out []byte
	// fused is a checked ACTIVATE with fuse=1, waiting for the MATMUL or
	// CONVOLVE after it (the hardware reads the rows out with that
	// instruction's last tile).
	fused *activation
}

func (s *runState) fault(code ErrorCode, format string, args ...any) error {
	return &Fault{Code: code, PC: s.pc, Msg: fmt.Sprintf(format, args...)}
}

// Run executes words from the first until HALT, consuming the host input
// stream in and returning what the program wrote to the host. A bad
// program stops with a *Fault.
func (m *Machine) Run(words []Word, in []byte) ([]byte, error) {
	s := &runState{m: m, in: in}
	defer func() { m.PC = s.pc }()
	limit := m.MaxSteps
	if limit == 0 {
		limit = 1 << 20
	}
	for steps := 0; ; steps++ {
		if s.pc >= len(words) {
			return s.out, s.fault(ErrNoHalt, "the program ends without halt")
		}
		if steps >= limit {
			return s.out, s.fault(ErrStepLimit, "%d instructions without halt", limit)
		}
		inst, err := Decode(words[s.pc])
		if err != nil {
			f := err.(*Fault)
			f.PC = s.pc
			return s.out, f
		}
		m.Stats.Instructions++
		if s.fused != nil && inst.Op != OpMatMul && inst.Op != OpConvolve {
			return s.out, s.fault(ErrBadField, "opcode %d after a fused activate: it must be a matmul or convolve", inst.Op)
		}
		if inst.Op == OpHalt {
			return s.out, nil
		}
		if err := s.exec(inst); err != nil {
			return s.out, err
		}
		s.pc++
	}
}

func (s *runState) take(n int) ([]byte, error) {
	if n > len(s.in) {
		return nil, s.fault(ErrHostUnderflow, "needs %d bytes of the host stream, %d left", n, len(s.in))
	}
	b := s.in[:n]
	s.in = s.in[n:]
	s.m.Stats.HostIn += int64(n)
	return b, nil
}

func (s *runState) ubRange(name string, addr, n int64) error {
	if n < 0 || addr < 0 || addr+n > int64(len(s.m.UB)) {
		return s.fault(ErrUBRange, "%s [%#x, %#x) past the %d-byte unified buffer", name, addr, addr+n, len(s.m.UB))
	}
	return nil
}

func (s *runState) wRange(addr, n int64) error {
	if addr < 0 || addr+n > int64(len(s.m.Weights)) {
		return s.fault(ErrWeightRange, "weights [%#x, %#x) past the %d-byte weight memory", addr, addr+n, len(s.m.Weights))
	}
	return nil
}

// wWritten checks that the weights were written. Range checks come first
// (the core checks ranges when it decodes an instruction, data as it
// streams it).
func (s *runState) wWritten(addr, n int64) error {
	for i := addr; i < addr+n; i++ {
		if !s.m.wset[i] {
			return s.fault(ErrUnwritten, "weight byte %#x never written", i)
		}
	}
	return nil
}

func (s *runState) accRange(acc, m int64) error {
	if acc+m > int64(len(s.m.Acc)) {
		return s.fault(ErrAccRange, "accumulator rows [%d, %d) past acc_depth %d", acc, acc+m, len(s.m.Acc))
	}
	return nil
}

func (s *runState) lanes(n int64) error {
	if n < 1 || n > int64(s.m.Config.Arch.Cols) {
		return s.fault(ErrBadField, "n=%d lanes, the core has %d", n, s.m.Config.Arch.Cols)
	}
	return nil
}

func (s *runState) readUB(addr int64) (int8, error) {
	if !s.m.written[addr] {
		return 0, s.fault(ErrUnwritten, "UB byte %#x read before it is written", addr)
	}
	return s.m.UB[addr], nil
}

func (s *runState) exec(in Inst) error {
	m := s.m
	g := in.Get
	switch in.Op {
	case OpSync:
		return nil
	case OpReadHost:
		ub, n := g("ub"), g("len")
		if err := s.ubRange("read_host", ub, n); err != nil {
			return err
		}
		b, err := s.take(int(n))
		if err != nil {
			return err
		}
		for i, v := range b {
			m.UB[ub+int64(i)], m.written[ub+int64(i)] = int8(v), true
		}
	case OpWriteHost:
		ub, n := g("ub"), g("len")
		if err := s.ubRange("write_host", ub, n); err != nil {
			return err
		}
		for i := ub; i < ub+n; i++ {
			v, err := s.readUB(i)
			if err != nil {
				return err
			}
			s.out = append(s.out, byte(v))
		}
		m.Stats.HostOut += n
	case OpReadWeights:
		wa, n := g("waddr"), g("len")
		if wa+n > int64(len(m.Weights)) {
			return s.fault(ErrWeightRange, "read_weights [%#x, %#x) past the %d-byte weight memory", wa, wa+n, len(m.Weights))
		}
		b, err := s.take(int(n))
		if err != nil {
			return err
		}
		for i, v := range b {
			m.Weights[wa+int64(i)], m.wset[wa+int64(i)] = int8(v), true
		}
	case OpLoadParams:
		set, n := g("set"), g("len")
		if set >= int64(len(m.Params)) {
			return s.fault(ErrParamSet, "parameter set %d, the core has %d", set, len(m.Params))
		}
		full, short := ParamBlockBytes(m.Config.Arch.Cols), ParamWordBytes(m.Config.Arch.Cols)
		if n != int64(full) && n != int64(short) {
			return s.fault(ErrBadField, "load_params len=%d, a parameter block is %d bytes (%d without the table)", n, full, short)
		}
		b, err := s.take(int(n))
		if err != nil {
			return err
		}
		p := parseParams(b, m.Config.Arch.Cols)
		if err := s.checkParams(p); err != nil {
			return err
		}
		if n == int64(short) {
			if p.Act == arch.ActTable {
				return s.fault(ErrBadField, "load_params without the table for a table activation")
			}
			if old := m.Params[set]; old != nil {
				p.Table = old.Table // the table stays as it was
			}
		}
		m.Params[set] = p
	case OpMatMul:
		return s.matmul(in)
	case OpConvolve:
		return s.convolve(in)
	case OpActivate:
		return s.activate(in)
	default:
		return s.fault(ErrIllegalOpcode, "opcode %d", in.Op)
	}
	return nil
}

func (s *runState) checkParams(p *ParamSet) error {
	a := s.m.Config.Arch
	if p.Act > arch.ActTable || !a.Activation.Supports(p.Act) {
		return s.fault(ErrBadField, "activation mode %d is not in this core (activation: %v)", p.Act, a.Activation)
	}
	for j, l := range p.Lanes {
		if l.Shift < -31 || l.Shift > 30 || l.ActMin > l.ActMax || l.ActMin < -128 || l.ActMax > 127 || l.OutZP < -128 || l.OutZP > 127 {
			return s.fault(ErrBadField, "lane %d: shift %d, clamp [%d, %d], output zero point %d", j, l.Shift, l.ActMin, l.ActMax, l.OutZP)
		}
	}
	// The activation unit's fields: int8 zero points, 6-bit shifts.
	if lk := p.Leaky; lk.InputZeroPoint < -128 || lk.InputZeroPoint > 127 || lk.OutputZeroPoint < -128 || lk.OutputZeroPoint > 127 ||
		lk.IdentityShift < -32 || lk.IdentityShift > 31 || lk.AlphaShift < -32 || lk.AlphaShift > 31 {
		return s.fault(ErrBadField, "activation zero points %d, %d or shifts %d, %d out of range", lk.InputZeroPoint, lk.OutputZeroPoint, lk.IdentityShift, lk.AlphaShift)
	}
	if pp := p.Pool; pp.Enable {
		if !a.Pool || pp.Kind > arch.AveragePool || min(pp.KH, pp.KW, pp.SH, pp.SW) < 1 || max(pp.KH, pp.KW, pp.SH, pp.SW) > a.PoolWindow {
			return s.fault(ErrBadField, "pooling %v %dx%d stride %dx%d is not supported by this core (pool: %v, pool_window %d)",
				pp.Kind, pp.KH, pp.KW, pp.SH, pp.SW, a.Pool, a.PoolWindow)
		}
	}
	return nil
}

// clearLanes zeroes lanes n and up of the m rows an overwriting MATMUL or
// CONVOLVE writes: the array writes whole rows, its lanes past n with
// products of zero weights.
func (s *runState) clearLanes(acc, m, n int64, accumulate bool) {
	if accumulate {
		return
	}
	for r := acc; r < acc+m; r++ {
		for o := n; o < int64(len(s.m.Acc[r])); o++ {
			s.m.Acc[r][o] = 0
		}
	}
}

func (s *runState) store(acc int64, r int64, o int64, v int32, accumulate bool) {
	if accumulate {
		s.m.Acc[acc+r][o] += v
	} else {
		s.m.Acc[acc+r][o] = v
	}
}

func (s *runState) matmul(in Inst) error {
	g := in.Get
	ub, M, K, wa, N, acc := g("ub"), g("m"), g("k"), g("waddr"), g("n"), g("acc")
	if M < 1 || K < 1 {
		return s.fault(ErrBadField, "matmul m=%d k=%d", M, K)
	}
	if err := s.lanes(N); err != nil {
		return err
	}
	if err := s.ubRange("matmul", ub, M*K); err != nil {
		return err
	}
	if err := s.wRange(wa, N*K); err != nil {
		return err
	}
	if err := s.accRange(acc, M); err != nil {
		return err
	}
	if err := s.fusedWith(acc, M, ub, M*K); err != nil {
		return err
	}
	if err := s.wWritten(wa, N*K); err != nil {
		return err
	}
	s.clearLanes(acc, M, N, g("accumulate") != 0)
	row := make([]int8, K)
	for r := int64(0); r < M; r++ {
		for k := range row {
			v, err := s.readUB(ub + r*K + int64(k))
			if err != nil {
				return err
			}
			row[k] = v
		}
		for o := int64(0); o < N; o++ {
			w := s.m.Weights[wa+o*K : wa+(o+1)*K]
			var sum int32
			for k, x := range row {
				sum += int32(x) * int32(w[k])
			}
			s.store(acc, r, o, sum, g("accumulate") != 0)
		}
	}
	s.m.Stats.MACs += M * K * N
	return s.runFused()
}

// ConvOutput is the output size of a convolution window along one axis.
func ConvOutput(in, k, stride, dilation, padLo, padHi int) int {
	eff := (k-1)*dilation + 1
	if in+padLo+padHi < eff {
		return 0
	}
	return (in+padLo+padHi-eff)/stride + 1
}

func (s *runState) convolve(in Inst) error {
	g := in.Get
	ub, imgs, H, W, C := g("ub"), g("images"), g("h"), g("w"), g("c")
	kh, kw, sh, sw, dh, dw := g("kh"), g("kw"), g("sh"), g("sw"), g("dh"), g("dw")
	pt, pb, pl, pr, zp := g("pt"), g("pb"), g("pl"), g("pr"), int8(g("zp"))
	wa, N, acc := g("waddr"), g("n"), g("acc")
	if min(imgs, H, W, C, kh, kw, sh, sw, dh, dw) < 1 {
		return s.fault(ErrBadField, "convolve images=%d h=%d w=%d c=%d k=%dx%d s=%dx%d d=%dx%d: every size must be at least 1", imgs, H, W, C, kh, kw, sh, sw, dh, dw)
	}
	if err := s.lanes(N); err != nil {
		return err
	}
	OH, OW := int64(ConvOutput(int(H), int(kh), int(sh), int(dh), int(pt), int(pb))), int64(ConvOutput(int(W), int(kw), int(sw), int(dw), int(pl), int(pr)))
	if OH < 1 || OW < 1 {
		return s.fault(ErrBadField, "convolve: the %dx%d window is larger than the padded %dx%d map", kh, kw, H, W)
	}
	img := H * W * C
	K := kh * kw * C
	dw1, c0 := g("depthwise") != 0, g("c0")
	if dw1 {
		K = kh * kw
		if c0+N > C {
			return s.fault(ErrBadField, "depthwise lanes read channels %d..%d of %d", c0, c0+N-1, C)
		}
	} else if c0 != 0 {
		return s.fault(ErrBadField, "c0=%d without depthwise", c0)
	}
	if err := s.ubRange("convolve", ub, imgs*img); err != nil {
		return err
	}
	if err := s.wRange(wa, N*K); err != nil {
		return err
	}
	if err := s.accRange(acc, imgs*OH*OW); err != nil {
		return err
	}
	if err := s.fusedWith(acc, imgs*OH*OW, ub, imgs*img); err != nil {
		return err
	}
	if err := s.wWritten(wa, N*K); err != nil {
		return err
	}
	s.clearLanes(acc, imgs*OH*OW, N, g("accumulate") != 0)
	if dw1 {
		if err := s.depthwise(in, OH, OW, K); err != nil {
			return err
		}
		return s.runFused()
	}
	taps := make([]int8, K)
	r := int64(0)
	for n := int64(0); n < imgs; n++ {
		base := ub + n*img
		for oy := int64(0); oy < OH; oy++ {
			for ox := int64(0); ox < OW; ox++ {
				for fy := int64(0); fy < kh; fy++ {
					y := oy*sh + fy*dh - pt
					for fx := int64(0); fx < kw; fx++ {
						x := ox*sw + fx*dw - pl
						t := taps[(fy*kw+fx)*C : (fy*kw+fx+1)*C]
						if y < 0 || y >= H || x < 0 || x >= W {
							for c := range t {
								t[c] = zp
							}
							continue
						}
						for c := range t {
							v, err := s.readUB(base + (y*W+x)*C + int64(c))
							if err != nil {
								return err
							}
							t[c] = v
						}
					}
				}
				for o := int64(0); o < N; o++ {
					w := s.m.Weights[wa+o*K : wa+(o+1)*K]
					var sum int32
					for k, x := range taps {
						sum += int32(x) * int32(w[k])
					}
					s.store(acc, r, o, sum, g("accumulate") != 0)
				}
				r++
			}
		}
	}
	s.m.Stats.MACs += r * K * N
	return s.runFused()
}

// activation is a checked ACTIVATE: its rows, lanes, parameter set and
// frames, and the output pixels it writes at out, pitch bytes apart.
type activation struct {
	acc, m, n, out, pitch, fh, fw, pixels int64
	p                                     *ParamSet
}

// end is one past the last UB byte the activation writes.
func (a *activation) end() int64 { return a.out + (a.pixels-1)*a.pitch + a.n }

// fusedWith checks the MATMUL or CONVOLVE after a fused ACTIVATE: it
// writes exactly the rows the activate reads, and its input (UB bytes
// [ub, ub+n)) is none of the bytes the activate writes, which the
// hardware writes while the instruction still reads.
func (s *runState) fusedWith(acc, m, ub, n int64) error {
	f := s.fused
	if f == nil {
		return nil
	}
	if acc != f.acc || m != f.m {
		return s.fault(ErrBadField, "writes accumulator rows [%d, %d), the fused activate reads [%d, %d)", acc, acc+m, f.acc, f.acc+f.m)
	}
	if ub < f.end() && f.out < ub+n {
		return s.fault(ErrBadField, "reads UB [%#x, %#x), which the fused activate writes ([%#x, %#x))", ub, ub+n, f.out, f.end())
	}
	return nil
}

// runFused runs the fused ACTIVATE after its MATMUL or CONVOLVE.
func (s *runState) runFused() error {
	if f := s.fused; f != nil {
		s.fused = nil
		s.applyActivation(f)
	}
	return nil
}

func (s *runState) activate(in Inst) error {
	a, err := s.checkActivate(in)
	if err != nil {
		return err
	}
	if in.Get("fuse") != 0 {
		s.fused = a
		return nil
	}
	s.applyActivation(a)
	return nil
}

// checkActivate checks an ACTIVATE, in the order the core does.
func (s *runState) checkActivate(in Inst) (*activation, error) {
	g := in.Get
	acc, M, N, set, out, pitch, fh, fw := g("acc"), g("m"), g("n"), g("set"), g("out"), g("pitch"), g("fh"), g("fw")
	if err := s.lanes(N); err != nil {
		return nil, err
	}
	if set >= int64(len(s.m.Params)) || s.m.Params[set] == nil {
		return nil, s.fault(ErrParamSet, "parameter set %d is not loaded (the core has %d)", set, len(s.m.Params))
	}
	p := s.m.Params[set]
	if M < 1 || fh < 1 || fw < 1 || M%(fh*fw) != 0 {
		return nil, s.fault(ErrBadField, "activate m=%d rows are not whole %dx%d frames", M, fh, fw)
	}
	if pitch < N {
		return nil, s.fault(ErrBadField, "activate pitch=%d is less than n=%d lanes", pitch, N)
	}
	if err := s.accRange(acc, M); err != nil {
		return nil, err
	}
	a := &activation{acc: acc, m: M, n: N, out: out, pitch: pitch, fh: fh, fw: fw, pixels: M, p: p}
	if pp := p.Pool; pp.Enable {
		arc := s.m.Config.Arch
		if int(fh) > arc.PoolHeight || int(fw) > arc.PoolWidth || int(fh) < pp.KH || int(fw) < pp.KW {
			return nil, s.fault(ErrBadField, "pooling frame %dx%d: window %dx%d, the core pools frames up to %dx%d", fh, fw, pp.KH, pp.KW, arc.PoolHeight, arc.PoolWidth)
		}
		a.pixels = pooledPixels(M, fh, fw, pp)
	}
	if err := s.ubRange("activate", out, (a.pixels-1)*pitch+N); err != nil {
		return nil, err
	}
	return a, nil
}

// applyActivation requantizes, activates and pools the activation's rows
// into the unified buffer.
func (s *runState) applyActivation(act *activation) {
	a, p, M, N := s.m.Config.Arch, act.p, act.m, act.n
	rounding := quant.RoundingDouble
	if a.Rounding.IsSingle() {
		rounding = quant.RoundingSingle
	}
	vals := make([]int8, M*N)
	for r := int64(0); r < M; r++ {
		for j := int64(0); j < N; j++ {
			l := p.Lanes[j]
			v := int8(quant.Requantize(s.m.Acc[act.acc+r][j], l.Bias, l.Multiplier, int(l.Shift), l.OutZP, l.ActMin, l.ActMax, rounding))
			switch p.Act {
			case arch.ActLeaky:
				v = quant.LeakyReLUInt8(v, p.Leaky)
			case arch.ActTable:
				v = p.Table[uint8(v)]
			}
			vals[r*N+j] = v
		}
	}
	if pp := p.Pool; pp.Enable {
		shape := quant.Shape{N: int(M / (act.fh * act.fw)), H: int(act.fh), W: int(act.fw), C: int(N)}
		params := quant.PoolParams{Window: quant.Window{StrideH: pp.SH, StrideW: pp.SW, Padding: quant.PaddingValid}, FilterH: pp.KH, FilterW: pp.KW}
		var err error
		if pp.Kind == arch.AveragePool {
			vals, _, err = quant.AveragePool(vals, shape, params)
		} else {
			vals, _, err = quant.MaxPool(vals, shape, params)
		}
		if err != nil || int64(len(vals)) != act.pixels*N {
			// checkActivate allows only frames the window fits.
			panic(fmt.Sprintf("core: pooling a checked activation: %v", err))
		}
	}
	for px := int64(0); px < act.pixels; px++ {
		for j := int64(0); j < N; j++ {
			a := act.out + px*act.pitch + j
			s.m.UB[a], s.m.written[a] = vals[px*N+j], true
		}
	}
}

// depthwise is CONVOLVE with depthwise=1: lane o convolves input channel
// c0+o with its own kh*kw weights.
func (s *runState) depthwise(in Inst, OH, OW, K int64) error {
	g := in.Get
	ub, imgs, H, W, C := g("ub"), g("images"), g("h"), g("w"), g("c")
	kh, kw, sh, sw, dh, dw := g("kh"), g("kw"), g("sh"), g("sw"), g("dh"), g("dw")
	pt, pl, zp := g("pt"), g("pl"), int32(int8(g("zp")))
	wa, N, acc, c0 := g("waddr"), g("n"), g("acc"), g("c0")
	r := int64(0)
	for n := int64(0); n < imgs; n++ {
		base := ub + n*H*W*C
		for oy := int64(0); oy < OH; oy++ {
			for ox := int64(0); ox < OW; ox++ {
				for o := int64(0); o < N; o++ {
					var sum int32
					for fy := int64(0); fy < kh; fy++ {
						y := oy*sh + fy*dh - pt
						for fx := int64(0); fx < kw; fx++ {
							x := ox*sw + fx*dw - pl
							v := zp
							if y >= 0 && y < H && x >= 0 && x < W {
								b, err := s.readUB(base + (y*W+x)*C + c0 + o)
								if err != nil {
									return err
								}
								v = int32(b)
							}
							sum += v * int32(s.m.Weights[wa+o*K+fy*kw+fx])
						}
					}
					s.store(acc, r, o, sum, g("accumulate") != 0)
				}
				r++
			}
		}
	}
	s.m.Stats.MACs += r * K * N
	return nil
}
