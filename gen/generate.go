package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/hdl"
)

// ManifestVersion is bumped whenever the manifest format changes.
const ManifestVersion = 1

// Manifest describes generated RTL for tools that do not read Go: the
// resolved configuration, the top module, its ports and streams (with the
// payload layout), derived parameters and the files with their hashes.
type Manifest struct {
	Generator string              `json:"generator"`
	Version   int                 `json:"version"`
	Config    Config              `json:"config"`
	Top       string              `json:"top"`
	Clock     string              `json:"clock"`
	Reset     string              `json:"reset"`
	Ports     []ManifestPort      `json:"ports"`
	Streams   []blocks.StreamPort `json:"streams"`
	Derived   Derived             `json:"derived"`
	// Params gives the layout of each pipeline stage's parameter word, by
	// stage ("requant", "activation", "pool"), for packing p_in beats.
	Params map[string][]blocks.Field `json:"params,omitempty"`
	Files  []ManifestFile            `json:"files"`
}

// ManifestPort is one top-level port.
type ManifestPort struct {
	Name   string `json:"name"`
	Dir    string `json:"dir"` // "in" or "out"
	Width  int    `json:"width"`
	Signed bool   `json:"signed"`
}

// Derived holds parameters computed from the configuration.
type Derived struct {
	SumBits     int  `json:"sum_bits"`
	ProductBits int  `json:"product_bits"`
	AccSigned   bool `json:"acc_signed"`
	AccAddrBits int  `json:"acc_addr_bits"`
	Latency     int  `json:"latency"`
	OSGap       int  `json:"os_gap,omitempty"`
	TagBits     int  `json:"tag_bits,omitempty"`
}

// ManifestFile is one generated Verilog file.
type ManifestFile struct {
	Name   string `json:"name"`
	Module string `json:"module"`
	SHA256 string `json:"sha256"`
}

// Output is everything generated for one configuration, in memory.
type Output struct {
	Config   Config
	Design   *hdl.Design
	Verilog  []VerilogFile
	Manifest Manifest
}

// Files returns every output file name and content, in a fixed order.
func (o *Output) Files() ([]string, [][]byte, error) {
	var names []string
	var data [][]byte
	for _, f := range o.Verilog {
		names = append(names, f.Name)
		data = append(data, f.Text)
	}
	man, err := json.MarshalIndent(o.Manifest, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("manifest: %w", err)
	}
	names = append(names, "manifest.json", "files.f", HeaderName(o.Config))
	data = append(data, append(man, '\n'), o.FileList(), o.Header())
	return names, data, nil
}

// FileList is a simulator file list: one Verilog file per line, submodules first.
func (o *Output) FileList() []byte {
	var b strings.Builder
	for _, f := range o.Verilog {
		b.WriteString(f.Name + "\n")
	}
	return []byte(b.String())
}

// Generate elaborates the configuration and runs every back-end.
func Generate(cfg Config) (*Output, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %s", cfg.Name, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	mu, err := blocks.NewMatrixUnit(cfg.Matrix())
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", cfg.Name, err)
	}
	d, err := hdl.Elaborate(mu.Module)
	if err != nil {
		return nil, fmt.Errorf("config %s: elaborate: %w", cfg.Name, err)
	}
	files, err := EmitVerilog(d, EmitOptions{Source: "configuration " + cfg.Name})
	if err != nil {
		return nil, fmt.Errorf("config %s: emit: %w", cfg.Name, err)
	}
	mc := cfg.Matrix()
	man := Manifest{
		Generator: "tpugen", Version: ManifestVersion, Config: cfg, Top: mu.Name(),
		Clock: "clk", Reset: "rst", Streams: mu.Streams,
		Derived: Derived{SumBits: mc.SumBits(), ProductBits: mc.ProductBits(), AccSigned: mc.ProductSigned(),
			AccAddrBits: mc.AccAddrBits(), Latency: mu.Latency},
	}
	if mc.Dataflow == blocks.OS {
		man.Derived.OSGap = mc.OSGap()
	}
	if p := mc.Pipeline; p.Enabled() {
		man.Derived.TagBits = p.TagBits
		man.Params = map[string][]blocks.Field{"requant": blocks.RequantParamFields()}
		if p.Activation != "none" {
			man.Params["activation"] = blocks.ActivationControlFields()
		}
		if p.Pool {
			man.Params["pool"] = blocks.PoolConfig{MaxWindow: p.PoolWindow, MaxWidth: p.PoolWidth, MaxHeight: p.PoolHeight}.ParamFields()
		}
	}
	for _, p := range mu.Ports() {
		dir := "in"
		if p.Kind() == hdl.Output {
			dir = "out"
		}
		man.Ports = append(man.Ports, ManifestPort{Name: p.Name(), Dir: dir, Width: p.Shape().Width, Signed: p.Shape().Signed})
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Text)
		man.Files = append(man.Files, ManifestFile{Name: f.Name, Module: f.Module, SHA256: hex.EncodeToString(sum[:])})
	}
	return &Output{Config: cfg, Design: d, Verilog: files, Manifest: man}, nil
}

