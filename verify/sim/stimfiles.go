package sim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Names of the run files; the formats are documented in the package
// comment.
const (
	stimFile   = "stim.txt"
	traceFile  = "trace.txt"
	statusFile = "status.txt"
)

func sourceFile(k int) string      { return fmt.Sprintf("source%d.txt", k) }
func sourceStallFile(k int) string { return fmt.Sprintf("source%d.stall", k) }
func sourceAccFile(k int) string   { return fmt.Sprintf("source%d.acc", k) }
func sinkStallFile(k int) string   { return fmt.Sprintf("sink%d.stall", k) }
func sinkOutFile(k int) string     { return fmt.Sprintf("sink%d.out", k) }

// stallHorizon bounds how many cycles of stall pattern are written: the run
// length is unknown in advance, so patterns cover a generous estimate and
// later cycles simply do not stall.
func stallHorizon(l *layout, stim *Stimulus) int {
	if stim.Cycles > 0 {
		return stim.Cycles
	}
	beats := 0
	for _, q := range stim.Sources {
		beats += len(q)
	}
	for _, n := range stim.Expect {
		beats += n
	}
	return min(maxCycles(stim), 8*beats+4096)
}

// writeStimulus writes the input files of a run into dir and returns the
// plusargs naming every input and output file.
func writeStimulus(dir string, l *layout, stim *Stimulus, vcd string) ([]string, error) {
	path := func(name string) string { return filepath.Join(dir, name) }
	args := []string{
		"+status=" + path(statusFile),
		"+cycles=" + strconv.Itoa(stim.Cycles),
		"+max_cycles=" + strconv.Itoa(maxCycles(stim)),
		"+linger=" + strconv.Itoa(stim.Linger),
	}
	if vcd != "" {
		args = append(args, "+vcd="+vcd)
	}
	if stim.Trace {
		args = append(args, "+trace="+path(traceFile))
	}
	if len(stim.Changes) > 0 {
		if err := writeChanges(path(stimFile), l, stim.Changes); err != nil {
			return nil, err
		}
		args = append(args, "+stim="+path(stimFile))
	}
	horizon := stallHorizon(l, stim)
	for k, s := range l.sources {
		var q = []string(nil)
		if k < len(stim.Sources) {
			w := l.port(s.data).Width
			for _, v := range stim.Sources[k] {
				q = append(q, formatHex(v, w))
			}
		}
		if err := writeLines(path(sourceFile(k)), q); err != nil {
			return nil, err
		}
		args = append(args, fmt.Sprintf("+src%d=%s", k, path(sourceFile(k))),
			fmt.Sprintf("+src%d_acc=%s", k, path(sourceAccFile(k))))
		if k < len(stim.SourceStall) && stim.SourceStall[k] != nil {
			if err := writeStall(path(sourceStallFile(k)), stim.SourceStall[k], horizon); err != nil {
				return nil, err
			}
			args = append(args, fmt.Sprintf("+src%d_stall=%s", k, path(sourceStallFile(k))))
		}
	}
	for k := range l.sinks {
		expect := 0
		if k < len(stim.Expect) {
			expect = stim.Expect[k]
		}
		args = append(args, fmt.Sprintf("+sink%d_out=%s", k, path(sinkOutFile(k))),
			fmt.Sprintf("+expect%d=%d", k, expect))
		if k < len(stim.SinkStall) && stim.SinkStall[k] != nil {
			if err := writeStall(path(sinkStallFile(k)), stim.SinkStall[k], horizon); err != nil {
				return nil, err
			}
			args = append(args, fmt.Sprintf("+sink%d_stall=%s", k, path(sinkStallFile(k))))
		}
	}
	return args, nil
}

// writeChanges writes the plain-input changes sorted by cycle; the sort is
// stable so that changes of one cycle apply in the order given.
func writeChanges(name string, l *layout, changes []Change) error {
	sorted := append([]Change(nil), changes...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].Cycle < sorted[b].Cycle })
	lines := make([]string, len(sorted))
	for n, c := range sorted {
		i := l.index[c.Port]
		lines[n] = fmt.Sprintf("%d %d %s", c.Cycle, i, formatHex(c.Value, l.port(i).Width))
	}
	return writeLines(name, lines)
}

// writeStall writes stall bits up to the last stalled cycle below horizon.
func writeStall(name string, stall func(int) bool, horizon int) error {
	bits := make([]byte, horizon)
	last := -1
	for c := range bits {
		bits[c] = '0'
		if stall(c) {
			bits[c] = '1'
			last = c
		}
	}
	lines := make([]string, last+1)
	for c := range lines {
		lines[c] = string(bits[c])
	}
	return writeLines(name, lines)
}

func writeLines(name string, lines []string) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, s := range lines {
		w.WriteString(s)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("sim: writing %s: %w", filepath.Base(name), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sim: writing %s: %w", filepath.Base(name), err)
	}
	return nil
}
