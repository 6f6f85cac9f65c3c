package fpga

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Design is Verilog to synthesize: files, the top module and parameter
// overrides of the top (Verilog literals), with its clock port.
type Design struct {
	// Name identifies the design's files in the work directory (letters,
	// digits, _ and -).
	Name   string
	Top    string
	Files  []string
	Params map[string]string
	Clock  string
}

// Synth says how to synthesize a design.
type Synth struct {
	Target *Target
	// DSP maps multipliers onto the device's DSP blocks (synth_ice40 -dsp;
	// without it synth_xilinx and synth_ecp5 get -nodsp, so every target
	// builds LUT multipliers unless asked).
	DSP bool
	// Blackbox names modules kept as empty boxes: neither synthesized nor
	// counted (to measure a part of a design).
	Blackbox []string
	// Netlist asks for a JSON netlist for place and route.
	Netlist bool
	// Verilog asks for a Verilog netlist too, for gate-level simulation
	// with the vendor's cell models (blackboxed modules stay instances).
	Verilog bool
}

// Synthesis is a design mapped by Yosys.
type Synthesis struct {
	Resources Resources
	Netlist   string // the JSON netlist's path, when asked for
	Verilog   string // the Verilog netlist's path, when asked for
	Log       string // Yosys' log
}

// script returns the Yosys commands that map top for s.
func (s Synth) command(top string) string {
	switch s.Target.Family {
	case ICE40:
		c := "synth_ice40 -top " + top
		if s.Target.Device != nil && s.Target.Device.Part == "up5k" {
			c += " -device u"
		}
		if s.DSP {
			c += " -dsp"
		}
		return c
	case Xilinx:
		c := "synth_xilinx -flatten -noiopad -top " + top
		if !s.DSP {
			c += " -nodsp"
		}
		return c
	case ECP5:
		c := "synth_ecp5 -top " + top
		if !s.DSP {
			c += " -nodsp"
		}
		return c
	}
	// Generic: synth -flatten's gates and flip-flops, but memories stay
	// memories (macros in an ASIC, block RAM in an FPGA) instead of
	// memory_map's flip-flops, which would drown the logic.
	return "synth -flatten -top " + top + " -run coarse:fine\nopt -fast -full\ntechmap\nopt -fast\nabc -fast\nopt -fast"
}

// read returns the commands that read d and set its parameters, for
// Yosys running in dir: files inside dir by their relative names (so that
// netlists and logs carry no machine paths), others absolute.
func (d Design) read(dir string) string {
	var b strings.Builder
	b.WriteString("read_verilog")
	for _, f := range d.Files {
		b.WriteString(" " + quote(inDir(dir, f)))
	}
	b.WriteString("\n")
	var names []string
	for n := range d.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "chparam -set %s %s %s\n", n, d.Params[n], d.Top)
	}
	fmt.Fprintf(&b, "hierarchy -check -top %s\n", d.Top)
	return b.String()
}

