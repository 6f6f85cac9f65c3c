package mutation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Argument is a written reason why one surviving mutant is equivalent to
// the original, for survivors whose proof is out of the solvers' reach
// (the requantizer's 64-bit products, the whole array flattened). It names
// the mutation exactly (configuration, module and the Yosys command as
// the report prints it), so a changed design, which changes the mutations
// Yosys lists, leaves the argument unused and the survivor counted again
// until someone argues or kills it anew.
type Argument struct {
	Config  string `json:"config"`
	Module  string `json:"module"`
	Command string `json:"command"`
	Reason  string `json:"reason"`
}

// LoadArguments reads a JSON list of arguments; an unknown field, an
// empty one or a mutation argued twice is an error naming the entry.
func LoadArguments(path string) ([]Argument, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var args []Argument
	if err := dec.Decode(&args); err != nil {
		return nil, fmt.Errorf("arguments %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, a := range args {
		for _, f := range []struct{ name, v string }{{"config", a.Config}, {"module", a.Module}, {"command", a.Command}, {"reason", a.Reason}} {
			if strings.TrimSpace(f.v) == "" {
				return nil, fmt.Errorf("arguments %s: entry %d: %s is empty", path, i+1, f.name)
			}
		}
		k := a.key()
		if seen[k] {
			return nil, fmt.Errorf("arguments %s: entry %d argues a mutation argued before (%s, %s)", path, i+1, a.Config, a.Module)
		}
		seen[k] = true
	}
	return args, nil
}

func (a Argument) key() string { return a.Config + "\x00" + a.Module + "\x00" + a.Command }

// ApplyArguments marks each survivor an argument names as equivalent, by
// argument, and returns the arguments that named no survivor (stale: the
// design changed, or the mutant is now killed or proved).
func ApplyArguments(results []Result, args []Argument) (unused []Argument) {
	byKey := map[string]Argument{}
	for _, a := range args {
		byKey[a.key()] = a
	}
	used := map[string]bool{}
	for i := range results {
		r := &results[i]
		a, ok := byKey[Argument{Config: r.Mutation.Config, Module: r.Mutation.Module, Command: r.Mutation.Command}.key()]
		if !ok || r.Status != Survived {
			continue
		}
		r.Status, r.Argued = Equivalent, true
		r.Detail = "argued equivalent: " + a.Reason
		used[a.key()] = true
	}
	for _, a := range args {
		if !used[a.key()] {
			unused = append(unused, a)
		}
	}
	return unused
}
