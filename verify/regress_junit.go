package verify

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// JUnit XML as GitLab, GitHub Actions test reporters and Jenkins read it
// (the Ant/Surefire schema): a testsuites root, one testsuite per
// simulator, one testcase per case.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the report as JUnit XML named name (a configuration's
// regression, e.g. "regress default"): one testsuite per simulator named
// "<name> <simulator>", one testcase per case named "case <index>: <case>",
// in case order, so the shards of a regression name every case the same
// way. A failing case carries its first mismatch or error as the message and
// the seed and the reproduce line in the body.
func (r *RegressReport) WriteJUnit(w io.Writer, name string) error {
	root := junitSuites{Name: name, Time: seconds(r.Elapsed)}
	bySim := map[string]int{}
	var times []time.Duration // per suite
	props := []junitProperty{{Name: "seed", Value: fmt.Sprint(r.Seed)}}
	if r.Shard.Count > 1 {
		props = append(props, junitProperty{Name: "shard", Value: r.Shard.String()})
	}
	for _, cr := range r.Results {
		k, ok := bySim[cr.Sim]
		if !ok {
			k = len(root.Suites)
			bySim[cr.Sim] = k
			root.Suites = append(root.Suites, junitSuite{Name: name + " " + cr.Sim, Properties: props})
			times = append(times, 0)
		}
		times[k] += cr.Elapsed
		s := &root.Suites[k]
		c := junitCase{Name: fmt.Sprintf("case %d: %s", cr.Index, cr.Case),
			Classname: strings.ReplaceAll(name, " ", ".") + "." + cr.Sim, Time: seconds(cr.Elapsed)}
		if cr.Failed() {
			f := &junitFailure{Type: "mismatch", Message: fmt.Sprintf("%d mismatches: %s", cr.Mismatches, cr.FirstReport)}
			if cr.Err != nil {
				f.Type, f.Message = "error", cr.Err.Error()
			}
			f.Text = fmt.Sprintf("%s\nseed %d\nreproduce: %s\n", f.Message, r.Seed, cr.Repro)
			c.Failure = f
			s.Failures++
			root.Failures++
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
		root.Tests++
	}
	for k := range root.Suites {
		root.Suites[k].Time = seconds(times[k])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
