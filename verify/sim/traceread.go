package sim

import (
	"bufio"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errorf formats an error about a run of this design in sim.
func (l *layout) errorf(sim, format string, args ...any) error {
	return fmt.Errorf("sim: %s (%s): "+format, append([]any{l.top.Name, sim}, args...)...)
}

// readFields calls fn with the fields of every non-empty line of a file; a
// missing file counts as empty, since the harness only creates what it needs.
func readFields(name string, fn func(line int, f []string) error) error {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if err := fn(n, fields); err != nil {
			return fmt.Errorf("%s:%d: %w", filepath.Base(name), n, err)
		}
	}
	return sc.Err()
}

// readResult reads the output files of a finished harness run in dir.
func readResult(dir string, l *layout, stim *Stimulus, sim string) (*Result, error) {
	path := func(name string) string { return filepath.Join(dir, name) }
	res := &Result{Sim: sim, Sinks: make([][]Beat, len(l.sinks)), Sources: make([][]int, len(l.sources))}
	// The trace comes first: it shows x on any output in the earliest cycle.
	if stim.Trace {
		if err := l.readTrace(path(traceFile), res); err != nil {
			return nil, l.errorf(sim, "%w", err)
		}
	}
	for k := range l.sources {
		err := readFields(path(sourceAccFile(k)), func(_ int, f []string) error {
			c, err := strconv.Atoi(f[0])
			res.Sources[k] = append(res.Sources[k], c)
			return err
		})
		if err != nil {
			return nil, l.errorf(sim, "reading accepted payloads: %w", err)
		}
	}
	for k, s := range l.sinks {
		w := l.port(s.data).Width
		err := readFields(path(sinkOutFile(k)), func(_ int, f []string) error {
			if len(f) != 2 {
				return fmt.Errorf("want \"<cycle> <hex>\", got %d fields", len(f))
			}
			c, err := strconv.Atoi(f[0])
			if err != nil {
				return err
			}
			v, err := parseHex(f[1], w)
			if err != nil {
				return fmt.Errorf("sink %q payload (port %q) at cycle %d: %w", s.name, l.port(s.data).Name, c, err)
			}
			res.Sinks[k] = append(res.Sinks[k], Beat{Cycle: c, Data: v})
			return nil
		})
		if err != nil {
			return nil, l.errorf(sim, "%w", err)
		}
	}

	status, err := os.ReadFile(path(statusFile))
	if err != nil {
		return nil, l.errorf(sim, "harness wrote no status: %w", err)
	}
	f := strings.Fields(string(status))
	switch {
	case len(f) == 2 && f[0] == "done":
		res.Cycles, err = strconv.Atoi(f[1])
		if err != nil {
			return nil, l.errorf(sim, "bad status %q", status)
		}
	case len(f) == 2 && f[0] == "limit":
		return nil, l.limitError(sim, f[1], stim, res)
	case len(f) == 3 && f[0] == "x":
		return nil, l.errorf(sim, "handshake on port %q is x/z at cycle %s", f[2], f[1])
	default:
		return nil, l.errorf(sim, "bad status %q", strings.TrimSpace(string(status)))
	}

	if stim.Trace && stim.Cycles == 0 && len(res.Outputs) == res.Cycles+stim.Linger {
		res.Outputs = res.Outputs[:res.Cycles] // the lingering cycles are not part of the run
	}
	if stim.Trace && len(res.Outputs) != res.Cycles {
		return nil, l.errorf(sim, "trace has %d cycles, run had %d", len(res.Outputs), res.Cycles)
	}
	return res, nil
}

// readTrace reads one map of output values per cycle.
func (l *layout) readTrace(name string, res *Result) error {
	return readFields(name, func(_ int, f []string) error {
		if len(f) != 1+len(l.outputs) {
			return fmt.Errorf("want cycle and %d values, got %d fields", len(l.outputs), len(f))
		}
		c, err := strconv.Atoi(f[0])
		if err != nil {
			return err
		}
		if c != len(res.Outputs) {
			return fmt.Errorf("cycle %d out of order", c)
		}
		m := make(map[string]*big.Int, len(l.outputs))
		for j, i := range l.outputs {
			p := l.port(i)
			v, err := parseHex(f[1+j], p.Width)
			if err != nil {
				return fmt.Errorf("output %q at cycle %d: %w", p.Name, c, err)
			}
			m[p.Name] = v
		}
		res.Outputs = append(res.Outputs, m)
		return nil
	})
}

// limitError explains a run stopped by the cycle limit with the progress of
// every stream, which usually points at the stuck one.
func (l *layout) limitError(sim, cycles string, stim *Stimulus, res *Result) error {
	var parts []string
	for k, s := range l.sinks {
		want := 0
		if k < len(stim.Expect) {
			want = stim.Expect[k]
		}
		parts = append(parts, fmt.Sprintf("sink %q got %d of %d beats", s.name, len(res.Sinks[k]), want))
	}
	for k, s := range l.sources {
		total := 0
		if k < len(stim.Sources) {
			total = len(stim.Sources[k])
		}
		parts = append(parts, fmt.Sprintf("source %q has %d payloads left", s.name, total-len(res.Sources[k])))
	}
	return l.errorf(sim, "cycle limit %s reached (%s) — design hung?", cycles, strings.Join(parts, "; "))
}
