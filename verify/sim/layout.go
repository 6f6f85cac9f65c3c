package sim

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// streamPorts holds the port indices of one stream.
type streamPorts struct {
	name               string
	valid, ready, data int
}

// layout is a validated Top with every port's role resolved to an index
// into Top.Ports; both harness generators and the result reader use it so
// that they agree on port order.
type layout struct {
	top     *Top
	index   map[string]int
	plain   []int // plain inputs: not clock, reset or part of a stream
	outputs []int // every output, in port order (the trace columns)
	clock   int
	reset   int // -1 if none
	sources []streamPorts
	sinks   []streamPorts
}

// identRE accepts names that are the same identifier in Verilog and in the
// C++ Verilator generates (Verilator mangles "__" and C++ keywords).
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// cppReserved lists C++ keywords a Verilog port could plausibly be named.
var cppReserved = map[string]bool{
	"auto": true, "bool": true, "break": true, "case": true, "char": true, "class": true,
	"const": true, "continue": true, "default": true, "delete": true, "do": true,
	"double": true, "else": true, "enum": true, "float": true, "for": true, "goto": true,
	"if": true, "int": true, "long": true, "new": true, "operator": true, "private": true,
	"public": true, "return": true, "short": true, "signed": true, "sizeof": true,
	"static": true, "struct": true, "switch": true, "template": true, "this": true,
	"throw": true, "try": true, "typedef": true, "union": true, "unsigned": true,
	"virtual": true, "void": true, "volatile": true, "while": true,
}

func checkIdent(what, name string) error {
	switch {
	case !identRE.MatchString(name):
		return fmt.Errorf("%s %q is not a simple identifier", what, name)
	case strings.Contains(name, "__"):
		return fmt.Errorf("%s %q contains \"__\", which Verilator renames", what, name)
	case cppReserved[name]:
		return fmt.Errorf("%s %q is a C++ keyword, which Verilator renames", what, name)
	}
	return nil
}

