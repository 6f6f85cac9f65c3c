package fpga

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Names maps the cells of a synthesized netlist to the RTL names of the
// nets they drive, so that a timing path reads "acc.byp_addr[3] ->
// out_data_q[40]" rather than "dut.acc.byp_addr_SB_DFFE_Q_5_DFFLC".
// A nil *Names only tidies nextpnr's cell names.
type Names struct {
	prefix string            // the design instance's hierarchical prefix ("dut.")
	driven map[string]string // cell -> RTL name of the register bit it is or feeds
}

// netlistJSON is the part of a Yosys JSON netlist that Names reads.
type netlistJSON struct {
	Modules map[string]struct {
		Cells map[string]struct {
			Type        string           `json:"type"`
			Connections map[string][]any `json:"connections"`
		} `json:"cells"`
		Netnames map[string]struct {
			HideName int   `json:"hide_name"`
			Bits     []any `json:"bits"`
		} `json:"netnames"`
	} `json:"modules"`
}

// LoadNames reads the JSON netlist of top written by Synthesize. prefix is
// removed from every name (the wrapper's design instance, "dut.").
func LoadNames(netlist, top, prefix string) (*Names, error) {
	data, err := os.ReadFile(netlist)
	if err != nil {
		return nil, err
	}
	return ParseNames(data, top, prefix)
}

// ParseNames is LoadNames on the netlist's text.
func ParseNames(data []byte, top, prefix string) (*Names, error) {
	var n netlistJSON
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("yosys netlist: %w", err)
	}
	m, ok := n.Modules[top]
	if !ok {
		return nil, fmt.Errorf("yosys netlist: no module %s", top)
	}
	// The best RTL name of each bit: a public name without Yosys' mapping
	// suffixes, the shortest such.
	bitName := map[int]string{}
	better := func(a, b string) bool { // a better than b
		if pa, pb := strings.HasPrefix(a, prefix), strings.HasPrefix(b, prefix); pa != pb {
			return pa // inside the design, not the wrapper's wire
		}
		if ca, cb := tidy(a) == a, tidy(b) == b; ca != cb {
			return ca // not a name Yosys made up while mapping
		}
		if da, db := strings.Count(a, "."), strings.Count(b, "."); da != db {
			return da > db // where the register is, not a port it reaches
		}
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	}
	for name, nn := range m.Netnames {
		if nn.HideName != 0 || strings.Contains(name, "$") {
			continue
		}
		for i, b := range nn.Bits {
			bit, ok := b.(float64)
			if !ok {
				continue // a constant
			}
			full := name
			if len(nn.Bits) > 1 {
				full = fmt.Sprintf("%s[%d]", name, i)
			}
			if old, ok := bitName[int(bit)]; !ok || better(full, old) {
				bitName[int(bit)] = full
			}
		}
	}
	bitOf := func(conn []any) (int, bool) {
		if len(conn) != 1 {
			return 0, false
		}
		b, ok := conn[0].(float64)
		return int(b), ok
	}
	names := &Names{prefix: prefix, driven: map[string]string{}}
	ffByD := map[int]string{} // D bit -> the register's name
	for cname, c := range m.Cells {
		if !isFF(c.Type) {
			continue
		}
		q, ok := bitOf(c.Connections["Q"])
		if !ok {
			continue
		}
		name, ok := bitName[q]
		if !ok {
			continue
		}
		names.driven[cname] = name
		if d, ok := bitOf(c.Connections["D"]); ok {
			ffByD[d] = name
		}
	}
	for cname, c := range m.Cells {
		if c.Type != "SB_LUT4" {
			continue
		}
		// A LUT packed with the register it feeds: the path ends at that
		// register.
		if o, ok := bitOf(c.Connections["O"]); ok {
			if reg, ok := ffByD[o]; ok {
				names.driven[cname] = reg
			}
		}
	}
	return names, nil
}

func isFF(typ string) bool {
	return strings.HasPrefix(typ, "SB_DFF") || typ == "FDRE" || typ == "FDSE" || typ == "FDCE" || typ == "FDPE" || typ == "TRELLIS_FF"
}

// tidy removes Yosys' and nextpnr's mapping suffixes from a name:
// "out_data_q_SB_DFFE_Q_9_DFFLC" -> "out_data_q".
func tidy(s string) string {
	if i := strings.Index(s, "_SB_"); i > 0 {
		s = s[:i]
	}
	for _, suf := range []string{"_DFFLC", "_LC", "_RAM"} {
		s = strings.TrimSuffix(s, suf)
	}
	return s
}

func (n *Names) trim(s string) string {
	if n != nil {
		return strings.TrimPrefix(s, n.prefix)
	}
	return s
}

// net names a net as the path report gives it.
func (n *Names) net(net string) string { return n.trim(net) }

// register returns the RTL name of the register that nextpnr's cell (a
// logic cell named after a flip-flop or the LUT packed with one) holds.
func (n *Names) register(cell string) (string, bool) {
	if n == nil {
		return "", false
	}
	base := cell
	for _, suf := range []string{"_DFFLC", "_LC"} {
		base = strings.TrimSuffix(base, suf)
	}
	reg, ok := n.driven[base]
	return n.trim(reg), ok
}

// cell names a path's end at cell's port.
func (n *Names) cell(cell, port string) string {
	if reg, ok := n.register(cell); ok {
		return reg
	}
	t := n.trim(tidy(cell))
	if port != "" && !strings.HasPrefix(port, "I") {
		t += "." + port
	}
	return t
}
