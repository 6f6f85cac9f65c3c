// Command tpugen generates Verilog for a systolic matrix unit from a JSON
// configuration and checks Icarus Verilog and Verilator simulations of it,
// bit for bit, against the Go golden model.
//
// Usage:
//
//	tpugen rtl     [-config FILE] -out DIR
//	tpugen gemm    [-config FILE] [-sim icarus|verilator] -a A.txt -b B.txt -o C.txt
//	tpugen layer   [-config FILE] [-sim icarus|verilator] (-random fc|conv | -a A.txt -b B.txt -bias BIAS.txt ...)
//	tpugen regress [-config FILE] [-sim icarus|verilator|both] [-cases N] [-seed S] [-case I]
//	tpugen demo    [-out DIR]
//
// Exit status: 0 success (the RTL matched the golden model), 1 the RTL and
// the golden model differ (or a simulation failed), 2 bad input or usage.
//
// Results go to standard output; progress lines and errors go to standard
// error. A user mistake prints one line, "tpugen <command>: <message>".
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify/sim"
)

// Exit codes.
const (
	exitOK       = 0 // success; the RTL matched the golden model
	exitMismatch = 1 // RTL and golden model differ, or a simulation failed
	exitUsage    = 2 // bad input or usage
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"rtl", "generate Verilog, manifest, file list and C header for a configuration", runRTL},
		{"gemm", "run C = A x B on the generated RTL and compare with the golden model", runGEMM},
		{"layer", "run a quantized FC or im2col conv layer on the RTL and compare with quant", runLayer},
		{"regress", "run a random and directed GEMM (and layer) regression against the golden model", runRegress},
		{"run", "import an ONNX model, quantize it and run a test set on the RTL, bit-exact, with accuracy and cycles", runRun},
		{"bnn", "run a binarized network: int8 layers on the integer unit, binary layers on a binary (xnor) unit, bit-exact", runBNN},
		{"vectors", "write per-layer golden vectors of one image through a quantized model, for other testbenches", runVectors},
		{"sparsity", "pruned models on the RTL: sparsity, accuracy, cycles and weight traffic against the dense model, with a plot", runSparsity},
		{"demo", "generate the default RTL, run a short regression and a large GEMM", runDemo},
		{"synth", "synthesize the matrix unit for an FPGA (Yosys, nextpnr-ice40): resources, fit, Fmax, critical path", runSynth},
		{"sweep", "sweep array shape, dataflow, bits and MAC form: area, Fmax, cycles and images per second, with plots", runSweep},
		{"asm", "assemble a core program (text) into 256-bit instruction words", runAsm},
		{"disasm", "disassemble a binary core program into text", runDisasm},
		{"mutate", "mutation cover: Yosys mutate on each block, every mutant run through the regression in Verilator", runMutate},
		{"soak", "stall soak: a million beats with random valid/ready on every stream, checked against the golden model", runSoak},
	}
}

// env is what a subcommand runs with.
type env struct {
	ctx    context.Context
	cmd    string
	stdout io.Writer
	stderr io.Writer
	log    *logrus.Logger // progress lines only, on stderr
	usage  func()         // prints the command's usage; set by flagSet
	// closers run when the command ends (persistent simulator sessions).
	closers []func()
}

// sessions returns sims with Verilator run through persistent sessions,
// for commands that run many simulations of one design; they are closed
// when the command ends.
func (e *env) sessions(sims []sim.Simulator) []sim.Simulator {
	out := append([]sim.Simulator{}, sims...)
	for i, s := range out {
		if v, ok := s.(sim.Verilator); ok {
			p := sim.NewSessions(v)
			e.closers = append(e.closers, func() { p.Close() })
			out[i] = p
		}
	}
	return out
}

// run runs the tpugen command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		mainUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(args) > 1 {
			return run([]string{args[1], "-h"}, stdout, stderr)
		}
		mainUsage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		log := logrus.New()
		log.SetOutput(stderr)
		log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
		e := &env{ctx: ctx, cmd: c.name, stdout: stdout, stderr: stderr, log: log}
		err := c.run(e, args[1:])
		for _, f := range e.closers {
			f()
		}
		if err == nil {
			return exitOK
		}
		code := exitMismatch
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if code == exitOK { // -h
			return exitOK
		}
		fmt.Fprintf(stderr, "tpugen %s: %s\n", c.name, err)
		return code
	}
	fmt.Fprintf(stderr, "tpugen: unknown command %q (commands: %s; see tpugen -h)\n", name, strings.Join(commandNames(), ", "))
	return exitUsage
}

