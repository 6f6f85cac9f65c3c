package core

import (
	"fmt"
)

// WordBits is the width of one instruction.
const WordBits = 256

// Word is one encoded instruction: bit i is bit i%64 of Word[i/64].
type Word [WordBits / 64]uint64

// Opcode is an instruction's bits [3:0].
type Opcode uint8

const (
	OpHalt        Opcode = 0 // stop; the program is done
	OpReadHost    Opcode = 1 // host stream → UB[ub, ub+len)
	OpWriteHost   Opcode = 2 // UB[ub, ub+len) → host output stream
	OpReadWeights Opcode = 3 // host stream → weight memory [waddr, waddr+len)
	OpLoadParams  Opcode = 4 // host stream → parameter set (one block)
	OpMatMul      Opcode = 5 // UB rows × weights → accumulators
	OpConvolve    Opcode = 6 // on-chip convolution window × weights → accumulators
	OpActivate    Opcode = 7 // accumulators → requantize → activation → pooling → UB
	OpSync        Opcode = 8 // wait until every earlier instruction has finished
)

// OpcodeBits is the width of the opcode field at bit 0.
const OpcodeBits = 4

// Field is one field of an instruction: Width bits from bit LSB, two's
// complement when Signed. Default is the value an assembly line that omits
// the field gets.
type Field struct {
	Name    string
	LSB     int
	Width   int
	Signed  bool
	Default int64
	Doc     string
}

// Range is the field's inclusive value range.
func (f Field) Range() (lo, hi int64) {
	if f.Signed {
		return -(1 << (f.Width - 1)), 1<<(f.Width-1) - 1
	}
	return 0, 1<<f.Width - 1
}

// Group is an assembly shorthand that sets several fields at once:
// "k=5x5" (kh, kw), "pad=1,2,1,2" (top, bottom, left, right); one value
// sets them all ("k=5", "pad=2").
type Group struct {
	Name  string
	Sep   string
	Parts []string
}

// Format is one opcode's mnemonic and fields (after the opcode).
type Format struct {
	Op       Opcode
	Mnemonic string
	Doc      string
	Fields   []Field
	Groups   []Group
}

// fields lays out consecutive fields from bit OpcodeBits.
func fields(fs ...Field) []Field {
	lsb := OpcodeBits
	for i := range fs {
		fs[i].LSB = lsb
		lsb += fs[i].Width
	}
	if lsb > WordBits {
		panic(fmt.Sprintf("core: format needs %d bits", lsb))
	}
	return fs
}

func u(name string, width int, doc string) Field { return Field{Name: name, Width: width, Doc: doc} }
func u1(name string, width int, doc string) Field {
	return Field{Name: name, Width: width, Default: 1, Doc: doc}
}

// Address and size widths: 24-bit byte addresses reach 16 MiB of unified
// buffer or weight memory.
const (
	AddrBits   = 24
	AccRowBits = 16
	DimBits    = 16
	LaneBits   = 8
	SetBits    = 8
)

