package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// Verilator runs designs with Verilator. It is 2-state (x and z read as 0)
// and fast to simulate but slow to build, so builds are cached by a hash of
// the RTL, the harness, the flags and the Verilator version.
type Verilator struct {
	Bin  string // "" looks up "verilator" in PATH
	Jobs int    // parallel compile jobs; 0 uses every CPU
}

// Name returns "verilator".
func (Verilator) Name() string { return "verilator" }

// verilatorFlags are the flags that shape the binary (and so the cache key).
// The harness binary lives a short life: low C++ optimization builds much
// faster, and 2-state x handling is left to Verilator's fastest choice.
func verilatorFlags(top string, trace bool) []string {
	flags := []string{
		"--cc", "--exe", "--build",
		"--prefix", "Vtop", "--top-module", top,
		"-Wall", "-Wno-fatal",
		"--x-assign", "fast", "--x-initial", "fast",
		"-MAKEFLAGS", "OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1",
		"-o", "sim",
	}
	if trace {
		flags = append(flags, "--trace")
	}
	return flags
}

// Run simulates top with stim, building (or reusing) the harness binary.
func (s Verilator) Run(ctx context.Context, top *Top, stim *Stimulus, opt Options) (*Result, error) {
	const sim = "verilator"
	verilator, err := lookPath(orDefault(s.Bin, "verilator"))
	if err != nil {
		return nil, err
	}
	p, err := prepare(top, stim, opt)
	if err != nil {
		return nil, err
	}
	hb := harnessBuild{
		tag:     "tpugen sim verilator v1",
		what:    "verilator",
		harness: verilatorHarness(p.layout),
		flags:   verilatorFlags(top.Name, p.vcd != ""),
	}
	bin, cached, err := s.build(ctx, verilator, p.layout, p.files, hb, opt)
	if err != nil {
		return nil, err
	}
	dir, cleanup, err := runDir(opt, top.Name, sim)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	res, err := simulate(ctx, opt, dir, p, stim, sim, bin)
	if err != nil {
		return nil, err
	}
	res.BuildCached = cached
	return res, nil
}

// harnessBuild is one kind of harness binary: the C++ main, the flags and
// a tag that keeps its cache keys apart from other kinds.
type harnessBuild struct {
	tag     string // first part of the cache key
	what    string // names the build in log lines
	harness string
	flags   []string
}

// build returns the harness binary for the design, from the cache if
// possible.
func (s Verilator) build(ctx context.Context, verilator string, l *layout, files []string, hb harnessBuild, opt Options) (string, bool, error) {
	root, err := cacheRoot(opt)
	if err != nil {
		return "", false, err
	}
	version, err := run(ctx, nil, "", verilator, "--version")
	if err != nil {
		return "", false, l.errorf("verilator", "%w", err)
	}
	harness, flags := hb.harness, hb.flags
	parts := [][]byte{[]byte(hb.tag), version, []byte(harness)}
	for _, f := range flags {
		parts = append(parts, []byte(f))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return "", false, l.errorf("verilator", "%w", err)
		}
		parts = append(parts, src)
	}
	key := cacheKey(parts...)

	jobs := s.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	start := time.Now()
	bin, cached, err := cachedBuild(filepath.Join(root, "verilator"), key, "sim", func(tmp string) error {
		cpp := filepath.Join(tmp, "harness.cpp")
		if err := os.WriteFile(cpp, []byte(harness), 0o644); err != nil {
			return err
		}
		args := append(append([]string{"-j", strconv.Itoa(jobs), "--Mdir", "obj"}, flags...), cpp)
		if _, err := run(ctx, opt.Log, tmp, verilator, append(args, files...)...); err != nil {
			return l.errorf("verilator", "build: %w", err)
		}
		// Keep only the binary (and the harness source, for debugging).
		if err := os.Rename(filepath.Join(tmp, "obj", "sim"), filepath.Join(tmp, "sim")); err != nil {
			return l.errorf("verilator", "build: %w", err)
		}
		return os.RemoveAll(filepath.Join(tmp, "obj"))
	})
	if err != nil {
		return "", false, err
	}
	if opt.Log != nil {
		what := fmt.Sprintf("built in %.1fs", time.Since(start).Seconds())
		if cached {
			what = "build cache hit"
		}
		fmt.Fprintf(opt.Log, "sim: %s %s: %s (%s)\n", hb.what, l.top.Name, what, key[:12])
	}
	return bin, cached, nil
}
