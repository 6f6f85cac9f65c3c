package verify_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify"
)

// genRTL generates cfg into a temporary directory and loads its manifest.
func genRTL(t *testing.T, cfg gen.Config) (*verify.Manifest, string) {
	t.Helper()
	out, err := gen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), cfg.Name)
	if err := out.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	man, err := verify.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return man, dir
}

func randMatrix(r *rand.Rand, rows, cols, bits int, signed bool) verify.Matrix {
	lo, hi := verify.OperandRange(bits, signed)
	m := verify.NewMatrix(rows, cols)
	for i := range m {
		for j := range m[i] {
			m[i][j] = lo + r.Int64N(hi-lo+1)
		}
	}
	return m
}

func TestGEMMScratch(t *testing.T) {
	for _, df := range []string{"ws", "os"} {
		cfg := gen.Config{Name: "t_" + df, Rows: 3, Cols: 2, Dataflow: df, AccDepth: 16}
		man, dir := genRTL(t, cfg)
		r := rand.New(rand.NewPCG(1, 2))
		a := randMatrix(r, 7, 5, 8, true)
		b := randMatrix(r, 5, 3, 8, true)
		for _, simName := range []string{"icarus", "verilator"} {
			sim, _ := verify.SimulatorByName(simName)
			run, err := verify.RunGEMM(context.Background(), sim, man, dir, a, b, verify.GEMMOptions{Sim: verify.Options{CacheDir: t.TempDir()}})
			if err != nil {
				t.Fatal(err)
			}
			want := verify.GoldenGEMM(man.Config, a, b)
			if d := cmp.Diff(want, run.C); d != "" {
				t.Errorf("%s %s: C mismatch (-want +got):\n%s", df, simName, d)
			}
			fmt.Println(df, simName, run.Cycles, run.Predicted)
		}
	}
}
