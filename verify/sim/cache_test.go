package sim

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVerilatorBuildCache checks that a second run of the same design
// reuses the binary. Timing is only logged: machines vary too much.
func TestVerilatorBuildCache(t *testing.T) {
	sim := Verilator{}
	needSim(t, sim)
	t.Parallel()
	cache := t.TempDir()
	stim := &Stimulus{Expect: []int{3}}
	var took [2]time.Duration
	for i := range took {
		start := time.Now()
		res, err := sim.Run(context.Background(), xregTop(), stim, opts(t, cache))
		took[i] = time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if res.BuildCached != (i == 1) {
			t.Errorf("run %d: BuildCached = %v", i+1, res.BuildCached)
		}
		if len(res.Sinks[0]) != 3 || res.Cycles != 3 {
			t.Errorf("run %d: got %d beats in %d cycles, want 3 in 3", i+1, len(res.Sinks[0]), res.Cycles)
		}
	}
	t.Logf("first run %v, cached run %v (ratio %.3f)", took[0], took[1], took[1].Seconds()/took[0].Seconds())
	entries, _ := filepath.Glob(filepath.Join(cache, "verilator", "*"))
	if len(entries) != 1 {
		t.Errorf("cache holds %v, want one entry and no temporary directories", entries)
	}
}

// TestCachedBuildConcurrent races builders of one key: all must get a
// complete artifact and the cache must end with exactly one entry.
func TestCachedBuildConcurrent(t *testing.T) {
	dir := t.TempDir()
	key := cacheKey([]byte("design"), []byte("flags"))
	var wg sync.WaitGroup
	paths := make([]string, 8)
	errs := make([]error, 8)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], _, errs[i] = cachedBuild(dir, key, "sim", func(tmp string) error {
				time.Sleep(10 * time.Millisecond)
				return os.WriteFile(filepath.Join(tmp, "sim"), []byte("binary"), 0o755)
			})
		}()
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got := readFile(t, paths[i]); got != "binary" {
			t.Errorf("builder %d read %q", i, got)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("cache holds %d entries, want 1", len(entries))
	}
	if _, cached, err := cachedBuild(dir, key, "sim", nil); err != nil || !cached {
		t.Errorf("after the race: cached=%v err=%v, want a hit", cached, err)
	}
}

func TestCacheKey(t *testing.T) {
	if cacheKey([]byte("ab"), []byte("c")) == cacheKey([]byte("a"), []byte("bc")) {
		t.Error("moving bytes between parts does not change the key")
	}
}
