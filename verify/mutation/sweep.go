package mutation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
	"github.com/tpugen/tpugen/verify/soak"
)

// Design is a generated design to mutate: a directory holding its Verilog
// files and manifest.json.
type Design struct {
	Dir      string
	Manifest *arch.Manifest
}

// LoadDesign reads the design in dir through its manifest.
func LoadDesign(dir string) (Design, error) {
	man, err := arch.LoadManifest(dir)
	if err != nil {
		return Design{}, err
	}
	return Design{Dir: dir, Manifest: man}, nil
}

func (d Design) files() []string {
	var out []string
	for _, f := range d.Manifest.Files {
		out = append(out, f.Name)
	}
	return out
}

// Regression is what each mutant must fail: the regression's GEMM cases
// (directed first, then random, every third with random stalls) and, with
// the pipeline, its layer cases, from one seed. A mutant is run case by
// case and stops at the first failing one.
type Regression struct {
	Cases  int    `json:"cases"`
	Layers int    `json:"layers"` // ignored (0) for a design without the pipeline
	Seed   uint64 `json:"seed"`
	// Extra runs the targeted cases of this package after the regression's
	// (ExtraCases): corners the random cases reach too rarely.
	Extra bool `json:"extra"`
	// Targeted is the version of the targeted cases (TargetedVersion when
	// Extra): later versions only add cases.
	Targeted int `json:"targeted,omitempty"`
	// Soak, when positive, runs a stall soak of that many beats (package
	// soak, seeded by Seed) on a mutant that passed every case: long runs
	// with random valid/ready on every stream catch what a stall of the
	// wrong length or at the wrong moment breaks.
	Soak int `json:"soak,omitempty"`
	// Core is the version of the core regression (verify.CoreRegressVersion)
	// when the sweep has a core; a version may change the random programs,
	// so a result counts only for its own version.
	Core int `json:"core,omitempty"`
}

// Covers reports whether r runs every case of o (so a mutant o kills, r
// kills too).
func (r Regression) Covers(o Regression) bool {
	return r.Seed == o.Seed && r.Cases >= o.Cases && r.Layers >= o.Layers && (r.Extra || !o.Extra) && r.Targeted >= o.Targeted && r.Soak >= o.Soak && r.Core == o.Core
}

func (r Regression) layers(man *arch.Manifest) int {
	if !man.Config.Requant {
		return 0
	}
	return r.Layers
}

func (r Regression) String() string {
	s := fmt.Sprintf("regress cases=%d layers=%d seed=%d", r.Cases, r.Layers, r.Seed)
	if r.Extra {
		s += fmt.Sprintf(" + targeted cases v%d", r.Targeted)
	}
	if r.Soak > 0 {
		s += fmt.Sprintf(" + a %d-beat stall soak", r.Soak)
	}
	if r.Core > 0 {
		s += fmt.Sprintf("; a core: directed and %d random programs v%d", r.Cases+r.Layers, r.Core)
	}
	return s
}

// Options configures a sweep.
type Options struct {
	Regression Regression
	// Seed seeds Yosys's sampling of the mutations.
	Seed uint64
	// Jobs mutants are built and run at once (each build uses one CPU).
	Jobs int
	// CacheDir holds the results by key (default: $TPUGEN_CACHE/mutation,
	// else the user cache directory's tpugen/mutation).
	CacheDir string
	// NoProve skips the equivalence proofs of survivors.
	NoProve bool
	// ProveTimeout bounds each of a survivor's two proof attempts.
	ProveTimeout time.Duration
	Yosys        string    // "" looks up "yosys" in PATH
	Log          io.Writer // progress lines; nil is quiet
}

func (o Options) yosysBin() string {
	if o.Yosys != "" {
		return o.Yosys
	}
	return "yosys"
}

