package gen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/blocks"
)

// Config is a tpugen configuration: the single source of truth for the RTL,
// the C header and the golden model. Keys are strict: an unknown key is an
// error, so a misspelling never silently falls back to a default.
type Config struct {
	Name         string        `json:"name"`
	Rows         int           `json:"rows"`
	Cols         int           `json:"cols"`
	Dataflow     arch.Dataflow `json:"dataflow"`
	InputBits    int           `json:"input_bits"`
	InputSigned  *bool         `json:"input_signed,omitempty"`
	WeightBits   int           `json:"weight_bits"`
	WeightSigned *bool         `json:"weight_signed,omitempty"`
	AccBits      int           `json:"acc_bits"`
	AccDepth     int           `json:"acc_depth"`
	MAC          arch.MACForm  `json:"mac"`
	// MACStages adds register stages to the multiply-accumulate paths for
	// clock speed (blocks.MatrixConfig.MACStages): the PEs' products, the
	// accumulator's read-add-write and the advance enable; 0 keeps the
	// single-cycle forms. Throughput is unchanged; the latency grows.
	MACStages int `json:"mac_stages,omitempty"`
	// Stall "credit" runs the array without a stall enable: beats that make
	// results wait for room in an output FIFO instead (blocks.MatrixConfig.Stall).
	Stall arch.Stall `json:"stall,omitempty"`

	// The post-array pipeline (all off by default: results leave as raw
	// accumulator rows).
	Requant    bool             `json:"requant"`
	Rounding   arch.Rounding    `json:"rounding"`
	Activation arch.Activations `json:"activation"`
	Pool       bool             `json:"pool"`
	PoolWindow int              `json:"pool_window,omitempty"`
	PoolWidth  int              `json:"pool_width,omitempty"`
	PoolHeight int              `json:"pool_height,omitempty"`
	PoolL2     bool             `json:"pool_l2,omitempty"`
	Softmax    bool             `json:"softmax,omitempty"`
	ParamSets  int              `json:"param_sets,omitempty"`

	// WeightCompression "bitmask" puts a decoder (blocks.WeightDecoder) in
	// front of the array: w_in then carries compressed beats.
	WeightCompression arch.WeightCompression `json:"weight_compression,omitempty"`

	// Core turns on the core around the matrix unit (blocks.CoreConfig):
	// the generated top is then tpu_core.
	Core *arch.CoreConfig `json:"core,omitempty"`
	// CoreMutant generates a deliberately broken core (tests only).
	CoreMutant blocks.CoreMutant `json:"-"`
}

// Defaults used for keys a configuration leaves out. The modes' defaults
// are their zero values: ws, split, double, no activation unit.
const (
	DefaultBits     = 8
	DefaultAccBits  = 32
	DefaultAccDepth = 512
	DefaultPoolSize = 32
	DefaultSets     = 4
)

// DefaultConfig is the embedded default (configs/default.json): the 8x8
// weight-stationary int8 array with the whole pipeline (double-rounding
// requantizer, LeakyReLU and tables, 3x3 pooling on maps up to 32x32).
func DefaultConfig() Config {
	c := Config{Name: "default", Rows: 8, Cols: 8, Requant: true, Activation: arch.AllActivations, Pool: true}
	c.applyDefaults()
	return c
}

func boolPtr(b bool) *bool { return &b }

func (c *Config) applyDefaults() {
	if c.InputBits == 0 {
		c.InputBits = DefaultBits
	}
	if c.WeightBits == 0 {
		c.WeightBits = DefaultBits
	}
	if c.InputSigned == nil {
		c.InputSigned = boolPtr(true)
	}
	if c.WeightSigned == nil {
		c.WeightSigned = boolPtr(true)
	}
	if c.AccBits == 0 {
		c.AccBits = DefaultAccBits
	}
	if c.AccDepth == 0 {
		c.AccDepth = DefaultAccDepth
	}
	if c.PoolWindow == 0 {
		c.PoolWindow = 3
	}
	if c.PoolWidth == 0 {
		c.PoolWidth = DefaultPoolSize
	}
	if c.PoolHeight == 0 {
		c.PoolHeight = DefaultPoolSize
	}
	if c.ParamSets == 0 {
		c.ParamSets = DefaultSets
	}
}

