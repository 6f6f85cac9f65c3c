package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/internal/rtltest"
)

// junitReport is what a CI server reads of a JUnit file.
type junitReport struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Class   string `xml:"classname,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r junitReport
	if err := xml.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s is not XML: %v\n%s", path, err, data)
	}
	return r
}

// caseNames lists the testcases of every suite, "<suite>/<case>".
func (r junitReport) caseNames() []string {
	var names []string
	for _, s := range r.Suites {
		for _, c := range s.Cases {
			names = append(names, s.Name+"/"+c.Name)
		}
	}
	return names
}

// TestRegressShards runs a regression of GEMM and layer cases whole, then
// as three shards (one of them with -j 3): the shards' JUnit reports
// together name exactly the whole run's cases, none twice, and -j changes
// neither the cases nor their order.
func TestRegressShards(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.json", `{"name": "shard2x2", "rows": 2, "cols": 2, "acc_depth": 32, "requant": true, "activation": "leaky"}`)
	rtl := filepath.Join(dir, "rtl")
	if r := tpugen(t, "rtl", "-config", cfg, "-out", rtl); r.code != exitOK {
		t.Fatalf("rtl: %s", r.stderr)
	}
	args := []string{"regress", "-rtl", rtl, "-sim", "icarus", "-cases", "8", "-layers", "3", "-seed", "9"}
	run := func(name string, more ...string) junitReport {
		path := filepath.Join(dir, name)
		r := tpugen(t, append(append(append([]string{}, args...), more...), "-junit", path)...)
		if r.code != exitOK {
			t.Fatalf("regress %v: exit %d\n%s%s", more, r.code, r.stdout, r.stderr)
		}
		return readJUnit(t, path)
	}
	whole := run("whole.xml")
	if whole.Tests != 11 || len(whole.caseNames()) != 11 {
		t.Fatalf("unsharded run reports %d tests, %d testcases; want 11", whole.Tests, len(whole.caseNames()))
	}
	var union []string
	seen := map[string]string{}
	for k := 1; k <= 3; k++ {
		more := []string{"-shard", fmt.Sprintf("%d/3", k)}
		if k == 2 {
			more = append(more, "-j", "3")
		}
		shard := run(fmt.Sprintf("shard%d.xml", k), more...)
		for _, n := range shard.caseNames() {
			if prev, dup := seen[n]; dup {
				t.Errorf("%s runs in shard %s and in shard %d/3", n, prev, k)
			}
			seen[n] = fmt.Sprintf("%d/3", k)
			union = append(union, n)
		}
	}
	want := map[string]bool{}
	for _, n := range whole.caseNames() {
		want[n] = true
	}
	got := map[string]bool{}
	for _, n := range union {
		got[n] = true
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the shards' cases differ from the unsharded run's (-whole +shards):\n%s", d)
	}
	parallel := run("j4.xml", "-j", "4")
	if d := cmp.Diff(whole.caseNames(), parallel.caseNames()); d != "" {
		t.Errorf("-j 4 reports other cases or another order (-j 1 +j 4):\n%s", d)
	}
}

// TestRegressJUnitFailures runs the regression on a design whose c_out
// sends one beat too many: the JUnit report parses, counts every failing
// case (as many as the summary line), and each failure carries the line
// that reproduces it.
func TestRegressJUnitFailures(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.json", `{"name": "junit2x2", "rows": 2, "cols": 2, "acc_depth": 16}`)
	rtl := filepath.Join(dir, "rtl")
	if r := tpugen(t, "rtl", "-config", cfg, "-out", rtl); r.code != exitOK {
		t.Fatalf("rtl: %s", r.stderr)
	}
	man, err := arch.LoadManifest(rtl)
	if err != nil {
		t.Fatal(err)
	}
	rtltest.Misbehave(t, rtl, man, arch.StreamC, rtltest.ExtraBeat, "")
	path := filepath.Join(dir, "junit.xml")
	r := tpugen(t, "regress", "-rtl", rtl, "-sim", "icarus", "-cases", "5", "-seed", "3", "-j", "2", "-junit", path)
	if r.code != exitMismatch {
		t.Fatalf("regress of a broken design: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	m := regexp.MustCompile(`^cases=5 failed=(\d+) `).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("regress printed %q", r.stdout)
	}
	rep := readJUnit(t, path)
	failures := 0
	for _, s := range rep.Suites {
		n := 0
		for _, c := range s.Cases {
			if c.Failure == nil {
				continue
			}
			n++
			if !strings.Contains(c.Failure.Text, "reproduce: tpugen regress -rtl "+rtl+" -cases 5 -layers 0 -sim icarus -seed 3 -case ") ||
				!strings.Contains(c.Failure.Message, "c_out beat") {
				t.Errorf("%s: failure without the reason or the reproduce line: %q %q", c.Name, c.Failure.Message, c.Failure.Text)
			}
		}
		if n != s.Failures {
			t.Errorf("suite %s: failures=%d, but %d testcases fail", s.Name, s.Failures, n)
		}
		failures += n
	}
	if fmt.Sprint(failures) != m[1] || rep.Failures != failures || failures == 0 || rep.Tests != 5 || len(rep.Suites) != 1 {
		t.Errorf("JUnit: %d tests, failures=%d, %d failing testcases in %d suites; the summary says failed=%s of 5",
			rep.Tests, rep.Failures, failures, len(rep.Suites), m[1])
	}
}
