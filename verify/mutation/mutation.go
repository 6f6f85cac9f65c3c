// Package mutation measures how much of a generated design the regression
// watches, the way YosysHQ's MCY does: Yosys's mutate pass lists single-bit
// mutations of one module (a cell port tied to 0 or 1, inverted, or
// conditionally inverted by another bit), each mutant is written back to
// Verilog in place of the module's file, built in Verilator and run through
// the regression against the golden model. A mutant the regression fails
// on is killed; one it passes survived, and a survivor is then checked for
// equivalence with the original module (Yosys equiv_* and sat), since a
// mutant that changes nothing observable cannot be killed by any test.
//
// Results are cached by a hash of the mutant design and of the regression,
// so a sweep run again (or extended) simulates only what changed.
//
// The package drives the tools on files: it reads a generated design
// through its manifest.json and never imports hdl, gen or blocks.
package mutation

import (
	"fmt"
	"strconv"
	"strings"
)

// Block is the hardware block a module implements, named as the generated
// module names it (pe_..., accumulator_..., requant_...); the matrix unit's
// top module, which holds the array's wiring, skew lines and stall control,
// is the array; the core's top (tpu_core) is the controller.
type Block string

// The blocks of the generated designs. A module whose name matches none of
// these forms a block named after its prefix.
const (
	BlockPE          Block = "pe"
	BlockArray       Block = "array"
	BlockAccumulator Block = "accumulator"
	BlockRequant     Block = "requant"
	BlockActivation  Block = "activation"
	BlockPool        Block = "pool"
	BlockController  Block = "controller"
)

// BlockOf returns the block a generated module belongs to.
func BlockOf(module string) Block {
	switch {
	case module == "tpu_mxu":
		return BlockArray
	case module == "tpu_core":
		// The core's top is its controller: the instruction fetch and
		// decode, the sequencers of every instruction, the register file,
		// and the unified buffer and weight memory they address.
		return BlockController
	case strings.HasPrefix(module, "pe_"):
		return BlockPE // the first row's PE (…_top) too
	case strings.HasPrefix(module, "ctrl") || strings.HasPrefix(module, "controller") || strings.Contains(module, "_ctrl"):
		return BlockController
	}
	prefix, _, _ := strings.Cut(module, "_")
	return Block(prefix)
}

// Mode is how a mutation changes a bit (Yosys mutate's modes).
type Mode string

// Yosys mutate's modes.
const (
	ModeInv    Mode = "inv"    // invert the bit
	ModeConst0 Mode = "const0" // tie it to 0
	ModeConst1 Mode = "const1" // tie it to 1
	ModeCnot0  Mode = "cnot0"  // invert it when another bit of the port is 0
	ModeCnot1  Mode = "cnot1"  // invert it when another bit of the port is 1
)

// Mutation is one mutant of one module of a configuration's design.
type Mutation struct {
	Config string `json:"config"` // configuration name
	Block  Block  `json:"block"`
	Module string `json:"module"`
	File   string `json:"file"` // the module's file in the design directory
	// Command is the Yosys command that applies it, as mutate -list wrote
	// it (it names the cell, the port and the bit, and the source lines).
	Command string `json:"command"`
}

// Mode returns the mutation's mode.
func (m Mutation) Mode() Mode { return Mode(m.arg("-mode")) }

// Cell returns the mutated cell's name.
func (m Mutation) Cell() string { return m.arg("-cell") }

// Where returns a short description: mode, cell port and bit, wire and
// source locations.
func (m Mutation) Where() string {
	s := fmt.Sprintf("%s %s.%s[%s]", m.Mode(), m.Cell(), m.arg("-port"), m.arg("-portbit"))
	if c := m.arg("-ctrlbit"); c != "" {
		s += " ctrl[" + c + "]"
	}
	if w := m.arg("-wire"); w != "" {
		s += fmt.Sprintf(" wire %s[%s]", w, m.arg("-wirebit"))
	}
	if src := m.args("-src"); len(src) > 0 {
		s += " at " + strings.Join(src, ",")
	}
	return s
}

// arg returns the first value of a flag of the command, or "".
func (m Mutation) arg(flag string) string {
	if v := m.args(flag); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (m Mutation) args(flag string) []string {
	f := strings.Fields(m.Command)
	var out []string
	for i := 0; i+1 < len(f); i++ {
		if f[i] == flag {
			out = append(out, f[i+1])
		}
	}
	return out
}

// parseCommand checks one line of mutate -list output.
func parseCommand(line string) (Mutation, error) {
	m := Mutation{Command: strings.TrimSpace(line)}
	if !strings.HasPrefix(m.Command, "mutate ") {
		return m, fmt.Errorf("not a mutate command: %q", line)
	}
	switch m.Mode() {
	case ModeInv, ModeConst0, ModeConst1, ModeCnot0, ModeCnot1:
	default:
		return m, fmt.Errorf("unknown mutation mode %q in %q", m.Mode(), line)
	}
	if m.arg("-module") == "" || m.Cell() == "" {
		return m, fmt.Errorf("mutation without module or cell: %q", line)
	}
	if _, err := strconv.Atoi(m.arg("-portbit")); err != nil {
		return m, fmt.Errorf("mutation without a port bit: %q", line)
	}
	m.Module = m.arg("-module")
	return m, nil
}

// Status is what became of a mutant.
type Status int

const (
	// Killed: the regression failed on the mutant.
	Killed Status = iota
	// Survived: the regression passed and no proof says the mutant is
	// equivalent to the original.
	Survived
	// Equivalent: the regression passed and Yosys proved the mutant module
	// equivalent to the original (no test can kill it).
	Equivalent
	// Errored: the mutant could not be built or run (a tool failed); it
	// counts neither way.
	Errored
	// NotRun: the sweep was interrupted before the mutant ran.
	NotRun
)

var statusNames = [...]string{"killed", "survived", "equivalent", "error", "not run"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText writes the status's name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status's name.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("unknown mutant status %q", b)
}

// Result is one mutant's outcome.
type Result struct {
	Mutation Mutation `json:"mutation"`
	Key      string   `json:"key"` // the cache key: hash of the mutant design and the regression
	Status   Status   `json:"status"`
	// Detail says why: the first failing case of a killed mutant, the
	// proof or its failure for a survivor, the tool error.
	Detail string `json:"detail,omitempty"`
	Cases  int    `json:"cases"` // regression cases run
	// Regression is the regression the mutant ran through; ProofTried
	// says a survivor's equivalence proof was attempted.
	Regression Regression `json:"regression"`
	ProofTried bool       `json:"proof_tried,omitempty"`
	// Argued says an equivalent mutant is equivalent by a written
	// argument (ApplyArguments), not by a proof.
	Argued  bool    `json:"argued,omitempty"`
	Seconds float64 `json:"seconds"` // wall time of build and regression
	Cached  bool    `json:"-"`
}
