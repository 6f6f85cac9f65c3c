package arch

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"os"
	"path/filepath"
)

// ManifestVersion is bumped whenever the manifest format changes.
const ManifestVersion = 2

// Manifest describes a generated RTL directory for tools that do not read
// Go: the resolved configuration, the top module, its ports and streams
// with their payload layouts, the protocol (parameter targets, addresses,
// encodings), derived timing facts and the files with their hashes. It is
// the one declaration of manifest.json: the generator fills it in, every
// reader decodes it.
type Manifest struct {
	Generator string   `json:"generator"`
	Version   int      `json:"version"`
	Config    Config   `json:"config"`
	Top       string   `json:"top"`
	Clock     string   `json:"clock"`
	Reset     string   `json:"reset"`
	Ports     []Port   `json:"ports"`
	Streams   []Layout `json:"streams"`
	Derived   Derived  `json:"derived"`
	// Params gives the layout of each pipeline stage's parameter word, by
	// stage, for packing p_in beats.
	Params   map[Stage][]Field `json:"params,omitempty"`
	Protocol *Protocol         `json:"protocol,omitempty"`
	// Core describes the core top (present when the configuration has a
	// core): its memories, register file and instruction encoding.
	Core  *CoreManifest `json:"core,omitempty"`
	Files []File        `json:"files"`
}

// CoreManifest is the software view of a core: buffer sizes, the AXI4-Lite
// register map and the instruction set's encoding (core.Encode, kept raw
// here because arch must not import core).
type CoreManifest struct {
	UBBytes     int `json:"ub_bytes"`
	WeightBytes int `json:"weight_bytes"`
	BeatBytes   int `json:"beat_bytes"`
	// DrainCycles is ACTIVATE's wait for the pipeline (the cycle model's).
	DrainCycles int             `json:"drain_cycles"`
	Registers   []Register      `json:"registers"`
	ISA         json.RawMessage `json:"isa"`
}

// Register is one 32-bit register of the core's AXI4-Lite register file.
type Register struct {
	Name   string  `json:"name"`
	Addr   int     `json:"addr"`
	Access string  `json:"access"` // "r", "w" or "rw"
	Doc    string  `json:"doc"`
	Fields []Field `json:"fields,omitempty"`
}

// The core's streams.
const (
	StreamI = "i_in"  // instructions
	StreamD = "d_in"  // host data
	StreamO = "o_out" // results to the host
)

// Port is one top-level port.
type Port struct {
	Name   string `json:"name"`
	Dir    string `json:"dir"` // "in" or "out"
	Width  int    `json:"width"`
	Signed bool   `json:"signed"`
}

// Field is one part of a stream payload or parameter word: Lanes
// consecutive elements of Width bits from bit LSB (lane k at LSB+k*Width).
type Field struct {
	Name   string `json:"name"`
	LSB    int    `json:"lsb"`
	Width  int    `json:"width"`
	Lanes  int    `json:"lanes"`
	Signed bool   `json:"signed"`
}

// Layout is a valid/ready stream of the top module and its payload fields.
type Layout struct {
	Name   string  `json:"name"`
	Dir    string  `json:"dir"` // "in" (driven by the host) or "out"
	Valid  string  `json:"valid"`
	Ready  string  `json:"ready"`
	Data   string  `json:"data"`
	Width  int     `json:"width"`
	Fields []Field `json:"fields"`
}

// Derived holds parameters the generator computed from the configuration,
// among them the timing facts the cycle model uses.
type Derived struct {
	SumBits     int  `json:"sum_bits"`
	ProductBits int  `json:"product_bits"`
	AccSigned   bool `json:"acc_signed"`
	AccAddrBits int  `json:"acc_addr_bits"`
	Latency     int  `json:"latency"`
	// OSGap is the least spacing in cycles between the last beats of two
	// output-stationary tiles (results are read out before the next tile
	// overwrites them).
	OSGap   int `json:"os_gap,omitempty"`
	TagBits int `json:"tag_bits,omitempty"`
	// PipelineLatency is the register stages of the post-array pipeline: a
	// row that would leave on c_out at cycle c leaves on y_out at cycle
	// c + PipelineLatency (for a pooled map, its last output pixel).
	PipelineLatency int `json:"pipeline_latency,omitempty"`
}

// File is one generated Verilog file.
type File struct {
	Name   string `json:"name"`
	Module string `json:"module"`
	SHA256 string `json:"sha256"`
}

// Stage names a post-array pipeline stage.
type Stage string

const (
	StageRequant    Stage = "requant"
	StageActivation Stage = "activation"
	StagePool       Stage = "pool"
	StageSoftmax    Stage = "softmax"
)

// Protocol is how a host talks to the post-array pipeline through p_in:
// which target number addresses which stage, where each stage's control
// word lives, and how modes are encoded in those words.
type Protocol struct {
	// Targets maps a stage to the value of p_in's target field.
	Targets    map[Stage]int       `json:"targets"`
	Activation *ActivationProtocol `json:"activation,omitempty"`
	Pool       *PoolProtocol       `json:"pool,omitempty"`
	Softmax    *SoftmaxProtocol    `json:"softmax,omitempty"`
}

