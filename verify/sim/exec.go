package sim

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

// lookPath finds a simulator tool, or explains how to install it.
func lookPath(bin string) (string, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("sim: %s not found in PATH: run scripts/setup.sh (installs iverilog, verilator and yosys)", bin)
	}
	return path, nil
}

// tailLines is how much of a failing tool's output goes into the error.
const tailLines = 20

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// run executes a tool in dir and returns its combined output. On failure
// the error carries the last lines of that output; on cancellation of ctx the
// whole process group is killed (builds spawn make and the compiler).
func run(ctx context.Context, log io.Writer, dir, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	if log != nil {
		fmt.Fprintf(log, "sim: %s (%.2fs)\n", commandLine(dir, bin, args), time.Since(start).Seconds())
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return out.Bytes(), fmt.Errorf("%s: %w", filepath.Base(bin), ctxErr)
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && out.Len() > 0 {
			return out.Bytes(), fmt.Errorf("%s: %w\n%s", filepath.Base(bin), err, tail(out.Bytes(), tailLines))
		}
		return out.Bytes(), fmt.Errorf("%s: %w", filepath.Base(bin), err)
	}
	return out.Bytes(), nil
}

// commandLine shortens a command for the log: paths inside the run
// directory are made relative and long argument lists are cut.
func commandLine(dir, bin string, args []string) string {
	words := []string{filepath.Base(bin)}
	for i, a := range args {
		if i == 12 {
			words = append(words, fmt.Sprintf("... (%d more)", len(args)-12))
			break
		}
		if dir != "" {
			a = strings.ReplaceAll(a, dir+string(filepath.Separator), "")
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}
