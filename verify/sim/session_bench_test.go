package sim_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify/sim"
)

// BenchmarkSession runs one long stream through a generated matrix unit
// three ways in the same benchmark run and reports simulated cycles per
// second of each (the fastest of three runs), and their ratios:
//
//	session-cycles/s       Session.Run, wall time of the whole call (encode, pipe, simulate, decode)
//	session-sim-cycles/s   the same run, the harness's own time (Result.SimTime)
//	file-cycles/s          Verilator.Run, wall time of the whole call (build cached)
//	file-sim-cycles/s      the same run, the harness process alone (Result.SimTime)
//	free-cycles/s          Session.Run with Stimulus.Cycles and no stream or input changes
//	session/free, session/file, session-sim/free   ratios of the above
//
// and the build times of both harnesses (a private, empty build cache).
func BenchmarkSession(b *testing.B) {
	for _, tc := range []struct{ n, tiles int }{{8, 600}, {16, 300}} {
		b.Run(fmt.Sprintf("%dx%d", tc.n, tc.n), func(b *testing.B) {
			benchSession(b, tc.n, tc.tiles)
		})
	}
}

func benchSession(b *testing.B, n, tiles int) {
	ctx := context.Background()
	top, man := matrixUnit(b, n)
	stim, beats := matrixStream(b, top, man, tiles)
	opt := sim.Options{CacheDir: b.TempDir()}
	vl := sim.Verilator{}

	start := time.Now()
	s, err := vl.Open(ctx, top, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sessionBuild := time.Since(start)
	start = time.Now()
	// A one-beat run builds the file-based harness.
	if _, err := vl.Run(ctx, top, &sim.Stimulus{Cycles: 1}, opt); err != nil {
		b.Fatal(err)
	}
	fileBuild := time.Since(start)

	// Each way runs reps times, interleaved, and the fastest run counts: the
	// machine is shared, and a slow run measures the neighbours.
	const reps = 3
	var sessionRate, sessionSimRate, fileRate, fileSimRate, freeRate float64
	faster := func(best *float64, cycles int, d time.Duration) {
		*best = max(*best, float64(cycles)/d.Seconds())
	}
	var cycles int
	for i := 0; i < b.N; i++ {
		for range reps {
			runtime.GC()
			start = time.Now()
			res, err := s.Run(ctx, stim)
			wall := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Sinks[0]) != beats {
				b.Fatalf("session: %d result beats, want %d", len(res.Sinks[0]), beats)
			}
			cycles = res.Cycles
			faster(&sessionRate, cycles, wall)
			faster(&sessionSimRate, cycles, res.SimTime)

			runtime.GC()
			start = time.Now()
			fres, err := vl.Run(ctx, top, stim, opt)
			wall = time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if fres.Cycles != cycles || len(fres.Sinks[0]) != beats {
				b.Fatalf("file-based run: %d beats in %d cycles, session %d in %d", len(fres.Sinks[0]), fres.Cycles, beats, cycles)
			}
			faster(&fileRate, cycles, wall)
			faster(&fileSimRate, cycles, fres.SimTime)

			runtime.GC()
			start = time.Now()
			free, err := s.Run(ctx, &sim.Stimulus{Cycles: cycles})
			wall = time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			faster(&freeRate, free.Cycles, wall)
		}
	}
	b.ReportMetric(float64(cycles), "cycles")
	b.ReportMetric(sessionRate, "session-cycles/s")
	b.ReportMetric(sessionSimRate, "session-sim-cycles/s")
	b.ReportMetric(fileRate, "file-cycles/s")
	b.ReportMetric(fileSimRate, "file-sim-cycles/s")
	b.ReportMetric(freeRate, "free-cycles/s")
	b.ReportMetric(sessionRate/freeRate, "session/free")
	b.ReportMetric(sessionSimRate/freeRate, "session-sim/free")
	b.ReportMetric(sessionRate/fileRate, "session/file")
	b.ReportMetric(sessionBuild.Seconds(), "session-build-s")
	b.ReportMetric(fileBuild.Seconds(), "file-build-s")
}

// matrixUnit generates an n×n weight-stationary matrix unit and describes
// it for the simulators as verify.SimTop does.
func matrixUnit(b *testing.B, n int) (*sim.Top, *arch.Manifest) {
	b.Helper()
	out, err := gen.Generate(gen.Config{Name: "speed", Rows: n, Cols: n, AccDepth: 1024})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := out.WriteDir(dir); err != nil {
		b.Fatal(err)
	}
	man, err := arch.LoadManifest(dir)
	if err != nil {
		b.Fatal(err)
	}
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
	return t, man
}

// matrixStream is a stream of tiles, each a weight tile followed by
// acc_depth activation rows that overwrite the accumulators and leave at
// once (first on the first row, last on every row), as a GEMM with K = rows
// sends them: one result row per activation row, no stalls. It returns the
// stimulus and the number of result beats.
func matrixStream(b *testing.B, top *sim.Top, man *arch.Manifest, tiles int) (*sim.Stimulus, int) {
	b.Helper()
	cfg := man.Config
	r := rand.New(rand.NewPCG(1, 2))
	lanes := func(k int) []int64 {
		v := make([]int64, k)
		for i := range v {
			v[i] = int64(r.IntN(256) - 128)
		}
		return v
	}
	pack := func(l *arch.Layout, v arch.Values) *big.Int {
		p, err := l.Pack(v)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	ws, as := man.Stream(arch.StreamW), man.Stream(arch.StreamA)
	var w, a []*big.Int
	for range tiles {
		for range cfg.Rows {
			w = append(w, pack(ws, arch.Values{"weights": lanes(cfg.Cols)}))
		}
		for m := range cfg.AccDepth {
			first := int64(0)
			if m == 0 {
				first = 1
			}
			a = append(a, pack(as, arch.Values{"acts": lanes(cfg.Rows), "addr": {int64(m)},
				"first": {first}, "acc": {0}, "last": {1}}))
		}
	}
	payloads := map[string][]*big.Int{arch.StreamW: w, arch.StreamA: a}
	expect := map[string]int{arch.StreamC: len(a)}
	return top.StreamStimulus(payloads, nil, expect), len(a)
}
