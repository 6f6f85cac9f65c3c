package mutation

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// yosys runs a Yosys script in dir (the design directory, so that source
// locations in mutation lists read "file.v:line" whatever the path).
func yosys(ctx context.Context, bin, dir, script string) ([]byte, error) {
	tmp, err := os.CreateTemp("", "tpugen-mutate-*.ys")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(script); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-q", "-s", tmp.Name())
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.Bytes(), fmt.Errorf("yosys: %w", ctx.Err())
		}
		return out.Bytes(), fmt.Errorf("yosys: %w: %s", err, lastLines(out.String(), 5))
	}
	return out.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// readDesign is the Yosys prologue that loads module (in file) for
// mutation: the design's other files as black boxes, so a module that
// instantiates others (the matrix unit's top) elaborates alone, and
// write_verilog writes the one module back.
func readDesign(files []string, file, module string) string {
	var b strings.Builder
	var others []string
	for _, f := range files {
		if f != file {
			others = append(others, f)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "read_verilog -lib %s\n", strings.Join(others, " "))
	}
	fmt.Fprintf(&b, "read_verilog %s\nprep -top %s\n", file, module)
	return b.String()
}

// listMutations asks Yosys for n mutations of module (an even sampling of
// every possible one, seeded).
func listMutations(ctx context.Context, bin, dir string, files []string, file, module string, n int, seed uint64) ([]Mutation, error) {
	tmp, err := os.MkdirTemp("", "tpugen-mutate-list-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	list := filepath.Join(tmp, "list.txt")
	// Seeds beyond 31 bits would be read as negative numbers.
	script := readDesign(files, file, module) + fmt.Sprintf("mutate -list %d -seed %d -o %s %s\n", n, seed%(1<<31), list, module)
	if _, err := yosys(ctx, bin, dir, script); err != nil {
		return nil, fmt.Errorf("listing mutations of %s: %w", module, err)
	}
	data, err := os.ReadFile(list)
	if err != nil {
		return nil, fmt.Errorf("listing mutations of %s: %w", module, err)
	}
	var out []Mutation
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseCommand(line)
		if err != nil {
			return nil, fmt.Errorf("mutations of %s, line %d: %w", module, i+1, err)
		}
		m.File = file
		out = append(out, m)
	}
	return out, nil
}

// writeMutant writes the mutated module (or, with an empty command, the
// module as Yosys reads and writes it back unchanged) to out.
func writeMutant(ctx context.Context, bin, dir string, files []string, file, module, command, out string) error {
	script := readDesign(files, file, module) + command + "\n" + "write_verilog -noattr " + out + "\n"
	if _, err := yosys(ctx, bin, dir, script); err != nil {
		return fmt.Errorf("writing mutant of %s: %w", module, err)
	}
	return nil
}

// Proof says whether a survivor was shown equivalent to the original.
type Proof struct {
	Equivalent bool
	Method     string // the Yosys commands that proved it, or what was tried
	Detail     string // why not, when it was not proved
}

// proveEquivalent tries to show the mutant module in mutFile equivalent to the
// original: first equiv_make / equiv_simple / equiv_induct (signals
// matched by name, which a single-bit mutation keeps, proved cell by
// cell), then, if that leaves unproven cells, a miter of the two flattened
// modules proved by induction with sat from the all-zero state reset
// leads to. Memories and large multipliers can make either attempt time
// out; that is reported as not proved.
//
// With textOnly, only the first, textual comparison is made: a core's top
// holds the unified buffer and the weight memory, which the memory pass
// would turn into millions of flip-flops.
func proveEquivalent(ctx context.Context, bin, dir string, files []string, file, module, mutFile string, timeout time.Duration, textOnly bool) Proof {
	// Only the modules the mutated one instantiates are loaded (flattened
	// into both sides of the proof); the rest of the design is irrelevant.
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return Proof{Detail: err.Error()}
	}
	var others []string
	for _, f := range files {
		name := strings.TrimSuffix(f, filepath.Ext(f))
		if f != file && regexp.MustCompile(`(?m)^\s*`+regexp.QuoteMeta(name)+`\s`).Match(src) {
			others = append(others, f)
		}
	}
	// The cheapest proof first: the mutation may not survive Yosys's own
	// write-back (a port the cell ignores, such as the clock of an
	// asynchronous memory read) or only fill in bits the original leaves
	// undefined (x, which Yosys and synthesis take as "any value").
	if base, err := os.CreateTemp("", "tpugen-unchanged-*.v"); err == nil {
		base.Close()
		defer os.Remove(base.Name())
		if err := writeMutant(ctx, bin, dir, files, file, module, "", base.Name()); err == nil {
			b, berr := os.ReadFile(base.Name())
			m, merr := os.ReadFile(mutFile)
			if berr == nil && merr == nil {
				if ok, how := refines(string(b), string(m)); ok {
					return Proof{Equivalent: true, Method: how}
				}
			}
		}
	}
	if textOnly {
		return Proof{Method: "Yosys write-back compared", Detail: "the mutant's Verilog changes defined logic (no SAT proof on a core's top: its memories are too large)"}
	}
	load := ""
	if len(others) > 0 {
		load = fmt.Sprintf("read_verilog %s\n", strings.Join(others, " "))
	}
	load += fmt.Sprintf("read_verilog %s\nrename %s gold\nread_verilog %s\nrename %s gate\n", file, module, mutFile, module)
	load += "proc\nopt_clean\nmemory\nflatten\nopt -purge\n"

	equiv := load + "equiv_make gold gate equiv\nhierarchy -top equiv\nequiv_simple -seq 4\nequiv_induct -seq 4\nequiv_status -assert\n"
	method := "equiv_make, equiv_simple -seq 4, equiv_induct -seq 4"
	cctx, cancel := context.WithTimeout(ctx, timeout)
	_, err = yosys(cctx, bin, dir, equiv)
	cancel()
	if err == nil {
		return Proof{Equivalent: true, Method: method}
	}
	why := "equiv: " + shortReason(err)
	miter := load + "miter -equiv -flatten -make_assert -ignore_gold_x gold gate miter\nhierarchy -top miter\n" +
		"sat -verify -prove-asserts -set-init-zero -tempinduct -seq 1 -maxsteps 8 miter\n"
	cctx, cancel = context.WithTimeout(ctx, timeout)
	_, err = yosys(cctx, bin, dir, miter)
	cancel()
	if err == nil {
		return Proof{Equivalent: true, Method: "miter -equiv, sat -tempinduct from the zero state"}
	}
	return Proof{Method: method + "; miter + sat -tempinduct", Detail: why + "; sat: " + shortReason(err)}
}

