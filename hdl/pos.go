package hdl

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// Pos is a source position in the user's Go code.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.File == "" {
		return "?"
	}
	return fmt.Sprintf("%s:%d", filepath.Base(p.File), p.Line)
}

// IsValid reports whether p names a real position.
func (p Pos) IsValid() bool { return p.File != "" }

// callerPos returns the first stack frame outside this package's own
// (non-test) files, so diagnostics point at the line the user wrote.
func callerPos() Pos {
	var pcs [32]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !inHDL(f) {
			return Pos{File: f.File, Line: f.Line}
		}
		if !more {
			return Pos{}
		}
	}
}

func inHDL(f runtime.Frame) bool {
	fn := f.Function
	// Function names look like "github.com/x/y/hdl.(*Module).Set"; trim any
	// closure suffixes by looking at the package path part only.
	slash := strings.LastIndex(fn, "/")
	pkg := fn[slash+1:]
	if dot := strings.Index(pkg, "."); dot >= 0 {
		pkg = pkg[:dot]
	}
	if pkg != "hdl" || !strings.HasSuffix(fn[:slash+1], "/") {
		return false
	}
	return !strings.HasSuffix(f.File, "_test.go")
}