// Formats is the instruction set, by opcode: the single source of truth
// of the encoding.
var Formats = []Format{
	{Op: OpHalt, Mnemonic: "halt", Doc: "stop; status done"},
	{Op: OpReadHost, Mnemonic: "read_host", Doc: "copy len bytes of the host stream into the unified buffer at ub",
		Fields: fields(u("ub", AddrBits, "UB byte address"), u("len", AddrBits, "bytes"))},
	{Op: OpWriteHost, Mnemonic: "write_host", Doc: "send len bytes of the unified buffer from ub to the host",
		Fields: fields(u("ub", AddrBits, "UB byte address"), u("len", AddrBits, "bytes"))},
	{Op: OpReadWeights, Mnemonic: "read_weights", Doc: "copy len bytes of the host stream into the weight memory at waddr",
		Fields: fields(u("waddr", AddrBits, "weight memory byte address"), u("len", AddrBits, "bytes"))},
	{Op: OpLoadParams, Mnemonic: "load_params", Doc: "load one parameter block of the host stream into parameter set set",
		Fields: fields(u("set", SetBits, "parameter set"), u("len", AddrBits, "bytes: ParamBlockBytes(cols), or ParamWordBytes(cols) to keep the table (not for a table activation)"))},
	{Op: OpMatMul, Mnemonic: "matmul", Doc: "acc[acc+r][o] (+)= sum_k UB[ub+r*k+k'] * W[waddr+o*k+k'] for r < m, o < n",
		Fields: fields(u("ub", AddrBits, "UB address of row 0 (rows of k bytes)"), u("m", DimBits, "rows"),
			u("k", DimBits, "reduction length"), u("waddr", AddrBits, "weight address (n rows of k bytes)"),
			u("n", LaneBits, "output lanes (<= cols)"), u("acc", AccRowBits, "first accumulator row"),
			u("accumulate", 1, "1: add to the accumulators, 0: overwrite"))},
	{Op: OpConvolve, Mnemonic: "convolve", Doc: "for each of images NHWC maps at ub, each output pixel and lane o: acc row (+)= sum over the window of x * W[waddr+o*kh*kw*c+...], padding taps reading zp",
		Fields: fields(u("ub", AddrBits, "UB address of image 0 (NHWC, images back to back)"),
			u1("images", DimBits, "images"), u("h", 12, "map height"), u("w", 12, "map width"), u("c", 12, "channels"),
			u1("kh", 5, "kernel height"), u1("kw", 5, "kernel width"), u1("sh", 4, "stride"), u1("sw", 4, "stride"),
			u1("dh", 4, "dilation"), u1("dw", 4, "dilation"),
			u("pt", 5, "padding top"), u("pb", 5, "padding bottom"), u("pl", 5, "padding left"), u("pr", 5, "padding right"),
			Field{Name: "zp", Width: 8, Signed: true, Doc: "input zero point: the value of padding taps"},
			u("waddr", AddrBits, "weight address (n rows of kh*kw*c bytes, OHWI)"),
			u("n", LaneBits, "output lanes (<= cols)"), u("acc", AccRowBits, "first accumulator row"),
			u("accumulate", 1, "1: add to the accumulators, 0: overwrite"),
			u("depthwise", 1, "1: lane o reads input channel c0+o only; weights are n rows of kh*kw bytes"),
			u("c0", 12, "depthwise: the input channel of lane 0")),
		Groups: []Group{{"k", "x", []string{"kh", "kw"}}, {"s", "x", []string{"sh", "sw"}},
			{"d", "x", []string{"dh", "dw"}}, {"pad", ",", []string{"pt", "pb", "pl", "pr"}}}},
	{Op: OpActivate, Mnemonic: "activate", Doc: "m accumulator rows of n lanes through parameter set set (requantize, activation, pooling over frames of fh x fw rows) into UB: output pixel p, lane j at out+p*pitch+j",
		Fields: fields(u("acc", AccRowBits, "first accumulator row"), u("m", DimBits, "rows"),
			u("n", LaneBits, "lanes (<= cols)"), u("set", SetBits, "parameter set"),
			u("out", AddrBits, "UB address of output pixel 0, lane 0"), u("pitch", DimBits, "UB bytes between output pixels"),
			u1("fh", 12, "pooling frame height (rows per frame = fh*fw)"), u1("fw", 12, "pooling frame width"),
			u("fuse", 1, "1: checked now, run as the next instruction's last tile: a matmul or convolve writing rows acc..acc+m-1 and reading none of the bytes written here"))},
	{Op: OpSync, Mnemonic: "sync", Doc: "wait until every earlier instruction has finished"},
}

// FormatOf returns the format of op.
func FormatOf(op Opcode) (*Format, bool) {
	for i := range Formats {
		if Formats[i].Op == op {
			return &Formats[i], true
		}
	}
	return nil, false
}

func formatByMnemonic(m string) (*Format, bool) {
	for i := range Formats {
		if Formats[i].Mnemonic == m {
			return &Formats[i], true
		}
	}
	return nil, false
}

// Inst is a decoded instruction: its opcode and its fields' values in the
// format's order.
type Inst struct {
	Op   Opcode
	Args []int64
}

// Get returns the value of the named field (0 when the format has none).
func (in Inst) Get(name string) int64 {
	f, ok := FormatOf(in.Op)
	if !ok {
		return 0
	}
	for i, fd := range f.Fields {
		if fd.Name == name && i < len(in.Args) {
			return in.Args[i]
		}
	}
	return 0
}

