package fpga

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// PnR is one nextpnr-ice40 place-and-route run.
type PnR struct {
	Seed        int      `json:"seed"`
	FmaxMHz     float64  `json:"fmax_mhz"`
	TargetMHz   float64  `json:"target_mhz"` // --freq: what the timing-driven placer aimed at
	Utilization []BelUse `json:"utilization"`
	// Critical is the slowest register-to-register path of the clock.
	Critical *Path  `json:"critical_path,omitempty"`
	Log      string `json:"-"`
}

// BelUse is one kind of device site (nextpnr's bel type) as placed.
type BelUse struct {
	Bel       string `json:"bel"` // ICESTORM_LC, ICESTORM_RAM, ICESTORM_DSP, SB_IO, ...
	Used      int    `json:"used"`
	Available int    `json:"available"`
}

// Path is a timing path from a register (or block RAM) output to a
// register (or block RAM) input.
type Path struct {
	// From and To name the start and end in RTL terms where the netlist
	// allows (a register bit such as "acc.byp_addr[3]"), else nextpnr's
	// cell and port.
	From      string  `json:"from"`
	To        string  `json:"to"`
	DelayNs   float64 `json:"delay_ns"`
	LogicNs   float64 `json:"logic_ns"`
	RoutingNs float64 `json:"routing_ns"`
	Levels    int     `json:"logic_levels"` // LUTs and carries on the path
}

// DoesNotFitError is nextpnr refusing a design larger than the device.
type DoesNotFitError struct {
	Utilization []BelUse `json:"utilization"`
	Message     string   `json:"message"`
}

func (e *DoesNotFitError) Error() string { return "place and route: " + e.Message }

// Place places and routes a JSON netlist (synthesized for target with
// top WrapperTop) with one seed, aiming at freqMHz, and reads the
// achieved Fmax and critical path from its report. names, when not nil,
// turns nextpnr's cell names into RTL register names.
func (t *Tools) Place(ctx context.Context, dir, netlist string, target *Target, seed int, freqMHz float64, names *Names) (*PnR, error) {
	d := target.Device
	if !target.PlaceAndRoute() {
		return nil, fmt.Errorf("target %s has no place and route", target.Name)
	}
	// Files in dir by their names (the tool runs there), so that the log
	// carries no machine paths.
	netlist = inDir(dir, netlist)
	base := strings.TrimSuffix(filepath.Base(netlist), ".netlist.json") + fmt.Sprintf("-seed%d", seed)
	log, report := base+".pnr.log", base+".report.json"
	args := []string{"--" + d.Part, "--package", d.Package, "--json", netlist, "--top", WrapperTop,
		"--seed", strconv.Itoa(seed), "--freq", strconv.FormatFloat(freqMHz, 'f', -1, 64),
		"--timing-allow-fail", "--pcf-allow-unconstrained", "--report", report, "-l", log, "-q"}
	out, err := t.run(ctx, dir, t.nextpnr(), args...)
	if err != nil {
		if ctx.Err() == nil {
			if logText, rerr := os.ReadFile(filepath.Join(dir, log)); rerr == nil {
				if e := parseOverflow(logText); e != nil {
					return nil, e
				}
			}
			if e := parseOverflow(out); e != nil {
				return nil, e
			}
		}
		return nil, fmt.Errorf("place and route (seed %d): %w", seed, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, report))
	if err != nil {
		return nil, fmt.Errorf("place and route (seed %d): %w", seed, err)
	}
	p, err := ParseReport(data, names)
	if err != nil {
		return nil, fmt.Errorf("place and route (seed %d): %w", seed, err)
	}
	p.Seed, p.TargetMHz, p.Log = seed, freqMHz, filepath.Join(dir, log)
	return p, nil
}

// reportJSON is nextpnr's --report file (0.4 and later).
type reportJSON struct {
	Fmax map[string]struct {
		Achieved   float64 `json:"achieved"`
		Constraint float64 `json:"constraint"`
	} `json:"fmax"`
	Utilization map[string]struct {
		Available int `json:"available"`
		Used      int `json:"used"`
	} `json:"utilization"`
	CriticalPaths []struct {
		From string `json:"from"`
		To   string `json:"to"`
		Path []struct {
			Type  string  `json:"type"`
			Delay float64 `json:"delay"`
			Net   string  `json:"net"`
			From  endJSON `json:"from"`
			To    endJSON `json:"to"`
		} `json:"path"`
	} `json:"critical_paths"`
}

