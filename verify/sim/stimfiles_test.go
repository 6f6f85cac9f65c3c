package sim

import (
	"math/big"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteStimulus pins the documented file formats.
func TestWriteStimulus(t *testing.T) {
	// fifoTop has no plain inputs; add one to exercise stim.txt.
	top := fifoTop()
	top.Ports = append(top.Ports, in("mode", 12))
	l, err := newLayout(top)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stim := &Stimulus{
		Changes: []Change{
			{Cycle: 5, Port: "mode", Value: big.NewInt(0xabc)},
			{Cycle: 0, Port: "mode", Value: big.NewInt(1)},
			{Cycle: 5, Port: "mode", Value: big.NewInt(2)},
		},
		Sources:     [][]*big.Int{{big.NewInt(0x12), big.NewInt(0xbeef)}},
		SourceStall: []func(int) bool{func(c int) bool { return c == 1 || c == 3 }},
		Expect:      []int{2},
	}
	if err := l.checkStimulus(stim); err != nil {
		t.Fatal(err)
	}
	args, err := writeStimulus(dir, l, stim, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		stimFile:           "0 8 001\n5 8 abc\n5 8 002\n",
		sourceFile(0):      "0012\nbeef\n",
		sourceStallFile(0): "0\n1\n0\n1\n",
	} {
		if got := readFile(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s:\n%q\nwant\n%q", name, got, want)
		}
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"+expect0=2", "+cycles=0", "+max_cycles=1000000", "+src0_stall="} {
		if !strings.Contains(joined, want) {
			t.Errorf("plusargs %q lack %q", joined, want)
		}
	}
	if strings.Contains(joined, "+sink0_stall=") || strings.Contains(joined, "+trace=") {
		t.Errorf("plusargs %q name files that were not asked for", joined)
	}
}

func TestBadTopAndStimulus(t *testing.T) {
	for _, tc := range []struct {
		desc string
		edit func(*Top, *Stimulus)
		want string
	}{
		{"unknown clock", func(tp *Top, _ *Stimulus) { tp.Clock = "clock" }, `clock: no port "clock"`},
		{"wide valid", func(tp *Top, _ *Stimulus) { tp.Ports[2].Width = 2 }, `port "in_valid" has width 2, want 1`},
		{"ready direction", func(tp *Top, _ *Stimulus) { tp.Sinks[0].Ready = "in_ready" }, `port "in_ready" is an output, want an input`},
		{"port twice", func(tp *Top, _ *Stimulus) { tp.Reset = "clk" }, `port "clk" is already the clock`},
		{"mangled name", func(tp *Top, _ *Stimulus) { tp.Ports[1].Name = "a__b" }, `"a__b" contains "__"`},
		{"change of stream port", func(_ *Top, s *Stimulus) {
			s.Changes = []Change{{Port: "in_data", Value: big.NewInt(1)}}
		}, `port "in_data" is not a plain input`},
		{"payload too wide", func(_ *Top, s *Stimulus) {
			s.Sources = [][]*big.Int{{big.NewInt(1 << 16)}}
		}, `does not fit 16 bits`},
		{"negative payload", func(_ *Top, s *Stimulus) {
			s.Sources = [][]*big.Int{{big.NewInt(-1)}}
		}, `use FromInt`},
		{"expect count", func(_ *Top, s *Stimulus) { s.Expect = []int{1, 2} }, `2 expected beat counts for 1 sinks`},
	} {
		top, stim := fifoTop(), &Stimulus{Expect: []int{1}}
		tc.edit(top, stim)
		l, err := newLayout(top)
		if err == nil {
			err = l.checkStimulus(stim)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.desc, err, tc.want)
		}
	}
}