// HeaderName is the C header's file name.
func HeaderName(c Config) string { return "tpu_" + c.Name + ".h" }

// Header returns a C header with the configuration's parameters, for the
// software side (drivers, firmware) to share the single source of truth.
func (o *Output) Header() []byte {
	c, d := o.Config.Matrix(), o.Manifest.Derived
	guard := strings.ToUpper("TPU_" + o.Config.Name + "_H")
	var b strings.Builder
	fmt.Fprintf(&b, "/* Code generated by tpugen from configuration %s. DO NOT EDIT. */\n", o.Config.Name)
	fmt.Fprintf(&b, "#ifndef %s\n#define %s\n\n", guard, guard)
	def := func(name string, v any) { fmt.Fprintf(&b, "#define TPU_%-16s %v\n", name, v) }
	def("ROWS", c.Rows)
	def("COLS", c.Cols)
	def("DATAFLOW_WS", b2i(c.Dataflow == blocks.WS))
	def("DATAFLOW_OS", b2i(c.Dataflow == blocks.OS))
	def("INPUT_BITS", c.InputBits)
	def("INPUT_SIGNED", b2i(c.InputSigned))
	def("WEIGHT_BITS", c.WeightBits)
	def("WEIGHT_SIGNED", b2i(c.WeightSigned))
	def("ACC_BITS", c.AccBits)
	def("ACC_SIGNED", b2i(d.AccSigned))
	def("ACC_DEPTH", c.AccDepth)
	def("ACC_ADDR_BITS", d.AccAddrBits)
	def("SUM_BITS", d.SumBits)
	def("LATENCY", d.Latency)
	b.WriteString("\n/* Stream payload layouts: bit offset, element width, lanes. */\n")
	for _, s := range o.Manifest.Streams {
		for _, f := range s.Fields {
			n := strings.ToUpper(s.Name + "_" + f.Name)
			def(n+"_LSB", f.LSB)
			def(n+"_WIDTH", f.Width)
			def(n+"_LANES", f.Lanes)
		}
		def(strings.ToUpper(s.Name)+"_BITS", s.Width)
	}
	fmt.Fprintf(&b, "\n#endif /* %s */\n", guard)
	return []byte(b.String())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WriteDir writes the output into dir atomically: files go to a fresh
// sibling directory that replaces dir only once everything is written, so
// a failure never leaves a half-written RTL directory behind. An existing
// dir is replaced only if it holds a tpugen manifest (or is empty).
func (o *Output) WriteDir(dir string) error {
	names, data, err := o.Files()
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
			return fmt.Errorf("output directory %s exists and is not tpugen output (no manifest.json); refusing to replace it", dir)
		}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer os.RemoveAll(tmp)
	for i, n := range names {
		if err := os.WriteFile(filepath.Join(tmp, n), data[i], 0o644); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	old := tmp + ".old"
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.Rename(old, dir)
		return fmt.Errorf("output: %w", err)
	}
	return os.RemoveAll(old)
}