// literal matches a sized Verilog constant as write_verilog prints it.
var literal = regexp.MustCompile(`(\d+)'([bhdo])([0-9a-fA-FxXzZ_]+)`)

// refines reports whether the mutant's Verilog (mut) is the unchanged
// module's (base) as Yosys wrote both, or differs from it only in
// constants where the mutant sets bits that are x in the original: then
// every value the mutant computes is one the original allows, and the
// mutation is unobservable. Any other difference (a renamed wire, a cell
// more) is not judged here.
func refines(base, mut string) (bool, string) {
	if base == mut {
		return true, "the mutant written back by Yosys is the unchanged module's Verilog, byte for byte (the mutated port is not used)"
	}
	bl, ml := strings.Split(base, "\n"), strings.Split(mut, "\n")
	if len(bl) != len(ml) {
		return false, ""
	}
	for i := range bl {
		if bl[i] == ml[i] {
			continue
		}
		if literal.ReplaceAllString(bl[i], "#") != literal.ReplaceAllString(ml[i], "#") {
			return false, ""
		}
		bs, ms := literal.FindAllStringSubmatch(bl[i], -1), literal.FindAllStringSubmatch(ml[i], -1)
		for j := range bs {
			gb, gm := literalBits(bs[j]), literalBits(ms[j])
			if gb == "" || len(gb) != len(gm) {
				return false, ""
			}
			for k := range gb {
				if gb[k] != gm[k] && gb[k] != 'x' {
					return false, ""
				}
			}
		}
	}
	return true, "the mutant written back by Yosys differs from the unchanged module only in constant bits that are x (undefined) in the original"
}

// literalBits expands a sized binary or hexadecimal literal to its bits,
// most significant first ("" for other radices or malformed ones).
func literalBits(m []string) string {
	width, err := strconv.Atoi(m[1])
	if err != nil {
		return ""
	}
	digits := strings.ReplaceAll(strings.ToLower(m[3]), "_", "")
	var b strings.Builder
	switch m[2] {
	case "b":
		b.WriteString(digits)
	case "h":
		for _, d := range digits {
			if d == 'x' || d == 'z' {
				b.WriteString(strings.Repeat(string(d), 4))
				continue
			}
			v, err := strconv.ParseUint(string(d), 16, 8)
			if err != nil {
				return ""
			}
			fmt.Fprintf(&b, "%04b", v)
		}
	default:
		return ""
	}
	s := b.String()
	switch {
	case len(s) > width:
		s = s[len(s)-width:]
	case len(s) < width:
		pad := "0"
		if len(s) > 0 && (s[0] == 'x' || s[0] == 'z') {
			pad = s[:1]
		}
		s = strings.Repeat(pad, width-len(s)) + s
	}
	return s
}

func shortReason(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "deadline exceeded"):
		return "timed out"
	case strings.Contains(s, "Found") && strings.Contains(s, "unproven"):
		return "unproven $equiv cells remain"
	case strings.Contains(s, "failed") || strings.Contains(s, "FAIL"):
		return "counterexample or induction failed"
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// toolVersion returns the first line of "bin -V" (or --version), for the
// cache key: a new tool may mutate or build differently.
func toolVersion(ctx context.Context, bin string, flag string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, flag).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", bin, flag, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}