type endJSON struct {
	Cell string `json:"cell"`
	Port string `json:"port"`
}

// ParseReport reads nextpnr's JSON report: the clock's achieved Fmax, the
// sites used, and the critical path within the clock domain. names, when
// not nil, names the path's ends after RTL registers.
func ParseReport(data []byte, names *Names) (*PnR, error) {
	var r reportJSON
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("nextpnr report: %w", err)
	}
	p := &PnR{}
	var clocks []string
	for c := range r.Fmax {
		clocks = append(clocks, c)
	}
	sort.Strings(clocks)
	if len(clocks) == 0 {
		return nil, fmt.Errorf("nextpnr report: no clock (is the design clocked?)")
	}
	if len(clocks) > 1 {
		return nil, fmt.Errorf("nextpnr report: %d clocks (%s), want one", len(clocks), strings.Join(clocks, ", "))
	}
	p.FmaxMHz = r.Fmax[clocks[0]].Achieved
	for bel, u := range r.Utilization {
		p.Utilization = append(p.Utilization, BelUse{Bel: bel, Used: u.Used, Available: u.Available})
	}
	sort.Slice(p.Utilization, func(i, j int) bool { return p.Utilization[i].Bel < p.Utilization[j].Bel })
	for _, cp := range r.CriticalPaths {
		if !strings.HasPrefix(cp.From, "posedge") && !strings.HasPrefix(cp.From, "negedge") || cp.From != cp.To || len(cp.Path) == 0 {
			continue
		}
		path := &Path{}
		firstNet := ""
		for _, s := range cp.Path {
			path.DelayNs += s.Delay
			switch s.Type {
			case "routing":
				path.RoutingNs += s.Delay
				if firstNet == "" {
					firstNet = s.Net
				}
			case "logic":
				path.LogicNs += s.Delay
				path.Levels++
			default: // clk-to-q, setup
				path.LogicNs += s.Delay
			}
		}
		// The start is the register whose clock-to-output step opens the
		// path, else the first net it drives; the end is the register (or
		// block RAM port) whose setup closes it.
		first, last := cp.Path[0], cp.Path[len(cp.Path)-1]
		if reg, ok := names.register(first.To.Cell); ok && first.Type == "clk-to-q" {
			path.From = reg
		} else if firstNet != "" {
			path.From = names.net(firstNet)
		} else {
			path.From = names.cell(first.To.Cell, first.To.Port)
		}
		path.To = names.cell(last.To.Cell, last.To.Port)
		p.Critical = path
		break
	}
	return p, nil
}

var utilRE = regexp.MustCompile(`^Info:\s+([A-Z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%`)

// ParseUtilization reads the "Device utilisation" block of a nextpnr log.
func ParseUtilization(log []byte) []BelUse {
	var out []BelUse
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Device utilisation:") {
			in, out = true, nil // the last block counts
			continue
		}
		if !in {
			continue
		}
		m := utilRE.FindStringSubmatch(line)
		if m == nil {
			in = false
			continue
		}
		used, _ := strconv.Atoi(m[2])
		avail, _ := strconv.Atoi(m[3])
		out = append(out, BelUse{Bel: m[1], Used: used, Available: avail})
	}
	return out
}

// parseOverflow recognizes nextpnr's errors for a design that does not fit.
func parseOverflow(log []byte) *DoesNotFitError {
	for _, line := range strings.Split(string(log), "\n") {
		if !strings.HasPrefix(line, "ERROR:") {
			continue
		}
		if strings.Contains(line, "no BELs remaining") || strings.Contains(line, "too many") || strings.Contains(line, "exceeds") {
			e := &DoesNotFitError{Utilization: ParseUtilization(log), Message: strings.TrimSpace(strings.TrimPrefix(line, "ERROR:"))}
			for _, u := range e.Utilization {
				if u.Used > u.Available {
					e.Message = fmt.Sprintf("%d %s of %d (%s)", u.Used, u.Bel, u.Available, e.Message)
					break
				}
			}
			return e
		}
	}
	return nil
}