func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, "tpugen generates Verilog for a systolic matrix unit and checks its simulations\nagainst a Go golden model.\n\nUsage: tpugen <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun tpugen <command> -h for the flags of a command.\n")
	fmt.Fprintf(w, "Exit status: 0 success, 1 RTL and golden model differ (or a simulation failed), 2 bad input or usage.\n")
}

// exitError carries the exit status of a failed command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as the user's mistake (exit status 2).
func badInput(err error) error { return &exitError{exitUsage, err} }

// badInputf formats a user mistake (exit status 2).
func badInputf(format string, a ...any) error { return badInput(fmt.Errorf(format, a...)) }

// mismatch marks a failed check of the RTL (exit status 1).
func mismatch(err error) error { return &exitError{exitMismatch, err} }

// errHelp ends a command after it printed its usage for -h.
var errHelp = &exitError{exitOK, flag.ErrHelp}

// flagSet returns a flag set for a subcommand whose usage text lists the
// flags after the synopsis and before the examples.
func (e *env) flagSet(synopsis, about, examples string) *flag.FlagSet {
	fs := flag.NewFlagSet("tpugen "+e.cmd, flag.ContinueOnError)
	// The flag package prints nothing: parse reports errors as one line and
	// prints the usage for -h only.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e.usage = func() {
		w := e.stdout
		fmt.Fprintf(w, "Usage: tpugen %s %s\n\n%s\n\nFlags:\n", e.cmd, synopsis, about)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintf(w, "\nExamples:\n%s\n", examples)
	}
	return fs
}

// parse parses args: -h prints the usage (exit 0); anything else wrong, or
// a stray argument, is one line (exit 2).
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage()
			return errHelp
		}
		return badInputf("%v (see tpugen %s -h)", err, e.cmd)
	}
	if fs.NArg() > 0 {
		return badInputf("unexpected argument %q (see tpugen %s -h)", fs.Arg(0), e.cmd)
	}
	return nil
}

// loadConfig returns the configuration in path, or the embedded default
// when path is empty.
// design loads the configuration at path (the embedded default when path
// is empty) and generates its RTL in memory.
func design(path string) (*gen.Output, *arch.Manifest, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	return generate(cfg)
}

func loadConfig(path string) (gen.Config, error) {
	if path == "" {
		return gen.DefaultConfig(), nil
	}
	cfg, err := gen.LoadConfig(path)
	if err != nil {
		return gen.Config{}, badInput(err)
	}
	return cfg, nil
}

// generate elaborates cfg and returns the output with its manifest as
// verify reads it (from the manifest.json text, like any testbench).
func generate(cfg gen.Config) (*gen.Output, *arch.Manifest, error) {
	out, err := gen.Generate(cfg)
	if err != nil {
		return nil, nil, badInput(err)
	}
	names, data, err := out.Files()
	if err != nil {
		return nil, nil, err
	}
	for i, n := range names {
		if n == "manifest.json" {
			man, err := arch.ParseManifest(data[i])
			return out, man, err
		}
	}
	return nil, nil, errors.New("generator wrote no manifest.json")
}

// rtlSource is where a command gets its RTL: generated from -config, or
// already on disk in -rtl DIR (hand-edited or mutated RTL, read through its
// manifest like any other testbench would).
type rtlSource struct {
	config, rtl *string
}

func (e *env) rtlFlags(fs *flag.FlagSet) rtlSource {
	return rtlSource{
		config: fs.String("config", "", "JSON configuration `FILE` (default: the embedded default)"),
		rtl:    fs.String("rtl", "", "use the generated RTL already in `DIR` (its manifest.json) instead of generating it; for hand-edited or mutated designs"),
	}
}