// tagBits returns log2(param_sets), or 0 when it is not a power of two.
func (c Config) tagBits() int {
	for b := 1; b <= 8; b++ {
		if 1<<b == c.ParamSets {
			return b
		}
	}
	return 0
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Matrix returns the matrix-unit configuration (defaults applied).
func (c Config) Matrix() blocks.MatrixConfig {
	c.applyDefaults()
	return blocks.MatrixConfig{
		Rows: c.Rows, Cols: c.Cols, Dataflow: c.Dataflow,
		InputBits: c.InputBits, InputSigned: *c.InputSigned,
		WeightBits: c.WeightBits, WeightSigned: *c.WeightSigned,
		AccBits: c.AccBits, AccDepth: c.AccDepth, MAC: c.MAC, MACStages: c.MACStages, Stall: c.Stall, WeightCompression: c.WeightCompression,
		Pipeline: blocks.PipelineConfig{Requant: c.Requant, Rounding: c.Rounding, Activation: c.Activation,
			Pool: c.Pool, PoolWindow: c.PoolWindow, PoolWidth: c.PoolWidth, PoolHeight: c.PoolHeight, PoolL2: c.PoolL2,
			Softmax: c.Softmax, TagBits: c.tagBits()},
	}
}

// Resolve returns the resolved configuration (defaults applied) that the
// manifest carries.
func (c Config) Resolve() arch.Config {
	c.applyDefaults()
	return arch.Config{
		Name: c.Name, Rows: c.Rows, Cols: c.Cols, Dataflow: c.Dataflow,
		InputBits: c.InputBits, InputSigned: *c.InputSigned, WeightBits: c.WeightBits, WeightSigned: *c.WeightSigned,
		AccBits: c.AccBits, AccDepth: c.AccDepth, MAC: c.MAC, MACStages: c.MACStages, Stall: c.Stall, WeightCompression: c.WeightCompression,
		Requant: c.Requant, Rounding: c.Rounding, Activation: c.Activation,
		Pool: c.Pool, PoolWindow: c.PoolWindow, PoolWidth: c.PoolWidth, PoolHeight: c.PoolHeight, PoolL2: c.PoolL2, Softmax: c.Softmax, ParamSets: c.ParamSets,
		Core: c.Core,
	}
}

// CoreConfig returns the core's block configuration (valid only when
// c.Core is set).
func (c Config) CoreConfig() blocks.CoreConfig {
	cc := blocks.CoreConfig{Arch: c.Resolve(), Matrix: c.Matrix(), Mutant: c.CoreMutant}
	if c.Core != nil {
		cc.UBBytes, cc.WeightBytes = c.Core.UBBytes, c.Core.WeightBytes
	}
	return cc
}

// Validate reports every problem, one per line.
func (c Config) Validate() error {
	var errs []error
	if !nameRE.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name %q must be lower case letters, digits and _ (starting with a letter)", c.Name))
	}
	if c.Rounding.IsFloat() && c.Core != nil {
		errs = append(errs, errors.New(`rounding "float" is not available with core (the core's programs carry fixed-point multipliers)`))
	}
	if (c.Softmax || c.PoolL2) && c.Core != nil {
		errs = append(errs, errors.New("softmax and pool_l2 are not available with core (its controller loads only the requantizer, activation and max/average pooling parameters)"))
	}
	if c.Rounding.IsFloat() && c.MAC.IsBinary() {
		errs = append(errs, errors.New(`rounding "float" is not available with mac "xnor" (the binary path requantizes in fixed point only)`))
	}
	if c.Core != nil && c.MAC.IsBinary() {
		errs = append(errs, errors.New(`mac "xnor" is not available with core (the core's instruction-level model, core.Machine, multiplies: binary layers run on the matrix unit alone)`))
	}
	if err := c.Matrix().Validate(); err != nil {
		errs = append(errs, err)
	} else if c.Core != nil {
		if err := c.CoreConfig().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ParseConfig decodes a configuration strictly and validates it. source
// names the input in error messages.
func ParseConfig(data []byte, source string) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", source, explainJSON(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, fmt.Errorf("config %s: trailing data after the JSON object", source)
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %s", source, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return c, nil
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(data, path)
}

// Keys returns the configuration's JSON keys, sorted.
func Keys() []string {
	var keys []string
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		if k := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]; k != "-" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

var unknownFieldRE = regexp.MustCompile(`json: unknown field "([^"]*)"`)

// explainJSON turns encoding/json errors into messages that name the key.
func explainJSON(err error) error {
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		msg := fmt.Sprintf("unknown key %q", m[1])
		if s := closest(m[1], Keys()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return errors.New(msg + "; known keys: " + strings.Join(Keys(), ", "))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("key %q: got a JSON %s, want %s", te.Field, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("empty file")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("malformed JSON: the file ends inside an object")
	}
	return err
}

// closest returns the known key within edit distance 2 of k, if any.
func closest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
