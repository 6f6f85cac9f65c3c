package verify_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tpugen/tpugen/verify"
)

// TestShardPartition: for any N, the shards 1/N..N/N of a regression
// together hold each of its case indices exactly once.
func TestShardPartition(t *testing.T) {
	for _, total := range [][2]int{{1, 0}, {7, 0}, {50, 25}, {13, 4}} {
		whole := verify.RegressOptions{Cases: total[0], Layers: total[1], Only: -1}.CaseIndices()
		if len(whole) != total[0]+total[1] {
			t.Fatalf("unsharded run has %d cases, want %d", len(whole), total[0]+total[1])
		}
		for n := 1; n <= 9; n++ {
			var union []int
			for k := 1; k <= n; k++ {
				opt := verify.RegressOptions{Cases: total[0], Layers: total[1], Only: -1, Shard: verify.Shard{Index: k, Count: n}}
				union = append(union, opt.CaseIndices()...)
			}
			slices.Sort(union)
			if !slices.Equal(union, whole) {
				t.Errorf("%d+%d cases in %d shards: union %v, want %v", total[0], total[1], n, union, whole)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	if sh, err := verify.ParseShard("2/4"); err != nil || sh != (verify.Shard{Index: 2, Count: 4}) || sh.String() != "2/4" {
		t.Errorf("ParseShard(2/4) = %v, %v", sh, err)
	}
	for _, bad := range []string{"", "2", "0/4", "5/4", "1/0", "a/b", "-1/2", "1/2/3"} {
		if _, err := verify.ParseShard(bad); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseShard(%q) = %v, want a one-line error", bad, err)
		}
	}
}

// TestWriteJUnit: one testsuite per simulator, failures counted per suite
// and in all, the reason and the reproduce line in the failure, and text
// that would break XML (markup, control characters) escaped.
func TestWriteJUnit(t *testing.T) {
	rep := &verify.RegressReport{Seed: 7, Shard: verify.Shard{Index: 1, Count: 2}, Elapsed: time.Second, Results: []verify.CaseResult{
		{Case: "zeros 3x4x3", Index: 0, Sim: "icarus", Elapsed: time.Millisecond},
		{Case: "zeros 3x4x3", Index: 0, Sim: "verilator", Elapsed: time.Millisecond},
		{Case: "random <&> 1x1x1", Index: 2, Sim: "icarus", Mismatches: 3, FirstReport: "C[0][0] = 1, want 2\x01", Repro: "tpugen regress -sim icarus -seed 7 -case 2"},
		{Case: "random <&> 1x1x1", Index: 2, Sim: "verilator", Err: errors.New("c_out beat 3 (cycle 40): extra"), Repro: "tpugen regress -sim verilator -seed 7 -case 2"},
	}}
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf, "regress small"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Props    []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Type    string `xml:"type,attr"`
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if got.Tests != 4 || got.Failures != 2 || len(got.Suites) != 2 {
		t.Fatalf("tests=%d failures=%d suites=%d, want 4, 2, 2:\n%s", got.Tests, got.Failures, len(got.Suites), buf.String())
	}
	for i, sim := range []string{"icarus", "verilator"} {
		s := got.Suites[i]
		if s.Name != "regress small "+sim || s.Tests != 2 || s.Failures != 1 || len(s.Cases) != 2 || s.Cases[0].Failure != nil || s.Cases[1].Failure == nil {
			t.Errorf("suite %d: %+v", i, s)
			continue
		}
		f := s.Cases[1].Failure
		if s.Cases[1].Name != "case 2: random <&> 1x1x1" || !strings.Contains(f.Text, "reproduce: tpugen regress -sim "+sim+" -seed 7 -case 2") {
			t.Errorf("suite %s: case %q, failure %+v", sim, s.Cases[1].Name, f)
		}
		if len(s.Props) != 2 || s.Props[1].Value != "1/2" {
			t.Errorf("suite %s: properties %+v, want seed and shard", sim, s.Props)
		}
	}
	if f := got.Suites[1].Cases[1].Failure; f.Type != "error" || f.Message != "c_out beat 3 (cycle 40): extra" {
		t.Errorf("simulation error reported as %+v", f)
	}
}
