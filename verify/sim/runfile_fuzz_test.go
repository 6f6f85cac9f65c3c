package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzTop is a small design with a source, a sink and a plain output, for
// reading fuzzed run files against.
func fuzzTop() *Top {
	return &Top{Name: "dut", Files: []string{"dut.v"}, Clock: "clk", Reset: "rst",
		Ports: []Port{in("clk", 1), in("rst", 1), in("s_valid", 1), out("s_ready", 1), in("s_data", 8),
			out("m_valid", 1), in("m_ready", 1), out("m_data", 12), out("busy", 1)},
		Sources: []Stream{{Name: "s", Valid: "s_valid", Ready: "s_ready", Data: "s_data"}},
		Sinks:   []Stream{{Name: "m", Valid: "m_valid", Ready: "m_ready", Data: "m_data"}}}
}

// FuzzReadResult feeds arbitrary run files (status.txt, sink0.out,
// source0.acc and trace.txt, as a harness or another testbench writes them)
// to readResult: it returns a result or a one-line error naming the design,
// never panics, and what it accepts is consistent (the trace has one entry
// per cycle, every sink beat fits its port). Seeds: well-formed runs, x
// digits, limits, and testdata/fuzz/FuzzReadResult.
func FuzzReadResult(f *testing.F) {
	f.Add([]byte("done 3\n"), []byte("1 abc\n2 fff\n"), []byte("0\n1\n"), []byte("0 0 000 0\n1 1 abc 1\n2 1 fff 0\n"), true)
	f.Add([]byte("done 2"), []byte("0 1\n"), []byte("0\n"), []byte(""), false)
	f.Add([]byte("limit 100\n"), []byte(""), []byte("5\n"), []byte(""), false)
	f.Add([]byte("x 4 m_valid\n"), []byte(""), []byte(""), []byte("0 x 000 0\n"), true)
	f.Add([]byte("done 1\n"), []byte("0 1x2\n"), []byte(""), []byte("0 1 zzz 1\n"), true)
	f.Add([]byte("done 1\n"), []byte("0 1fff\n"), []byte("a\n"), []byte("1 1 abc 1\n"), true)
	top := fuzzTop()
	l, err := newLayout(top)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status, sinkOut, srcAcc, trace []byte, traced bool) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{statusFile: status, sinkOutFile(0): sinkOut, sourceAccFile(0): srcAcc, traceFile: trace} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		stim := &Stimulus{Expect: []int{2}, Trace: traced}
		res, err := readResult(dir, l, stim, "icarus")
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "sim: dut (icarus): ") {
				t.Fatalf("error %q: want one line naming the design", msg)
			}
			return
		}
		if traced && len(res.Outputs) != res.Cycles {
			t.Fatalf("trace of %d cycles for a run of %d", len(res.Outputs), res.Cycles)
		}
		for _, b := range res.Sinks[0] {
			if b.Data.Sign() < 0 || b.Data.BitLen() > 12 {
				t.Fatalf("sink beat %v does not fit 12 bits", b.Data)
			}
		}
	})
}

// FuzzParseHex checks the hex reader every run file goes through: x/z
// digits and malformed or too wide values are errors; an accepted value
// prints back (formatHex) to a string that parses to the same value.
func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"0", "ff", "1FF", "x", "0z1", "-1", "+f", "", "0x10", "_1", "00000000000000000000000000000001"} {
		f.Add(s, 8)
	}
	f.Add("ffffffffffffffffffff", 80)
	f.Fuzz(func(t *testing.T, s string, width int) {
		if width < 1 || width > 4096 {
			return
		}
		v, err := parseHex(s, width)
		if err != nil {
			return
		}
		if v.Sign() < 0 || v.BitLen() > width {
			t.Fatalf("parseHex(%q, %d) = %v: out of range", s, width, v)
		}
		again, err := parseHex(formatHex(v, width), width)
		if err != nil || again.Cmp(v) != 0 {
			t.Fatalf("parseHex(%q) = %v does not survive formatHex: %v, %v", s, v, again, err)
		}
	})
}