// ActivationProtocol addresses the activation unit's parameters.
type ActivationProtocol struct {
	// ControlAddr is the control word's address; table entry x (for the
	// input whose bit pattern is x) is at TableAddr+x.
	ControlAddr int `json:"control_addr"`
	TableAddr   int `json:"table_addr"`
	TableSize   int `json:"table_size"`
	// TableEntry is the layout of a table entry's parameter word.
	TableEntry []Field `json:"table_entry"`
	// Modes encodes ActivationFunc in the control word's mode field.
	Modes map[ActivationFunc]int `json:"modes"`
}

// SoftmaxProtocol addresses the softmax unit's parameters: per set, the
// exponential table (TableSize entries from TableAddr, entry d being
// exp(-d·beta·scale) in Q0.31: quant.SoftmaxExpTable) and the control word
// (depth: how many lanes from lane 0 form the row; 0 passes through).
type SoftmaxProtocol struct {
	ControlAddr int     `json:"control_addr"`
	TableAddr   int     `json:"table_addr"`
	TableSize   int     `json:"table_size"`
	TableEntry  []Field `json:"table_entry"`
}

// PoolProtocol addresses the pooling unit's parameters.
type PoolProtocol struct {
	ControlAddr int `json:"control_addr"`
	// Modes encodes PoolKind in the control word's mode field.
	Modes map[PoolKind]int `json:"modes"`
}

// Stream and field names of the matrix unit's top module.
const (
	StreamW = "w_in"  // weight tiles
	StreamA = "a_in"  // activation rows with accumulator control
	StreamC = "c_out" // raw accumulator rows
	StreamP = "p_in"  // pipeline parameter words
	StreamY = "y_out" // requantized (activated, pooled) rows
)

// ParseManifest decodes and checks a manifest: every stream and field a
// driver of the matrix unit packs or unpacks must be present, so later
// look-ups cannot fail.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return &m, nil
}

func (m *Manifest) check() error {
	if m.Top == "" || len(m.Files) == 0 || m.Config.Rows < 1 || m.Config.Cols < 1 {
		return errors.New("missing top, files or array size")
	}
	if m.Version != ManifestVersion {
		return fmt.Errorf("version %d, this tpugen reads version %d (regenerate the RTL: tpugen rtl)", m.Version, ManifestVersion)
	}
	// An edited manifest is untrusted: sizes the planners shift or
	// allocate by must be sane before anyone computes with them.
	if c := m.Config; c.Rows > 4096 || c.Cols > 4096 || c.InputBits < 1 || c.InputBits > 32 || c.WeightBits < 1 || c.WeightBits > 32 ||
		c.AccBits < 2 || c.AccBits > 64 || c.AccDepth < 1 {
		return fmt.Errorf("config %dx%d, input_bits %d, weight_bits %d, acc_bits %d, acc_depth %d: out of range",
			c.Rows, c.Cols, c.InputBits, c.WeightBits, c.AccBits, c.AccDepth)
	}
	if m.Core != nil {
		return m.checkCore()
	}
	need := map[string][]string{
		StreamW: {"weights"},
		StreamA: {"acts", "addr", "first", "acc", "last"},
		StreamC: {"sums", "addr"},
	}
	if m.Config.Dataflow.IsOS() {
		need[StreamA] = append(need[StreamA], "rows")
	}
	if m.Config.WeightCompression.IsCompressed() {
		need[StreamW] = []string{"bytes", "count", "last"}
	}
	if m.Config.Requant {
		need[StreamA] = append(need[StreamA], "tag", "raw")
		need[StreamC] = append(need[StreamC], "tag")
		need[StreamP] = []string{"target", "set", "addr", "data"}
		need[StreamY] = []string{"values", "tag"}
		if m.Protocol == nil {
			return errors.New("a pipeline without a protocol section")
		}
		if _, ok := m.Params[StageRequant]; !ok {
			return errors.New("a pipeline without requantizer parameter fields")
		}
		_, act := m.Params[StageActivation]
		_, pool := m.Params[StagePool]
		_, softmax := m.Params[StageSoftmax]
		if act != (m.Protocol.Activation != nil) || pool != (m.Protocol.Pool != nil) || softmax != (m.Protocol.Softmax != nil) {
			return errors.New("the protocol section and the parameter layouts name different stages")
		}
		for s := range m.Params {
			if _, ok := m.Protocol.Targets[s]; !ok {
				return fmt.Errorf("no p_in target for stage %q", s)
			}
		}
	}
	for s, fields := range need {
		l := m.layout(s)
		if l == nil {
			return fmt.Errorf("no stream %q", s)
		}
		for _, f := range fields {
			if l.Field(f) == nil {
				return fmt.Errorf("stream %q has no field %q", s, f)
			}
		}
	}
	return nil
}

