package fpga

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tools runs Yosys and nextpnr-ice40. The zero value looks both up in PATH
// and logs nothing.
type Tools struct {
	// Yosys and Nextpnr are the programs' paths; empty means "yosys" and
	// "nextpnr-ice40" in PATH.
	Yosys, Nextpnr string
	// Log receives one line per tool run: the command and how long it took.
	Log io.Writer
}

// MissingToolError says a program is not installed.
type MissingToolError struct{ Program string }

func (e *MissingToolError) Error() string {
	return fmt.Sprintf("%s not found in PATH: run scripts/setup.sh (installs yosys, nextpnr-ice40 and fpga-icestorm)", e.Program)
}

func (t *Tools) yosys() string   { return or(t.Yosys, "yosys") }
func (t *Tools) nextpnr() string { return or(t.Nextpnr, "nextpnr-ice40") }

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// Check looks up the programs a target needs (Yosys; nextpnr-ice40 when
// pnr is set and the target is placed and routed) and returns a
// *MissingToolError for the first one missing.
func (t *Tools) Check(target *Target, pnr bool) error {
	progs := []string{t.yosys()}
	if pnr && target.PlaceAndRoute() {
		progs = append(progs, t.nextpnr())
	}
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			return &MissingToolError{Program: p}
		}
	}
	return nil
}

// tailLines is how much of a failing tool's output goes into its error.
const tailLines = 15

// run executes a program in dir and returns its combined output. A failure
// carries the last lines of the output; cancelling ctx kills the program's
// whole process group.
func (t *Tools) run(ctx context.Context, dir, bin string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(bin); err != nil {
		return nil, &MissingToolError{Program: bin}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	if t.Log != nil {
		fmt.Fprintf(t.Log, "%s %s (%.1fs)\n", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Seconds())
	}
	if ctx.Err() != nil {
		return out.Bytes(), fmt.Errorf("%s: %w", filepath.Base(bin), ctx.Err())
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return out.Bytes(), fmt.Errorf("%s: %w\n%s", filepath.Base(bin), err, tail(out.Bytes(), tailLines))
		}
		return out.Bytes(), fmt.Errorf("%s: %w", filepath.Base(bin), err)
	}
	return out.Bytes(), nil
}

// tail returns the last n non-empty lines of out.
func tail(out []byte, n int) string {
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// Versions returns the version of Yosys and, when pnr is set, of
// nextpnr-ice40, as "Yosys 0.23" and "nextpnr-ice40 0.4-1+b1" (empty
// strings for programs that do not answer).
func (t *Tools) Versions(ctx context.Context, pnr bool) []string {
	var out []string
	if v, err := t.run(ctx, "", t.yosys(), "-V"); err == nil {
		f := strings.Fields(string(v))
		if len(f) >= 2 {
			out = append(out, f[0]+" "+f[1])
		}
	}
	if pnr {
		if v, err := t.run(ctx, "", t.nextpnr(), "--version"); err == nil {
			s := strings.TrimSpace(string(v))
			if i := strings.Index(s, "(Version "); i >= 0 {
				s = "nextpnr-ice40 " + strings.TrimSuffix(s[i+len("(Version "):], ")")
			}
			out = append(out, s)
		}
	}
	return out
}