// inDir returns path (relative to the working directory, or absolute) as
// the tools running in dir should name it.
func inDir(dir, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if dirAbs, err := filepath.Abs(dir); err == nil {
		if rel, err := filepath.Rel(dirAbs, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return abs
}

// quote quotes a file name for a Yosys script when it needs it.
func quote(s string) string {
	if strings.ContainsAny(s, " \t\"#;") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// Synthesize maps d with Yosys in dir (files named after d.Name) and
// counts its resources. The tools run in dir and name their own files
// relative to it, so logs and netlists carry no machine paths beyond d's.
func (t *Tools) Synthesize(ctx context.Context, dir string, d Design, s Synth) (*Synthesis, error) {
	base := d.Name + "-" + s.Target.Family.String()
	if s.DSP {
		base += "-dsp"
	}
	res := &Synthesis{Log: filepath.Join(dir, base+".log")}
	var b strings.Builder
	b.WriteString(d.read(dir))
	if len(s.Blackbox) > 0 {
		fmt.Fprintf(&b, "blackbox %s\n", strings.Join(s.Blackbox, " "))
	}
	if s.Target.Family == Generic {
		// Memory bits are counted before synthesis turns memories into cells.
		fmt.Fprintf(&b, "proc\nflatten\ntee -q -o %s stat -json\n", quote(base+".mem.json"))
	}
	b.WriteString(s.command(d.Top) + "\n")
	fmt.Fprintf(&b, "tee -q -o %s stat -json\n", quote(base+".stat.json"))
	if s.Netlist {
		res.Netlist = filepath.Join(dir, base+".netlist.json")
		fmt.Fprintf(&b, "write_json %s\n", quote(base+".netlist.json"))
	}
	if s.Verilog {
		res.Verilog = filepath.Join(dir, base+".netlist.v")
		fmt.Fprintf(&b, "write_verilog -noattr -selected %s\n", quote(base+".netlist.v"))
	}
	if err := os.WriteFile(filepath.Join(dir, base+".ys"), []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	if _, err := t.run(ctx, dir, t.yosys(), "-q", "-l", base+".log", "-s", base+".ys"); err != nil {
		return nil, fmt.Errorf("synthesis of %s: %w", d.Top, err)
	}
	stat, err := os.ReadFile(filepath.Join(dir, base+".stat.json"))
	if err != nil {
		return nil, fmt.Errorf("synthesis of %s: %w", d.Top, err)
	}
	r, err := ParseStat(stat, s.Target.Family, d.Top, s.Blackbox...)
	if err != nil {
		return nil, fmt.Errorf("synthesis of %s: %w", d.Top, err)
	}
	if s.Target.Family == Generic {
		mem, err := os.ReadFile(filepath.Join(dir, base+".mem.json"))
		if err == nil {
			r.MemoryBits, err = parseMemoryBits(mem, d.Top)
		}
		if err != nil {
			return nil, fmt.Errorf("synthesis of %s: %w", d.Top, err)
		}
	}
	res.Resources = r
	return res, nil
}

// Ports returns d's top-level ports in declaration order, as Yosys
// elaborates them with d's parameters.
func (t *Tools) Ports(ctx context.Context, dir string, d Design) ([]Port, error) {
	base := d.Name + "-ports"
	script := d.read(dir) + "proc\n" + fmt.Sprintf("write_json %s\n", quote(base+".json"))
	if err := os.WriteFile(filepath.Join(dir, base+".ys"), []byte(script), 0o644); err != nil {
		return nil, err
	}
	if _, err := t.run(ctx, dir, t.yosys(), "-q", "-l", base+".log", "-s", base+".ys"); err != nil {
		return nil, fmt.Errorf("reading the ports of %s: %w", d.Top, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, base+".json"))
	if err != nil {
		return nil, err
	}
	return ParsePorts(data, d.Top)
}

// ParsePorts returns module top's ports, in order, from a Yosys JSON
// netlist.
func ParsePorts(data []byte, top string) ([]Port, error) {
	var n struct {
		Modules map[string]struct {
			Ports orderedPorts `json:"ports"`
		} `json:"modules"`
	}
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("yosys netlist: %w", err)
	}
	m, ok := n.Modules[top]
	if !ok {
		return nil, fmt.Errorf("yosys netlist: no module %s", top)
	}
	return m.Ports, nil
}

// orderedPorts decodes a netlist's "ports" object keeping the key order
// (Yosys writes the declaration order).
type orderedPorts []Port

func (p *orderedPorts) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		var v struct {
			Direction string            `json:"direction"`
			Bits      []json.RawMessage `json:"bits"`
		}
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if v.Direction == "inout" {
			return fmt.Errorf("port %s is inout: the wrapper drives inputs and reads outputs only", name)
		}
		*p = append(*p, Port{Name: name, Output: v.Direction == "output", Width: len(v.Bits)})
	}
	return nil
}
