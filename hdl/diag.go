package hdl

import (
	"fmt"
	"sort"
	"strings"
)

// Severity tells whether a diagnostic stops elaboration.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is one problem found while building or checking a design.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Pass     string // the check pass or "build"
	Msg      string
}

func (d Diagnostic) Error() string {
	sev := "error"
	if d.Severity == Warning {
		sev = "warning"
	}
	return fmt.Sprintf("%s: %s: %s: %s", d.Pos, sev, d.Pass, d.Msg)
}

// Diagnostics is a list of diagnostics; as an error it prints one per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// Errors returns only the diagnostics of Error severity.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns only the diagnostics of Warning severity.
func (ds Diagnostics) Warnings() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Warning {
			out = append(out, d)
		}
	}
	return out
}

func (ds Diagnostics) sorted() Diagnostics {
	out := append(Diagnostics(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Pos.File != out[j].Pos.File {
			return out[i].Pos.File < out[j].Pos.File
		}
		return out[i].Pos.Line < out[j].Pos.Line
	})
	return out
}
