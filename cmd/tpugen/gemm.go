package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/verify"
)

// maxReportedMismatches is how many differing elements gemm lists.
const maxReportedMismatches = 5

func runGEMM(e *env, args []string) error {
	fs := e.flagSet("[-config FILE | -rtl DIR] [-sim icarus|verilator] -a A.txt -b B.txt -o C.txt [-vcd FILE] [-keep DIR]",
		"Generates the RTL for a configuration into a temporary directory, runs C = A x B on it\n"+
			"and compares C with the golden model. A (M x K) and B (K x N) are text files: one\n"+
			"matrix row per line, decimal integers separated by spaces, '#' starts a comment.\n"+
			"C.txt receives the RTL's result (written atomically, in the same format). Prints\n"+
			"cycles, the cycle model's prediction, ideal cycles (MACs / (rows x cols)),\n"+
			"utilization and mismatches; exits 1 if the RTL and the golden model differ.",
		"  tpugen gemm -sim icarus -a A.txt -b B.txt -o C.txt\n"+
			"  tpugen gemm -config configs/small.json -sim verilator -a A.txt -b B.txt -o C.txt -vcd gemm.vcd")
	src := e.rtlFlags(fs)
	simName := fs.String("sim", "verilator", "simulator `NAME`: icarus or verilator")
	aPath := fs.String("a", "", "activations `A.txt`, M x K (required)")
	bPath := fs.String("b", "", "weights `B.txt`, K x N (required)")
	cPath := fs.String("o", "", "result `C.txt`, M x N (required)")
	vcd := fs.String("vcd", "", "write a VCD waveform of the run to `FILE`")
	keep := fs.String("keep", "", "keep the RTL (DIR/rtl) and the simulator run files in `DIR` instead of removing them")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	for _, f := range []struct{ flag, val string }{{"-a", *aPath}, {"-b", *bPath}, {"-o", *cPath}} {
		if f.val == "" {
			return badInputf("%s is required (see tpugen gemm -h)", f.flag)
		}
	}
	sims, err := simulators(*simName, false)
	if err != nil {
		return err
	}
	var man *arch.Manifest
	var dir string
	if *keep != "" && *src.rtl == "" {
		// The generated RTL is kept too, in DIR/rtl.
		out, m, err := design(*src.config)
		if err != nil {
			return err
		}
		man, dir = m, filepath.Join(*keep, "rtl")
		if err := out.WriteDir(dir); err != nil {
			return badInput(err)
		}
	} else {
		m, d, cleanup, err := src.open()
		if err != nil {
			return err
		}
		defer cleanup()
		man, dir = m, d
	}
	a, err := readMatrixFile(*aPath)
	if err != nil {
		return err
	}
	b, err := readMatrixFile(*bPath)
	if err != nil {
		return err
	}
	if err := compile.CheckOperands(man.Config, a, b); err != nil {
		return badInputf("%s (A from %s, B from %s)", strings.TrimPrefix(err.Error(), "gemm: "), *aPath, *bPath)
	}
	// What the planner refuses (a -rtl design that is no matrix unit) is
	// the user's to fix, before any simulation.
	if _, err := compile.PlanGEMM(man, a, b); err != nil {
		return badInput(err)
	}
	for _, f := range []struct{ flag, path string }{{"-o", *cPath}, {"-vcd", *vcd}} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(f.path)); err != nil || !st.IsDir() {
			return badInputf("%s %s: directory %s does not exist", f.flag, f.path, filepath.Dir(f.path))
		}
	}
	if err := checkSimulators(e.ctx, sims); err != nil {
		return err
	}

	opt := verify.GEMMOptions{Sim: e.simOptions()}
	opt.Sim.VCD = *vcd
	if *keep != "" {
		opt.Sim.WorkDir, opt.Sim.KeepFiles = *keep, true
	}

	m, k := a.Dims()
	_, n := b.Dims()
	e.log.Infof("gemm %dx%dx%d on %s (%s)", m, k, n, sims[0].Name(), describeConfig(man.Config))
	start := time.Now()
	run, err := verify.RunGEMM(e.ctx, sims[0], man, dir, a, b, opt)
	if err != nil {
		return interrupted(e.ctx, mismatch(err))
	}
	want := verify.GoldenGEMM(man.Config, a, b)
	diffs := diffMatrices(want, run.C)
	if err := writeFileAtomic(*cPath, func(w io.Writer) error { return compile.WriteMatrix(w, run.C) }); err != nil {
		return err
	}
	e.log.Infof("wrote %s (%s)", *cPath, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "cycles=%d predicted=%d ideal=%.1f utilization=%.1f%% mismatches=%d\n",
		run.Cycles, run.Predicted, run.Ideal, 100*run.Utilization, len(diffs))
	if len(diffs) > 0 {
		for i, d := range diffs {
			if i == maxReportedMismatches {
				fmt.Fprintf(e.stdout, "... and %d more\n", len(diffs)-i)
				break
			}
			fmt.Fprintln(e.stdout, d)
		}
		return mismatch(fmt.Errorf("RTL and golden model differ in %d of %d elements of C", len(diffs), m*n))
	}
	return nil
}

// readMatrixFile reads a matrix file; every problem is the user's.
func readMatrixFile(path string) (compile.Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, badInput(err)
	}
	defer f.Close()
	m, err := compile.ReadMatrix(f, path)
	if err != nil {
		return nil, badInput(err)
	}
	return m, nil
}

// diffMatrices describes every element where got differs from want.
func diffMatrices(want, got compile.Matrix) []string {
	var diffs []string
	_, n := want.Dims()
	for _, k := range verify.CompareMatrices(want, got).Index {
		i, j := k/n, k%n
		diffs = append(diffs, fmt.Sprintf("mismatch C[%d][%d]: rtl %d, golden %d", i, j, got[i][j], want[i][j]))
	}
	return diffs
}

// writeFileAtomic writes path through a temporary file in the same
// directory that is renamed over path only once complete, so readers never
// see a partial file and a failure leaves an earlier path untouched.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return badInput(err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
