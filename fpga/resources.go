package fpga

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Resources is what a synthesized design uses, counted from Yosys' cell
// statistics in the target family's units (see Device).
type Resources struct {
	Cells   int `json:"cells"`
	LUTs    int `json:"luts"`
	FFs     int `json:"ffs"`
	Carries int `json:"carries"`
	BRAMs   int `json:"brams"`
	DSPs    int `json:"dsps"`
	// Memories and MemoryBits count the memories the generic target keeps
	// as macros (other targets map them to block RAM or logic).
	Memories   int            `json:"memories,omitempty"`
	MemoryBits int            `json:"memory_bits,omitempty"`
	ByType     map[string]int `json:"cell_types"`
}

// xilinxLUTs is how many LUT6 sites a 7-series distributed RAM or shift
// register cell takes.
var xilinxLUTs = map[string]int{
	"RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
	"RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
	"RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
	"SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}

// count classifies Yosys cell types into resources for family f.
func count(f Family, byType map[string]int) Resources {
	r := Resources{ByType: byType}
	for typ, n := range byType {
		r.Cells += n
		switch f {
		case ICE40:
			switch {
			case typ == "SB_LUT4":
				r.LUTs += n
			case strings.HasPrefix(typ, "SB_DFF"):
				r.FFs += n
			case typ == "SB_CARRY":
				r.Carries += n
			case strings.HasPrefix(typ, "SB_RAM40"):
				r.BRAMs += n
			case typ == "SB_MAC16":
				r.DSPs += n
			}
		case Xilinx:
			switch {
			case len(typ) == 4 && strings.HasPrefix(typ, "LUT") && typ[3] >= '1' && typ[3] <= '6':
				r.LUTs += n
			case xilinxLUTs[typ] > 0:
				r.LUTs += n * xilinxLUTs[typ]
			case typ == "FDRE" || typ == "FDSE" || typ == "FDCE" || typ == "FDPE":
				r.FFs += n
			case typ == "CARRY4":
				r.Carries += n
			case typ == "RAMB18E1":
				r.BRAMs += n
			case typ == "RAMB36E1":
				r.BRAMs += 2 * n
			case strings.HasPrefix(typ, "DSP48"):
				r.DSPs += n
			}
		case ECP5:
			switch typ {
			case "LUT4":
				r.LUTs += n
			case "TRELLIS_DPR16X4": // a 16x4 distributed RAM takes a slice pair's four LUTs
				r.LUTs += 4 * n
			case "TRELLIS_FF":
				r.FFs += n
			case "CCU2C":
				r.Carries += n
			case "DP16KD":
				r.BRAMs += n
			case "MULT18X18D":
				r.DSPs += n
			}
		default:
			switch {
			case strings.HasPrefix(typ, "$mem"):
				r.Memories += n
			case strings.Contains(typ, "DFF") || strings.Contains(typ, "DLATCH"):
				r.FFs += n
			}
		}
	}
	return r
}

// statJSON is the part of Yosys' `stat -json` output that is read.
type statJSON struct {
	Modules map[string]struct {
		NumCells       int            `json:"num_cells"`
		NumCellsByType map[string]int `json:"num_cells_by_type"`
	} `json:"modules"`
}

// ParseStat reads Yosys' `stat -json` output and returns the resources
// of module top (a flattened design has only it) for family f. Instances
// of the blackbox modules are not counted.
func ParseStat(data []byte, f Family, top string, blackbox ...string) (Resources, error) {
	var s statJSON
	if err := json.Unmarshal(data, &s); err != nil {
		return Resources{}, fmt.Errorf("yosys stat: %w", err)
	}
	m, ok := s.Modules[`\`+top]
	if !ok {
		var names []string
		for n := range s.Modules {
			names = append(names, strings.TrimPrefix(n, `\`))
		}
		sort.Strings(names)
		return Resources{}, fmt.Errorf("yosys stat: no module %s (modules: %s)", top, strings.Join(names, ", "))
	}
	by := map[string]int{}
	boxes := 0
	for typ, n := range m.NumCellsByType {
		if slices.Contains(blackbox, typ) {
			boxes += n
			continue
		}
		by[typ] = n
	}
	r := count(f, by)
	if r.Cells+boxes != m.NumCells {
		return Resources{}, fmt.Errorf("yosys stat: module %s has %d cells but %d by type", top, m.NumCells, r.Cells+boxes)
	}
	return r, nil
}

// parseMemoryBits reads the memory bits of module top from Yosys' `stat
// -json` taken before memories become cells.
func parseMemoryBits(data []byte, top string) (int, error) {
	var s struct {
		Modules map[string]struct {
			Bits int `json:"num_memory_bits"`
		} `json:"modules"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return 0, fmt.Errorf("yosys stat: %w", err)
	}
	m, ok := s.Modules[`\`+top]
	if !ok {
		return 0, fmt.Errorf("yosys stat: no module %s", top)
	}
	return m.Bits, nil
}

// Use is one resource's use against a device's capacity.
type Use struct {
	Resource  string  `json:"resource"` // "LUTs", "flip-flops", ...
	Used      int     `json:"used"`
	Available int     `json:"available"` // 0: the device has none
	Share     float64 `json:"share"`     // Used / Available (0 when none is available)
}

// Fits reports whether the use is within the device.
func (u Use) Fits() bool { return u.Used <= u.Available }

// Uses returns r's LUTs, flip-flops, carries, block RAMs and DSPs against
// device d, in that order.
func (r Resources) Uses(d *Device) []Use {
	list := []struct {
		name      string
		used, cap int
	}{
		{"LUTs", r.LUTs, d.LUTs}, {"flip-flops", r.FFs, d.FFs}, {"carries", r.Carries, d.Carries},
		{"block RAMs", r.BRAMs, d.BRAMs}, {"DSPs", r.DSPs, d.DSPs},
	}
	var out []Use
	for _, x := range list {
		u := Use{Resource: x.name, Used: x.used, Available: x.cap}
		if x.cap > 0 {
			u.Share = float64(x.used) / float64(x.cap)
		}
		out = append(out, u)
	}
	return out
}

// Overflows returns the uses that exceed device d.
func (r Resources) Overflows(d *Device) []Use {
	var out []Use
	for _, u := range r.Uses(d) {
		if !u.Fits() {
			out = append(out, u)
		}
	}
	return out
}
