package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/hdl"
)

// generateCore elaborates a configuration with a core: the top is
// tpu_core, and the manifest carries the core's streams, register map and
// instruction encoding (core.Encode) for drivers.
func generateCore(cfg Config) (*Output, error) {
	c, err := blocks.NewCore(cfg.CoreConfig())
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", cfg.Name, err)
	}
	d, err := hdl.Elaborate(c.Module)
	if err != nil {
		return nil, fmt.Errorf("config %s: elaborate: %w", cfg.Name, err)
	}
	files, err := EmitVerilog(d, EmitOptions{Source: "configuration " + cfg.Name})
	if err != nil {
		return nil, fmt.Errorf("config %s: emit: %w", cfg.Name, err)
	}
	isa, err := json.Marshal(core.Encode())
	if err != nil {
		return nil, fmt.Errorf("config %s: isa: %w", cfg.Name, err)
	}
	mc := cfg.Matrix()
	man := Manifest{
		Generator: "tpugen", Version: arch.ManifestVersion, Config: cfg.Resolve(), Top: c.Name(),
		Clock: "clk", Reset: "rst", Streams: c.Streams,
		Derived: arch.Derived{SumBits: mc.SumBits(), ProductBits: mc.ProductBits(), AccSigned: mc.ProductSigned(),
			AccAddrBits: mc.AccAddrBits()},
		Core: &arch.CoreManifest{UBBytes: cfg.Core.UBBytes, WeightBytes: cfg.Core.WeightBytes, BeatBytes: blocks.CoreBeatBytes, DrainCycles: c.DrainCycles,
			Registers: c.Registers, ISA: isa},
	}
	for _, p := range c.Ports() {
		dir := "in"
		if p.Kind() == hdl.Output {
			dir = "out"
		}
		man.Ports = append(man.Ports, arch.Port{Name: p.Name(), Dir: dir, Width: p.Shape().Width, Signed: p.Shape().Signed})
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Text)
		man.Files = append(man.Files, arch.File{Name: f.Name, Module: f.Module, SHA256: hex.EncodeToString(sum[:])})
	}
	return &Output{Config: cfg, Design: d, Verilog: files, Manifest: man}, nil
}

// coreHeader writes the core's section of the C header: memory sizes, the
// register map and the instruction encoding.
func coreHeader(b *strings.Builder, cm *arch.CoreManifest) {
	def := func(name string, v any) { fmt.Fprintf(b, "#define TPU_%-24s %v\n", name, v) }
	b.WriteString("\n/* Core: memories, AXI4-Lite registers (byte addresses), instruction encoding. */\n")
	def("CORE_UB_BYTES", cm.UBBytes)
	def("CORE_WEIGHT_BYTES", cm.WeightBytes)
	def("CORE_BEAT_BYTES", cm.BeatBytes)
	for _, r := range cm.Registers {
		def("REG_"+strings.ToUpper(r.Name), fmt.Sprintf("0x%02x", r.Addr))
		for _, f := range r.Fields {
			n := "REG_" + strings.ToUpper(r.Name+"_"+f.Name)
			def(n+"_LSB", f.LSB)
			def(n+"_WIDTH", f.Width)
		}
	}
	e := core.Encode()
	def("ISA_WORD_BITS", e.WordBits)
	def("ISA_OPCODE_BITS", e.OpcodeBits)
	for _, in := range e.Instructions {
		n := "OP_" + strings.ToUpper(in.Mnemonic)
		def(n, in.Opcode)
		for _, f := range in.Fields {
			fn := strings.ToUpper(in.Mnemonic + "_" + f.Name)
			def(fn+"_LSB", f.LSB)
			def(fn+"_WIDTH", f.Width)
		}
	}
	for _, c := range e.Errors {
		def(fmt.Sprintf("ERR_%d", c.Code), fmt.Sprintf("%q", c.Name))
	}
}
