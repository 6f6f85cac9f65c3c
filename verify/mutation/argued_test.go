package mutation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestArguments(t *testing.T) {
	cmd := "mutate -mode inv -module pe_x -cell $and$pe.v:3$1 -port Y -portbit 2 -src pe.v:3.1-3.9"
	results := []Result{
		{Mutation: Mutation{Config: "default", Block: BlockPE, Module: "pe_x", Command: cmd}, Status: Survived},
		{Mutation: Mutation{Config: "small", Block: BlockPE, Module: "pe_x", Command: cmd}, Status: Survived},
		{Mutation: Mutation{Config: "default", Block: BlockPE, Module: "pe_x", Command: cmd + " -wire w"}, Status: Killed},
	}
	args := []Argument{
		{Config: "default", Module: "pe_x", Command: cmd, Reason: "the bit has no reader"},
		{Config: "default", Module: "pe_x", Command: cmd + " -wire w", Reason: "killed anyway"},
		{Config: "default", Module: "pe_y", Command: cmd, Reason: "another module"},
	}
	unused := ApplyArguments(results, args)
	if results[0].Status != Equivalent || !results[0].Argued || !strings.Contains(results[0].Detail, "no reader") {
		t.Errorf("argued survivor: %+v", results[0])
	}
	if results[1].Status != Survived || results[1].Argued {
		t.Errorf("another configuration's survivor was argued away: %+v", results[1])
	}
	if results[2].Status != Killed {
		t.Errorf("a killed mutant changed: %+v", results[2])
	}
	if len(unused) != 2 || unused[0].Reason != "killed anyway" || unused[1].Module != "pe_y" {
		t.Errorf("unused arguments = %+v", unused)
	}
	rep := NewReport(results, Regression{Cases: 1}, 1, 0)
	if pe := rep.Blocks[0]; pe.Survived != 1 || pe.Equivalent != 1 || pe.Argued != 1 || pe.Score != 0.5 {
		t.Errorf("pe score = %+v", pe)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "argued equivalent (1):") {
		t.Errorf("report lists no argued mutant:\n%s", b.String())
	}
}

func TestLoadArgumentsErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ text, want string }{
		"ok":        {`[{"config":"c","module":"m","command":"mutate x","reason":"r"}]`, ""},
		"empty":     {`[{"config":"c","module":"m","command":"mutate x","reason":" "}]`, "entry 1: reason is empty"},
		"unknown":   {`[{"config":"c","module":"m","command":"mutate x","reason":"r","why":1}]`, "unknown field"},
		"twice":     {`[{"config":"c","module":"m","command":"x","reason":"r"},{"config":"c","module":"m","command":"x","reason":"s"}]`, "entry 2 argues a mutation argued before"},
		"not json":  {`{`, "unexpected EOF"},
		"not alist": {`{"config":"c"}`, "cannot unmarshal"},
	} {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadArguments(p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	if _, err := LoadArguments(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}