// open returns the manifest and a directory holding the RTL, with a
// cleanup that removes a temporary one.
func (r rtlSource) open() (*arch.Manifest, string, func(), error) {
	if *r.rtl != "" {
		if *r.config != "" {
			return nil, "", nil, badInputf("-config and -rtl are exclusive: -rtl runs the RTL in DIR as its manifest describes it")
		}
		man, err := arch.LoadManifest(*r.rtl)
		if err != nil {
			return nil, "", nil, badInput(err)
		}
		return man, *r.rtl, func() {}, nil
	}
	out, man, err := design(*r.config)
	if err != nil {
		return nil, "", nil, err
	}
	dir, cleanup, err := writeTempRTL(out)
	if err != nil {
		return nil, "", nil, err
	}
	return man, dir, cleanup, nil
}

// writeTempRTL writes out into a fresh temporary directory and returns it
// with a cleanup that removes it.
func writeTempRTL(out *gen.Output) (string, func(), error) {
	tmp, err := os.MkdirTemp("", "tpugen-rtl-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	dir := filepath.Join(tmp, out.Config.Name)
	if err := out.WriteDir(dir); err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

// simulators parses a -sim value; both allows "both" (Icarus, then Verilator).
func simulators(name string, both bool) ([]sim.Simulator, error) {
	if both && name == "both" {
		return []sim.Simulator{sim.Icarus{}, sim.Verilator{}}, nil
	}
	s, err := sim.SimulatorByName(name)
	if err != nil {
		want := "icarus or verilator"
		if both {
			want = "icarus, verilator or both"
		}
		return nil, badInputf("-sim %q: want %s", name, want)
	}
	return []sim.Simulator{s}, nil
}

// simTools are the programs each simulator needs in PATH.
var simTools = map[string][]string{"icarus": {"iverilog", "vvp"}, "verilator": {"verilator"}}

// checkSimulators fails before any long run when a simulator's tools are
// missing. The error is the simulator package's own (it names scripts/setup.sh): a
// simulator looks its tools up before it looks at the design, so running
// an empty one is enough to get it.
func checkSimulators(ctx context.Context, sims []sim.Simulator) error {
	for _, s := range sims {
		for _, bin := range simTools[s.Name()] {
			if _, err := exec.LookPath(bin); err == nil {
				continue
			}
			_, err := s.Run(ctx, &sim.Top{}, &sim.Stimulus{}, sim.Options{})
			if err == nil {
				err = fmt.Errorf("%s not found in PATH: run scripts/setup.sh", bin)
			}
			return badInput(err)
		}
	}
	return nil
}

// simOptions are the simulator options of a command: tool command lines
// go to the log at debug level (-v).
func (e *env) simOptions() sim.Options {
	return sim.Options{Log: &logWriter{log: e.log, level: func(string) logrus.Level { return logrus.DebugLevel }}}
}

// verboseFlag adds -v to fs.
func (e *env) verboseFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("v", false, "also log every simulator command and build-cache hit")
}

func (e *env) setVerbose(v bool) {
	if v {
		e.log.SetLevel(logrus.DebugLevel)
	}
}

// logWriter turns lines written to it into log entries.
type logWriter struct {
	log   *logrus.Logger
	level func(line string) logrus.Level
	buf   []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if strings.TrimSpace(line) != "" {
			w.log.Log(w.level(line), line)
		}
	}
}

// interrupted reports a run stopped by a signal as one line.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return mismatch(errors.New("interrupted"))
	}
	return err
}

// describeConfig is a one-line description of a configuration.
func describeConfig(c arch.Config) string {
	d := fmt.Sprintf("%s: %dx%d %s, %s x %s -> %s, acc_depth %d", c.Name, c.Rows, c.Cols, c.Dataflow,
		arch.TypeName(c.InputBits, c.InputSigned), arch.TypeName(c.WeightBits, c.WeightSigned), arch.TypeName(c.AccBits, c.AccSigned()), c.AccDepth)
	if c.Requant {
		d += fmt.Sprintf(", requant (%s rounding)", c.Rounding)
		if c.Activation.Any() {
			d += fmt.Sprintf(", activation %v", c.Activation)
		}
		if c.Pool {
			d += fmt.Sprintf(", pool up to %dx%d", c.PoolWindow, c.PoolWindow)
		}
	}
	return d
}

// shellQuote quotes s for a POSIX shell when it needs it, so that printed
// commands can be pasted.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
