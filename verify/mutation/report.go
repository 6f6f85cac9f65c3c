package mutation

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// BlockScore sums up one block's mutants.
type BlockScore struct {
	Block      Block    `json:"block"`
	Modules    []string `json:"modules"` // "config/module"
	Mutants    int      `json:"mutants"`
	Killed     int      `json:"killed"`
	Survived   int      `json:"survived"`
	Equivalent int      `json:"equivalent"`
	Argued     int      `json:"argued"` // of the equivalent, those by argument
	Errors     int      `json:"errors"`
	NotRun     int      `json:"not_run,omitempty"` // an interrupted sweep's rest
	// Score is killed over the mutants that could be killed: neither
	// equivalent (proved or argued) nor errored.
	Score float64 `json:"score"`
}

// Report is a sweep's outcome.
type Report struct {
	Regression Regression   `json:"regression"`
	Seed       uint64       `json:"seed"` // the mutations' sampling seed
	Blocks     []BlockScore `json:"blocks"`
	Total      BlockScore   `json:"total"`
	Survivors  []Result     `json:"survivors"`  // survived, not proved equivalent
	Equivalent []Result     `json:"equivalent"` // survived, proved or argued equivalent
	Errors     []Result     `json:"errors,omitempty"`
	Results    []Result     `json:"results"`
	Seconds    float64      `json:"seconds"` // wall time of the sweep
	Cached     int          `json:"cached"`  // results taken from the cache
}

// NewReport sums up results per block.
func NewReport(results []Result, reg Regression, seed uint64, seconds float64) *Report {
	rep := &Report{Regression: reg, Seed: seed, Results: results, Seconds: seconds, Total: BlockScore{Block: "total"}}
	for _, b := range SortedBlocks(results) {
		s := BlockScore{Block: b}
		seen := map[string]bool{}
		for _, r := range results {
			if r.Mutation.Block != b {
				continue
			}
			if mod := r.Mutation.Config + "/" + r.Mutation.Module; !seen[mod] {
				seen[mod] = true
				s.Modules = append(s.Modules, mod)
			}
			s.add(r.Status)
			rep.Total.add(r.Status)
			if r.Status == Equivalent && r.Argued {
				s.Argued++
				rep.Total.Argued++
			}
		}
		s.score()
		rep.Blocks = append(rep.Blocks, s)
	}
	rep.Total.score()
	for _, r := range results {
		if r.Cached {
			rep.Cached++
		}
		switch r.Status {
		case Survived:
			rep.Survivors = append(rep.Survivors, r)
		case Equivalent:
			rep.Equivalent = append(rep.Equivalent, r)
		case Errored:
			rep.Errors = append(rep.Errors, r)
		}
	}
	return rep
}

func (s *BlockScore) add(st Status) {
	s.Mutants++
	switch st {
	case Killed:
		s.Killed++
	case Survived:
		s.Survived++
	case Equivalent:
		s.Equivalent++
	case Errored:
		s.Errors++
	case NotRun:
		s.NotRun++
	}
}

func (s *BlockScore) score() {
	if n := s.Killed + s.Survived; n > 0 {
		s.Score = float64(s.Killed) / float64(n)
	} else {
		s.Score = 1
	}
}

// WriteText writes the per-block table, then the survivors and the proved
// equivalent mutants with their mutations.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "mutation cover: %d mutants (Yosys mutate, seed %d), each run through %s in Verilator\n\n",
		rep.Total.Mutants, rep.Seed, rep.Regression)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "block\tmutants\tkilled\tsurvived\tequivalent\t(argued)\terrors\tscore\t")
	row := func(s BlockScore) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t\n", s.Block, s.Mutants, s.Killed, s.Survived, s.Equivalent, s.Argued, s.Errors, 100*s.Score)
	}
	if rep.Total.NotRun > 0 {
		fmt.Fprintf(&b, "INTERRUPTED: %d of the %d mutants did not run; the table counts them as mutants only\n\n", rep.Total.NotRun, rep.Total.Mutants)
	}
	for _, s := range rep.Blocks {
		row(s)
	}
	row(rep.Total)
	tw.Flush()
	fmt.Fprintf(&b, "\nscore = killed / (killed + survived): equivalent mutants (proved, or argued in the -argued file) cannot be killed, errors are not counted\n")
	for _, s := range rep.Blocks {
		fmt.Fprintf(&b, "  %s: %s\n", s.Block, strings.Join(s.Modules, ", "))
	}
	list := func(title string, rs []Result) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s (%d):\n", title, len(rs))
		for _, r := range rs {
			fmt.Fprintf(&b, "  %s %s: %s\n    %s\n    %s\n", r.Mutation.Config, r.Mutation.Block, r.Mutation.Where(), r.Mutation.Command, r.Detail)
		}
	}
	var proved, argued []Result
	for _, r := range rep.Equivalent {
		if r.Argued {
			argued = append(argued, r)
		} else {
			proved = append(proved, r)
		}
	}
	list("survivors", rep.Survivors)
	list("proved equivalent", proved)
	list("argued equivalent", argued)
	list("errors", rep.Errors)
	fmt.Fprintf(&b, "\n%d results from the cache, %.0f s\n", rep.Cached, rep.Seconds)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
