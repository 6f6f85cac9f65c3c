package verify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Manifest is the part of a generated RTL directory's manifest.json that
// verification needs. It is read from the file (not from gen's Go types) so
// verify depends only on the documented format, like any other testbench.
type Manifest struct {
	Top     string          `json:"top"`
	Clock   string          `json:"clock"`
	Reset   string          `json:"reset"`
	Config  MXUConfig       `json:"config"`
	Ports   []ManifestPort  `json:"ports"`
	Streams []StreamLayout  `json:"streams"`
	Derived ManifestDerived `json:"derived"`
	// Params maps a pipeline stage to its parameter word layout.
	Params map[string][]FieldLayout `json:"params"`
	Files  []ManifestFile           `json:"files"`
}

// MXUConfig is the resolved matrix-unit configuration.
type MXUConfig struct {
	Name         string `json:"name"`
	Rows         int    `json:"rows"`
	Cols         int    `json:"cols"`
	Dataflow     string `json:"dataflow"`
	InputBits    int    `json:"input_bits"`
	InputSigned  bool   `json:"input_signed"`
	WeightBits   int    `json:"weight_bits"`
	WeightSigned bool   `json:"weight_signed"`
	AccBits      int    `json:"acc_bits"`
	AccDepth     int    `json:"acc_depth"`
	MAC          string `json:"mac"`
	Requant      bool   `json:"requant"`
	Rounding     string `json:"rounding"`
	Activation   string `json:"activation"`
	Pool         bool   `json:"pool"`
	PoolWindow   int    `json:"pool_window"`
	PoolWidth    int    `json:"pool_width"`
	PoolHeight   int    `json:"pool_height"`
	ParamSets    int    `json:"param_sets"`
}

// AccSigned reports whether accumulators hold signed values.
func (c MXUConfig) AccSigned() bool { return c.InputSigned || c.WeightSigned }

// ManifestPort is one top-level port.
type ManifestPort struct {
	Name   string `json:"name"`
	Dir    string `json:"dir"`
	Width  int    `json:"width"`
	Signed bool   `json:"signed"`
}

// StreamLayout is a stream of the top module and its payload fields.
type StreamLayout struct {
	Name   string        `json:"name"`
	Dir    string        `json:"dir"`
	Valid  string        `json:"valid"`
	Ready  string        `json:"ready"`
	Data   string        `json:"data"`
	Width  int           `json:"width"`
	Fields []FieldLayout `json:"fields"`
}

// FieldLayout places Lanes elements of Width bits from bit LSB.
type FieldLayout struct {
	Name   string `json:"name"`
	LSB    int    `json:"lsb"`
	Width  int    `json:"width"`
	Lanes  int    `json:"lanes"`
	Signed bool   `json:"signed"`
}

// ManifestDerived holds parameters the generator derived.
type ManifestDerived struct {
	SumBits int `json:"sum_bits"`
	Latency int `json:"latency"`
	OSGap   int `json:"os_gap"`
	TagBits int `json:"tag_bits"`
}

// ManifestFile is one Verilog file of the design.
type ManifestFile struct {
	Name string `json:"name"`
}

// ParseManifest decodes a manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Top == "" || len(m.Files) == 0 || m.Config.Rows < 1 || m.Config.Cols < 1 {
		return nil, fmt.Errorf("manifest: missing top, files or array size")
	}
	for _, name := range []string{"w_in", "a_in", "c_out"} {
		if m.Stream(name) == nil {
			return nil, fmt.Errorf("manifest: no stream %q", name)
		}
	}
	return &m, nil
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

// Stream returns the named stream, or nil.
func (m *Manifest) Stream(name string) *StreamLayout {
	for i := range m.Streams {
		if m.Streams[i].Name == name {
			return &m.Streams[i]
		}
	}
	return nil
}

// Field returns the named payload field, or nil.
func (s *StreamLayout) Field(name string) *FieldLayout {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// SimTop describes the design in dir for the simulators.
func (m *Manifest) SimTop(dir string) *Top {
	t := &Top{Name: m.Top, Clock: m.Clock, Reset: m.Reset}
	for _, f := range m.Files {
		t.Files = append(t.Files, filepath.Join(dir, f.Name))
	}
	for _, p := range m.Ports {
		d := In
		if p.Dir == "out" {
			d = Out
		}
		t.Ports = append(t.Ports, Port{Name: p.Name, Width: p.Width, Signed: p.Signed, Dir: d})
	}
	for _, s := range m.Streams {
		st := Stream{Name: s.Name, Valid: s.Valid, Ready: s.Ready, Data: s.Data}
		if s.Dir == "in" {
			t.Sources = append(t.Sources, st)
		} else {
			t.Sinks = append(t.Sinks, st)
		}
	}
	return t
}
