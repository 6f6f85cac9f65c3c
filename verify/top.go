package verify

import (
	"path/filepath"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/verify/sim"
)

// SimTop describes the generated design in dir, as its manifest gives it,
// for the simulators.
func SimTop(man *arch.Manifest, dir string) *sim.Top {
	t := &sim.Top{Name: man.Top, Clock: man.Clock, Reset: man.Reset}
	for _, f := range man.Files {
		t.Files = append(t.Files, filepath.Join(dir, f.Name))
	}
	for _, p := range man.Ports {
		d := sim.In
		if p.Dir == "out" {
			d = sim.Out
		}
		t.Ports = append(t.Ports, sim.Port{Name: p.Name, Width: p.Width, Signed: p.Signed, Dir: d})
	}
	for _, s := range man.Streams {
		st := sim.Stream{Name: s.Name, Valid: s.Valid, Ready: s.Ready, Data: s.Data}
		if s.Dir == "in" {
			t.Sources = append(t.Sources, st)
		} else {
			t.Sinks = append(t.Sinks, st)
		}
	}
	return t
}