func (m *Manifest) checkCore() error {
	need := map[string][]string{StreamI: {"inst", "last"}, StreamD: {"data", "keep", "last"}, StreamO: {"data", "keep", "last"}}
	for _, s := range []string{StreamI, StreamD, StreamO} {
		l := m.layout(s)
		if l == nil {
			return fmt.Errorf("core: no stream %q", s)
		}
		for _, f := range need[s] {
			if l.Field(f) == nil {
				return fmt.Errorf("core: stream %q has no field %q", s, f)
			}
		}
	}
	if m.Core.UBBytes < 1 || m.Core.WeightBytes < 1 || len(m.Core.Registers) == 0 || len(m.Core.ISA) == 0 {
		return errors.New("core: missing buffer sizes, registers or instruction encoding")
	}
	return nil
}

// LoadManifest reads dir/manifest.json.
func LoadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w (generate the RTL first: tpugen rtl)", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// Stream returns the named stream's layout. The streams ParseManifest
// checks are always there; asking for another that is missing is a
// programming error and panics with the name.
func (m *Manifest) Stream(name string) *Layout {
	if l := m.layout(name); l != nil {
		return l
	}
	panic(fmt.Sprintf("manifest: no stream %q", name))
}

// HasStream reports whether the design has the named stream.
func (m *Manifest) HasStream(name string) bool { return m.layout(name) != nil }

func (m *Manifest) layout(name string) *Layout {
	for i := range m.Streams {
		if m.Streams[i].Name == name {
			return &m.Streams[i]
		}
	}
	return nil
}

// Field returns the named payload field, or nil.
func (l *Layout) Field(name string) *Field {
	for i := range l.Fields {
		if l.Fields[i].Name == name {
			return &l.Fields[i]
		}
	}
	return nil
}

// Values maps field names to lane values, lane 0 first.
type Values map[string][]int64

// Pack builds a payload from field values: missing fields and lanes are
// zero, values are truncated to their field width (two's complement). A
// name that is not a field is an error, so a typo never packs silently.
func Pack(fields []Field, vals Values) (*big.Int, error) {
	// Payloads are built word by word: this runs for every beat of every
	// simulated layer, and big.Int arithmetic per lane dominated it.
	words := make([]uint64, (Bits(fields)+63)/64+1)
	known := 0
	var wide *big.Int // fields wider than 64 bits, rare
	for _, f := range fields {
		lanes, ok := vals[f.Name]
		if ok {
			known++
		}
		for k := 0; k < f.Lanes && k < len(lanes); k++ {
			pos := f.LSB + k*f.Width
			if f.Width > 64 {
				lane := new(big.Int).SetInt64(lanes[k])
				lane.And(lane, mask(f.Width))
				if wide == nil {
					wide = new(big.Int)
				}
				wide.Or(wide, lane.Lsh(lane, uint(pos)))
				continue
			}
			v := uint64(lanes[k])
			if f.Width < 64 {
				v &= 1<<f.Width - 1
			}
			w, b := pos/64, uint(pos%64)
			words[w] |= v << b
			if b != 0 && b+uint(f.Width) > 64 {
				words[w+1] |= v >> (64 - b)
			}
		}
	}
	if known != len(vals) {
		for name := range vals {
			if fieldIndex(fields, name) < 0 {
				return nil, fmt.Errorf("no field %q in the layout", name)
			}
		}
	}
	v := fromWords(words)
	if wide != nil {
		v.Or(v, wide)
	}
	return v, nil
}

// fromWords is the non-negative integer of little-endian 64-bit words.
func fromWords(words []uint64) *big.Int {
	if bits.UintSize == 64 {
		ws := make([]big.Word, len(words))
		for i, w := range words {
			ws[i] = big.Word(w)
		}
		return new(big.Int).SetBits(ws)
	}
	v := new(big.Int)
	for i := len(words) - 1; i >= 0; i-- {
		v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(words[i]))
	}
	return v
}

// Pack builds a payload of the stream (see the function Pack).
func (l *Layout) Pack(vals Values) (*big.Int, error) { return Pack(l.Fields, vals) }

// Unpack returns the lanes of the named field of a payload, sign-extended
// when the field is signed.
func (l *Layout) Unpack(v *big.Int, name string) ([]int64, error) {
	f := l.Field(name)
	if f == nil {
		return nil, fmt.Errorf("stream %q has no field %q", l.Name, name)
	}
	return f.Unpack(v), nil
}

// Unpack returns the field's lanes of a payload.
func (f Field) Unpack(v *big.Int) []int64 {
	out := make([]int64, f.Lanes)
	for k := range out {
		lane := new(big.Int).Rsh(v, uint(f.LSB+k*f.Width))
		lane.And(lane, mask(f.Width))
		x := lane.Int64()
		if f.Signed && f.Width < 64 && x>>(f.Width-1)&1 == 1 {
			x -= 1 << f.Width
		}
		out[k] = x
	}
	return out
}

func fieldIndex(fields []Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func mask(width int) *big.Int {
	return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(width)), big.NewInt(1))
}

// Bits is the total width of a field list.
func Bits(fields []Field) int {
	n := 0
	for _, f := range fields {
		n = max(n, f.LSB+f.Width*f.Lanes)
	}
	return n
}
