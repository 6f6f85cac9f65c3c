package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// cacheRoot returns the build cache directory: Options.CacheDir, else
// $TPUGEN_CACHE, else the user cache directory.
func cacheRoot(opt Options) (string, error) {
	if opt.CacheDir != "" {
		return opt.CacheDir, nil
	}
	if d := os.Getenv("TPUGEN_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("sim: no build cache directory (set TPUGEN_CACHE): %w", err)
	}
	return filepath.Join(d, "tpugen"), nil
}

// cacheKey hashes everything a build depends on. Each part is length
// prefixed so that moving bytes between parts changes the key.
func cacheKey(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cachedBuild returns dir/key/name, running build to create it on a miss.
// build works in a private temporary directory that is renamed to dir/key
// only when complete: a rename is atomic, so concurrent builders of one key
// never see a partial entry, and the loser of a race uses the winner's.
func cachedBuild(dir, key, name string, build func(tmp string) error) (path string, cached bool, err error) {
	final := filepath.Join(dir, key)
	path = filepath.Join(final, name)
	if _, err := os.Stat(path); err == nil {
		return path, true, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("sim: build cache: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "tmp-"+key[:16]+"-")
	if err != nil {
		return "", false, fmt.Errorf("sim: build cache: %w", err)
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", false, err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(path); statErr == nil {
			return path, false, nil
		}
		return "", false, fmt.Errorf("sim: build cache: %w", err)
	}
	return path, false, nil
}