// newLayout validates top and resolves its port roles.
func newLayout(top *Top) (*layout, error) {
	if top == nil {
		return nil, errors.New("sim: nil Top")
	}
	if err := checkIdent("module name", top.Name); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	l := &layout{top: top, index: map[string]int{}, reset: -1}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if len(top.Files) == 0 {
		fail("no Verilog files")
	}
	for i, p := range top.Ports {
		if err := checkIdent("port", p.Name); err != nil {
			errs = append(errs, err)
		}
		if _, dup := l.index[p.Name]; dup {
			fail("port %q declared twice", p.Name)
		}
		if p.Width < 1 {
			fail("port %q has width %d", p.Name, p.Width)
		}
		if p.Dir != In && p.Dir != Out {
			fail("port %q has bad direction %d", p.Name, int(p.Dir))
		}
		l.index[p.Name] = i
		if p.Dir == Out {
			l.outputs = append(l.outputs, i)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sim: top %s: %w", top.Name, errors.Join(errs...))
	}

	// used records which role claimed each input, to catch a port in two roles.
	used := map[int]string{}
	claim := func(role, name string, dir Direction, width int) int {
		i, ok := l.index[name]
		if !ok {
			fail("%s: no port %q", role, name)
			return -1
		}
		p := top.Ports[i]
		if p.Dir != dir {
			fail("%s: port %q is an %v, want an %v", role, name, p.Dir, dir)
		}
		if width > 0 && p.Width != width {
			fail("%s: port %q has width %d, want %d", role, name, p.Width, width)
		}
		if prev, dup := used[i]; dup {
			fail("%s: port %q is already the %s", role, name, prev)
		}
		used[i] = role
		return i
	}
	if top.Clock == "" {
		fail("no clock port")
	} else {
		l.clock = claim("clock", top.Clock, In, 1)
	}
	if top.Reset != "" {
		l.reset = claim("reset", top.Reset, In, 1)
	}
	stream := func(kind string, k int, s Stream, in Direction) streamPorts {
		out := Out
		if in == Out {
			out = In
		}
		role := fmt.Sprintf("%s %d %q", kind, k, s.Name)
		return streamPorts{
			name:  s.Name,
			valid: claim(role+" valid", s.Valid, in, 1),
			ready: claim(role+" ready", s.Ready, out, 1),
			data:  claim(role+" data", s.Data, in, 0),
		}
	}
	for k, s := range top.Sources {
		l.sources = append(l.sources, stream("source", k, s, In))
	}
	for k, s := range top.Sinks {
		l.sinks = append(l.sinks, stream("sink", k, s, Out))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sim: top %s: %w", top.Name, errors.Join(errs...))
	}
	for i, p := range top.Ports {
		if _, ok := used[i]; !ok && p.Dir == In {
			l.plain = append(l.plain, i)
		}
	}
	return l, nil
}

// port returns the port at index i.
func (l *layout) port(i int) Port { return l.top.Ports[i] }

// maxWidth returns the widest of the given ports (at least 1).
func (l *layout) maxWidth(idx []int) int {
	w := 1
	for _, i := range idx {
		w = max(w, l.port(i).Width)
	}
	return w
}

// checkValue reports a nil, negative or too-wide pattern for a port.
func checkValue(v *big.Int, width int) error {
	switch {
	case v == nil:
		return errors.New("nil value")
	case v.Sign() < 0:
		return fmt.Errorf("negative value %v (use FromInt for two's complement)", v)
	case v.BitLen() > width:
		return fmt.Errorf("value %#x does not fit %d bits", v, width)
	}
	return nil
}

// checkStimulus validates stim against the layout.
func (l *layout) checkStimulus(stim *Stimulus) error { return l.checkStimulusOf(stim, true) }

// checkStimulusOf validates stim, with or without the source payloads (a
// session checks those while it encodes them).
func (l *layout) checkStimulusOf(stim *Stimulus, payloads bool) error {
	if stim == nil {
		return fmt.Errorf("sim: %s: nil Stimulus", l.top.Name)
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	plain := map[int]bool{}
	for _, i := range l.plain {
		plain[i] = true
	}
	for n, c := range stim.Changes {
		i, ok := l.index[c.Port]
		switch {
		case !ok:
			fail("change %d: no port %q", n, c.Port)
		case !plain[i]:
			fail("change %d: port %q is not a plain input", n, c.Port)
		case c.Cycle < 0:
			fail("change %d: negative cycle %d", n, c.Cycle)
		default:
			if err := checkValue(c.Value, l.port(i).Width); err != nil {
				fail("change %d (port %q, cycle %d): %v", n, c.Port, c.Cycle, err)
			}
		}
	}
	if stim.Sources != nil && len(stim.Sources) != len(l.sources) {
		fail("%d source queues for %d sources", len(stim.Sources), len(l.sources))
	}
	for k, q := range stim.Sources {
		if k >= len(l.sources) || !payloads {
			break
		}
		w := l.port(l.sources[k].data).Width
		for n, v := range q {
			if err := checkValue(v, w); err != nil {
				fail("source %q payload %d: %v", l.sources[k].name, n, err)
			}
		}
	}
	if stim.SourceStall != nil && len(stim.SourceStall) != len(l.sources) {
		fail("%d source stall functions for %d sources", len(stim.SourceStall), len(l.sources))
	}
	if stim.SinkStall != nil && len(stim.SinkStall) != len(l.sinks) {
		fail("%d sink stall functions for %d sinks", len(stim.SinkStall), len(l.sinks))
	}
	if stim.Expect != nil && len(stim.Expect) != len(l.sinks) {
		fail("%d expected beat counts for %d sinks", len(stim.Expect), len(l.sinks))
	}
	for k, n := range stim.Expect {
		if n < 0 {
			fail("sink %d: negative expected beats %d", k, n)
		}
	}
	switch {
	case stim.Cycles < 0:
		fail("negative Cycles %d", stim.Cycles)
	case stim.MaxCycles < 0:
		fail("negative MaxCycles %d", stim.MaxCycles)
	case stim.Linger < 0:
		fail("negative Linger %d", stim.Linger)
	case stim.Cycles > 0 && stim.MaxCycles > 0 && stim.Cycles > stim.MaxCycles:
		fail("Cycles %d exceeds MaxCycles %d", stim.Cycles, stim.MaxCycles)
	case stim.Cycles == 0 && len(l.sources) == 0 && len(l.sinks) == 0:
		fail("design has no streams: set Cycles")
	}
	if len(errs) > 0 {
		return fmt.Errorf("sim: %s: bad stimulus: %w", l.top.Name, errors.Join(errs...))
	}
	return nil
}

// maxCycles returns the effective cycle limit of a stream run.
func maxCycles(stim *Stimulus) int {
	if stim.MaxCycles > 0 {
		return stim.MaxCycles
	}
	return DefaultMaxCycles
}
