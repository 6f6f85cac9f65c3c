package fpga

import (
	"fmt"
	"strings"
)

// Family is a synthesis flow: which Yosys script maps the design and how
// its cells count as device resources.
type Family uint8

const (
	// Generic is Yosys' technology-independent `synth -flatten` (gates and
	// flip-flops; no device).
	Generic Family = iota
	// ICE40 is Lattice iCE40 (`synth_ice40`; nextpnr-ice40 places and
	// routes it).
	ICE40
	// Xilinx is Xilinx 7-series (`synth_xilinx`; an estimate: no place and
	// route).
	Xilinx
	// ECP5 is Lattice ECP5 (`synth_ecp5`; an estimate: no place and route).
	ECP5
)

func (f Family) String() string {
	return [...]string{"generic", "ice40", "xilinx", "ecp5"}[f]
}

// Device is the capacity of an FPGA part, in the units Resources counts.
// A zero capacity means the part has none of that resource.
type Device struct {
	Name    string // "iCE40 HX8K"
	Short   string // "HX8K", for messages
	Part    string // nextpnr's device flag (hx8k, up5k); empty without place and route
	Package string // nextpnr's --package
	LUTs    int    // LUT4 (iCE40: logic cells, each a LUT4, a flip-flop and a carry)
	FFs     int
	Carries int    // carry cells (iCE40 SB_CARRY, 7-series CARRY4, ECP5 CCU2C)
	BRAMs   int    // block RAMs (iCE40 SB_RAM40_4K, 7-series RAMB18, ECP5 DP16KD)
	DSPs    int    // multipliers (iCE40 SB_MAC16, 7-series DSP48E1, ECP5 MULT18X18D)
	BRAM    string // the block RAM's name, for reports
	DSP     string // the DSP's name, for reports
}

// Target is what tpugen synth maps a design onto.
type Target struct {
	Name   string // the -target value
	Family Family
	Device *Device // nil for generic
	// Estimate marks a target that Yosys maps but nothing places and
	// routes (Xilinx, ECP5): its resource counts are estimates for the
	// reference part named, not a vendor tool's result.
	Estimate bool
	// About is a one-line description for -h.
	About string
}

// PlaceAndRoute reports whether the target has a place-and-route flow
// (nextpnr-ice40).
func (t *Target) PlaceAndRoute() bool {
	return t.Family == ICE40 && t.Device != nil && t.Device.Part != ""
}

// targets are the supported targets, in the order -h lists them.
var targets = []*Target{
	{Name: "ice40-hx8k", Family: ICE40, About: "Lattice iCE40 HX8K (ct256): synth_ice40, nextpnr-ice40 place and route, Fmax",
		Device: &Device{Name: "iCE40 HX8K", Short: "HX8K", Part: "hx8k", Package: "ct256",
			LUTs: 7680, FFs: 7680, Carries: 7680, BRAMs: 32, BRAM: "SB_RAM40_4K", DSP: "SB_MAC16"}},
	{Name: "ice40-up5k", Family: ICE40, About: "Lattice iCE40 UP5K (sg48): synth_ice40, nextpnr-ice40 place and route, Fmax; 8 SB_MAC16 with -dsp",
		Device: &Device{Name: "iCE40 UP5K", Short: "UP5K", Part: "up5k", Package: "sg48",
			LUTs: 5280, FFs: 5280, Carries: 5280, BRAMs: 30, DSPs: 8, BRAM: "SB_RAM40_4K", DSP: "SB_MAC16"}},
	{Name: "xilinx", Family: Xilinx, Estimate: true, About: "Xilinx 7-series, synth_xilinx; shares of an Artix-7 XC7A35T (estimate, no place and route)",
		Device: &Device{Name: "Artix-7 XC7A35T (estimate)", Short: "XC7A35T",
			LUTs: 20800, FFs: 41600, Carries: 5200, BRAMs: 100, DSPs: 90, BRAM: "RAMB18", DSP: "DSP48E1"}},
	{Name: "ecp5", Family: ECP5, Estimate: true, About: "Lattice ECP5, synth_ecp5; shares of an LFE5U-25F (estimate, no place and route)",
		Device: &Device{Name: "ECP5 LFE5U-25F (estimate)", Short: "LFE5U-25F",
			LUTs: 24288, FFs: 24288, Carries: 12144, BRAMs: 56, DSPs: 28, BRAM: "DP16KD", DSP: "MULT18X18D"}},
	{Name: "generic", Family: Generic, About: "Yosys generic synth -flatten: gates and flip-flops, no device"},
}

// Targets returns the supported targets.
func Targets() []*Target { return targets }

// TargetNames returns the -target values, for messages.
func TargetNames() []string {
	var names []string
	for _, t := range targets {
		names = append(names, t.Name)
	}
	return names
}

// LookupTarget returns the target named name.
func LookupTarget(name string) (*Target, error) {
	for _, t := range targets {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("unknown target %q (want %s)", name, strings.Join(TargetNames(), ", "))
}