func (o Options) cacheDir() (string, error) {
	if o.CacheDir != "" {
		return o.CacheDir, nil
	}
	if d := os.Getenv("TPUGEN_CACHE"); d != "" {
		return filepath.Join(d, "mutation"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for mutation results (set TPUGEN_CACHE): %w", err)
	}
	return filepath.Join(d, "tpugen", "mutation"), nil
}

// Plan lists up to budget[block] mutations of each block of the design,
// shared among the block's modules (the first module takes the remainder),
// in the order of the manifest's files. A block without a budget entry
// gets none.
func Plan(ctx context.Context, d Design, budget map[Block]int, opt Options) ([]Mutation, error) {
	modules := map[Block][]arch.File{}
	for _, f := range d.Manifest.Files {
		b := BlockOf(f.Module)
		modules[b] = append(modules[b], f)
	}
	var out []Mutation
	for _, f := range d.Manifest.Files {
		b := BlockOf(f.Module)
		mods := modules[b]
		n := budget[b] / len(mods)
		if mods[0].Module == f.Module {
			n += budget[b] % len(mods)
		}
		if n == 0 {
			continue
		}
		ms, err := listMutations(ctx, opt.yosysBin(), d.Dir, d.files(), f.Name, f.Module, n, opt.Seed)
		if err != nil {
			return nil, err
		}
		for i := range ms {
			ms[i].Config, ms[i].Block = d.Manifest.Config.Name, b
		}
		out = append(out, ms...)
	}
	return out, nil
}

// Job is one mutant to run: its mutation and the design it mutates.
type Job struct {
	Design   Design
	Mutation Mutation
}

// Run builds and runs every job's mutant (Jobs at a time) and returns the
// results in the jobs' order. Before any mutant, each mutated module is
// written back by Yosys unchanged and run the same way: that must pass, or
// the sweep stops (a survivor would mean nothing if the round trip itself
// broke the design). An interrupted sweep returns what it finished, the
// rest NotRun, with ctx's error.
func Run(ctx context.Context, jobs []Job, opt Options) ([]Result, error) {
	for _, j := range jobs {
		if j.Design.Manifest.Core != nil {
			opt.Regression.Core = verify.CoreRegressVersion
		}
	}
	r, err := newRunner(ctx, opt)
	if err != nil {
		return nil, err
	}
	// The unchanged round trip of every mutated module.
	var base []Job
	seen := map[string]bool{}
	for _, j := range jobs {
		k := j.Design.Dir + "\x00" + j.Mutation.Module
		if !seen[k] {
			seen[k] = true
			m := j.Mutation
			m.Command = ""
			base = append(base, Job{Design: j.Design, Mutation: m})
		}
	}
	baseRes := r.runAll(ctx, base, false)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for _, res := range baseRes {
		if res.Status != Survived {
			return nil, fmt.Errorf("%s %s written back by Yosys unchanged does not pass the regression (%s): %s",
				res.Mutation.Config, res.Mutation.Module, res.Status, res.Detail)
		}
	}
	res := r.runAll(ctx, jobs, !opt.NoProve)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

type runner struct {
	opt      Options
	cache    string
	versions string // tool versions, part of every key
	logMu    sync.Mutex
}

func newRunner(ctx context.Context, opt Options) (*runner, error) {
	if opt.Regression.Extra {
		opt.Regression.Targeted = TargetedVersion
	}
	if opt.Jobs < 1 {
		opt.Jobs = 1
	}
	if opt.ProveTimeout <= 0 {
		opt.ProveTimeout = 60 * time.Second
	}
	cache, err := opt.cacheDir()
	if err != nil {
		return nil, err
	}
	yv, err := toolVersion(ctx, opt.yosysBin(), "-V")
	if err != nil {
		return nil, fmt.Errorf("yosys not found or not working (run scripts/setup.sh): %w", err)
	}
	vv, err := toolVersion(ctx, "verilator", "--version")
	if err != nil {
		return nil, fmt.Errorf("verilator not found or not working (run scripts/setup.sh): %w", err)
	}
	return &runner{opt: opt, cache: cache, versions: yv + "\n" + vv}, nil
}

func (r *runner) logf(format string, a ...any) {
	if r.opt.Log == nil {
		return
	}
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.opt.Log, format+"\n", a...)
}

func (r *runner) runAll(ctx context.Context, jobs []Job, prove bool) []Result {
	out := make([]Result, len(jobs))
	for i, j := range jobs {
		out[i] = Result{Mutation: j.Mutation, Status: NotRun, Detail: "not run (interrupted)"}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	var done, killed int
	var mu sync.Mutex
	for w := 0; w < r.opt.Jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res := r.one(ctx, jobs[i], prove)
				out[i] = res
				mu.Lock()
				done++
				if res.Status == Killed {
					killed++
				}
				n, k := done, killed
				mu.Unlock()
				what := res.Mutation.Where()
				if res.Mutation.Command == "" {
					what = "unchanged (Yosys round trip)"
				}
				cached := ""
				if res.Cached {
					cached = " (cached)"
				}
				r.logf("mutant %d/%d %s %s: %s%s, %d killed so far, %s", n, len(jobs), res.Mutation.Config, res.Mutation.Module,
					res.Status, cached, k, time.Since(start).Round(time.Second))
				if res.Status == NotRun {
					continue
				}
				if res.Status == Survived || res.Status == Errored {
					r.logf("  %s: %s", what, res.Detail)
				}
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// one runs a mutant, from the cache when it has been run before.
func (r *runner) one(ctx context.Context, j Job, prove bool) Result {
	res := r.try(ctx, j, prove)
	if ctx.Err() != nil && res.Status == Errored {
		res.Status, res.Detail = NotRun, "interrupted"
	}
	return res
}

func (r *runner) try(ctx context.Context, j Job, prove bool) Result {
	m := j.Mutation
	res := Result{Mutation: m}
	tmp, err := os.MkdirTemp("", "tpugen-mutant-")
	if err != nil {
		res.Status, res.Detail = Errored, err.Error()
		return res
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "design")
	if err := copyDesign(j.Design, dir); err != nil {
		res.Status, res.Detail = Errored, err.Error()
		return res
	}
	mutFile := filepath.Join(dir, m.File)
	if err := writeMutant(ctx, r.opt.yosysBin(), j.Design.Dir, j.Design.files(), m.File, m.Module, m.Command, mutFile); err != nil {
		res.Status, res.Detail = Errored, err.Error()
		return res
	}
	key, err := r.key(j.Design, dir)
	if err != nil {
		res.Status, res.Detail = Errored, err.Error()
		return res
	}
	res.Key, res.Regression = key, r.opt.Regression
	if c, ok := r.load(key); ok {
		// A mutant whose files are the unchanged design's (the key of the
		// round trip, run first) did not survive Yosys's write-back: the
		// mutated port is one the cell ignores, or the bit was already the
		// constant the mutation ties it to.
		if m.Command != "" && c.Mutation.Command == "" && c.Status == Survived {
			res.Status, res.Cached = Equivalent, true
			res.Detail = "proved equivalent: the mutant written back by Yosys is the unchanged module's Verilog, byte for byte"
			return res
		}
		if r.reusable(c, prove) {
			c.Mutation, c.Cached = m, true
			return c
		}
	}
	start := time.Now()
	failed, cases, err := r.regress(ctx, j.Design.Manifest, dir, filepath.Join(tmp, "build"), m.Block)
	res.Cases = cases
	switch {
	case ctx.Err() != nil:
		res.Status, res.Detail = NotRun, "interrupted"
		return res // never cached
	case err != nil:
		res.Status, res.Detail = Errored, err.Error()
	case failed != "":
		res.Status, res.Detail = Killed, failed
	default:
		res.Status, res.Detail = Survived, fmt.Sprintf("passed all %d cases", cases)
		if prove && m.Command != "" {
			res.ProofTried = true
			p := proveEquivalent(ctx, r.opt.yosysBin(), j.Design.Dir, j.Design.files(), m.File, m.Module, mutFile, r.opt.ProveTimeout,
				j.Design.Manifest.Core != nil && m.Module == j.Design.Manifest.Top)
			if ctx.Err() != nil {
				res.Status, res.Detail = NotRun, "interrupted"
				return res
			}
			if p.Equivalent {
				res.Status, res.Detail = Equivalent, "proved equivalent: "+p.Method
			} else {
				res.Detail += "; not proved equivalent (" + p.Detail + ")"
			}
		}
	}
	res.Seconds = time.Since(start).Seconds()
	r.store(res)
	return res
}

// regress runs the regression on the design in dir case by case and
// returns the first failure ("" if none) and the cases run. A mutant of a
// pipeline stage runs the layer and targeted cases first: the GEMM cases
// send raw results past the pipeline and cannot kill it.
func (r *runner) regress(ctx context.Context, man *arch.Manifest, dir, build string, b Block) (string, int, error) {
	reg := r.opt.Regression
	if man.Core != nil {
		// A core runs programs, not streams: the core regression (directed
		// faults, then random programs, layers and convolutions, each with
		// random stalls and the AXI checker) stands for the GEMM, layer and
		// targeted cases, with as many random programs as those cases.
		return verify.CoreRegress(ctx, man, dir, verify.CoreRegressOptions{Random: reg.Cases + reg.Layers, Seed: reg.Seed,
			SimOpt: sim.Options{CacheDir: build}})
	}
	nl := reg.layers(man)
	// One build and one process serve every case (a quick session: the
	// one-shot harness's optimization builds fastest), and a private cache
	// keeps mutants out of the shared build cache.
	v := &sim.QuickSession{Verilator: sim.Verilator{Jobs: 1}}
	defer v.Close()
	runCase := func(i int) (string, error) {
		rep, err := verify.Regress(ctx, man, dir, verify.RegressOptions{
			Sims: []sim.Simulator{v}, Cases: reg.Cases, Layers: nl, Seed: reg.Seed, Only: i,
			Sim: sim.Options{CacheDir: build},
		})
		if err != nil {
			return "", err
		}
		for _, cr := range rep.Results {
			if cr.Err != nil || cr.Mismatches > 0 {
				why := cr.FirstReport
				if cr.Err != nil {
					why = cr.Err.Error()
				}
				if strings.Contains(why, "verilator") && strings.Contains(why, "build") {
					return "", fmt.Errorf("case %d: %s", i, why)
				}
				return fmt.Sprintf("case %d (%s): %d mismatches; %s", i, cr.Case, cr.Mismatches, oneLine(why)), nil
			}
		}
		return "", nil
	}
	extra := func() (string, int, error) {
		if !reg.Extra {
			return "", 0, nil
		}
		return runExtra(ctx, v, man, dir, reg.Seed, sim.Options{CacheDir: build})
	}
	ran := 0
	gemms := func() (string, error) {
		for i := 0; i < reg.Cases; i++ {
			ran++
			if failed, err := runCase(i); failed != "" || err != nil {
				return failed, err
			}
		}
		return "", nil
	}
	layers := func() (string, error) {
		for i := reg.Cases; i < reg.Cases+nl; i++ {
			ran++
			if failed, err := runCase(i); failed != "" || err != nil {
				return failed, err
			}
		}
		failed, n, err := extra()
		ran += n
		return failed, err
	}
	order := []func() (string, error){gemms, layers}
	switch b {
	case BlockRequant, BlockActivation, BlockPool:
		order = []func() (string, error){layers, gemms}
	}
	for _, f := range order {
		if failed, err := f(); failed != "" || err != nil {
			return failed, ran, err
		}
	}
	if reg.Soak > 0 {
		rep, err := soak.Soak(ctx, v, man, dir, soak.Options{Transactions: reg.Soak, Seed: reg.Seed, Only: -1, MaxRows: 64,
			Sim: sim.Options{CacheDir: build}})
		ran += rep.Runs
		if err != nil {
			return "", ran, err
		}
		if rep.Failed > 0 {
			return fmt.Sprintf("stall soak (seed %d): %s", reg.Seed, oneLine(rep.Failures[0])), ran, nil
		}
	}
	return "", ran, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// copyDesign copies the design's files and manifest into dir.
func copyDesign(d Design, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range append(d.files(), "manifest.json") {
		data, err := os.ReadFile(filepath.Join(d.Dir, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// reusable reports whether a cached result answers for this sweep: a
// mutant killed by a regression this one contains is killed again, a proof
// of equivalence holds whatever the regression, and anything else must
// come from the same regression (and, for a survivor, a proof attempt when
// one is asked for).
func (r *runner) reusable(c Result, prove bool) bool {
	switch {
	case c.Status == Killed:
		return r.opt.Regression.Covers(c.Regression)
	case c.Status == Equivalent:
		return true
	}
	return c.Regression == r.opt.Regression && (!prove || c.ProofTried || c.Mutation.Command == "")
}

// key hashes the mutant design's files and the tools: the mutant's
// identity. The regression a result came from is stored in it.
func (r *runner) key(d Design, dir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "tpugen mutation v2\n%s\n", r.versions)
	for _, name := range append(d.files(), "manifest.json") {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (r *runner) path(key string) string {
	return filepath.Join(r.cache, key[:2], key+".json")
}

func (r *runner) load(key string) (Result, bool) {
	data, err := os.ReadFile(r.path(key))
	if err != nil {
		return Result{}, false
	}
	var res Result
	if json.Unmarshal(data, &res) != nil || res.Key != key {
		return Result{}, false
	}
	return res, true
}

// isRoundTrip reports whether the result stored at key is an unchanged
// module's round trip (which a mutant with the same files must not
// overwrite: the sweep requires the round trip to have passed).
func (r *runner) isRoundTrip(key string) bool {
	c, ok := r.load(key)
	return ok && c.Mutation.Command == ""
}

// store writes a result atomically (rename), so concurrent sweeps sharing
// a cache never read half a file. Errors are not cached: a tool failure
// may be passing.
func (r *runner) store(res Result) {
	if res.Status == Errored || res.Status == Equivalent && res.Mutation.Command != "" && res.Key != "" && r.isRoundTrip(res.Key) {
		return
	}
	data, err := json.Marshal(res)
	if err != nil {
		return
	}
	p := r.path(res.Key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.logf("mutation cache: %v", err)
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		r.logf("mutation cache: %v", err)
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
	}
}

// SortedBlocks returns the blocks in the results, in a fixed order.
func SortedBlocks(results []Result) []Block {
	seen := map[Block]bool{}
	var out []Block
	for _, r := range results {
		if !seen[r.Mutation.Block] {
			seen[r.Mutation.Block] = true
			out = append(out, r.Mutation.Block)
		}
	}
	order := map[Block]int{BlockPE: 0, BlockArray: 1, BlockAccumulator: 2, BlockRequant: 3, BlockActivation: 4, BlockPool: 5, BlockController: 6}
	sort.SliceStable(out, func(i, j int) bool {
		oi, iok := order[out[i]]
		oj, jok := order[out[j]]
		if iok != jok {
			return iok
		}
		if iok {
			return oi < oj
		}
		return out[i] < out[j]
	})
	return out
}