// New builds an instruction from named values; omitted fields take their
// defaults. It reports unknown fields and values out of range.
func New(op Opcode, vals map[string]int64) (Inst, error) {
	f, ok := FormatOf(op)
	if !ok {
		return Inst{}, fmt.Errorf("illegal opcode %d", op)
	}
	in := Inst{Op: op, Args: make([]int64, len(f.Fields))}
	seen := 0
	for i, fd := range f.Fields {
		v, ok := vals[fd.Name]
		if !ok {
			v = fd.Default
		} else {
			seen++
		}
		if lo, hi := fd.Range(); v < lo || v > hi {
			return Inst{}, fmt.Errorf("%s: %s=%d out of range [%d, %d]", f.Mnemonic, fd.Name, v, lo, hi)
		}
		in.Args[i] = v
	}
	if seen != len(vals) {
		for name := range vals {
			if !hasField(f, name) {
				return Inst{}, fmt.Errorf("unknown field %q for %s", name, f.Mnemonic)
			}
		}
	}
	return in, nil
}

// MustNew is New for instructions built by the compiler from checked
// values; it panics on a programming error.
func MustNew(op Opcode, vals map[string]int64) Inst {
	in, err := New(op, vals)
	if err != nil {
		panic("core: " + err.Error())
	}
	return in
}

func hasField(f *Format, name string) bool {
	for _, fd := range f.Fields {
		if fd.Name == name {
			return true
		}
	}
	return false
}

// Encode packs the instruction into a word.
func (in Inst) Encode() (Word, error) {
	f, ok := FormatOf(in.Op)
	if !ok {
		return Word{}, fmt.Errorf("illegal opcode %d", in.Op)
	}
	if len(in.Args) != len(f.Fields) {
		return Word{}, fmt.Errorf("%s: %d values for %d fields", f.Mnemonic, len(in.Args), len(f.Fields))
	}
	var w Word
	w.set(0, OpcodeBits, uint64(in.Op))
	for i, fd := range f.Fields {
		v := in.Args[i]
		if lo, hi := fd.Range(); v < lo || v > hi {
			return Word{}, fmt.Errorf("%s: %s=%d out of range [%d, %d]", f.Mnemonic, fd.Name, v, lo, hi)
		}
		w.set(fd.LSB, fd.Width, uint64(v)&(1<<fd.Width-1))
	}
	return w, nil
}

// Decode unpacks a word. An illegal opcode or a bit set outside every
// field of the format is an error (ErrIllegalOpcode).
func Decode(w Word) (Inst, error) {
	op := Opcode(w.get(0, OpcodeBits))
	f, ok := FormatOf(op)
	if !ok {
		return Inst{}, &Fault{Code: ErrIllegalOpcode, PC: -1, Msg: fmt.Sprintf("illegal opcode %d", op)}
	}
	in := Inst{Op: op, Args: make([]int64, len(f.Fields))}
	used := Word{}
	used.set(0, OpcodeBits, 1<<OpcodeBits-1)
	for i, fd := range f.Fields {
		raw := w.get(fd.LSB, fd.Width)
		v := int64(raw)
		if fd.Signed && raw>>(fd.Width-1) != 0 {
			v -= 1 << fd.Width
		}
		in.Args[i] = v
		used.set(fd.LSB, fd.Width, 1<<fd.Width-1)
	}
	for i := range w {
		if w[i]&^used[i] != 0 {
			return Inst{}, &Fault{Code: ErrIllegalOpcode, PC: -1, Msg: fmt.Sprintf("%s: reserved bits set in limb %d (%#x)", f.Mnemonic, i, w[i]&^used[i])}
		}
	}
	return in, nil
}

func (w *Word) set(lsb, width int, v uint64) {
	for b := 0; b < width; b++ {
		i := lsb + b
		if v>>b&1 != 0 {
			w[i/64] |= 1 << (i % 64)
		} else {
			w[i/64] &^= 1 << (i % 64)
		}
	}
}

func (w Word) get(lsb, width int) uint64 {
	var v uint64
	for b := 0; b < width; b++ {
		i := lsb + b
		v |= (w[i/64] >> (i % 64) & 1) << b
	}
	return v
}
