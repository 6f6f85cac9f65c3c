package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAsmDisasm(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "prog.s", "# conv\nread_host ub=0 len=784\nconvolve ub=0 h=28 w=28 c=1 k=5x5 s=1 pad=2 zp=-128 waddr=0 n=6 acc=0\nhalt\n")
	bin := filepath.Join(dir, "prog.bin")
	r := tpugen(t, "asm", "-o", bin, src)
	if r.code != exitOK || r.stderr != "" || !strings.Contains(r.stdout, "3 instructions, 96 bytes") {
		t.Fatalf("asm: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = tpugen(t, "disasm", bin)
	if r.code != exitOK || !strings.Contains(r.stdout, "convolve ub=0x0 images=1 h=28 w=28 c=1 k=5 s=1 d=1 pad=2 zp=-128") {
		t.Fatalf("disasm: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The disassembly assembles to the same bytes.
	again := writeFile(t, dir, "again.s", r.stdout)
	if r := tpugen(t, "asm", again); r.code != exitOK {
		t.Fatalf("asm of the disassembly: %q", r.stderr)
	}
	a, _ := os.ReadFile(bin)
	b, _ := os.ReadFile(filepath.Join(dir, "again.bin"))
	if string(a) != string(b) {
		t.Error("disassembly does not reassemble to the same bytes")
	}
}

func TestAsmErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.s", "halt\n\nconvolve strid=2\n")
	tpugen(t, "asm", bad).wantUserError(t, "asm", `bad.s:3: unknown field "strid" for convolve`)
	tpugen(t, "asm").wantUserError(t, "asm", "no source file")
	tpugen(t, "asm", filepath.Join(dir, "missing.s")).wantUserError(t, "asm", "missing.s")
	tpugen(t, "asm", bad, "extra").wantUserError(t, "asm", "unexpected argument")
	odd := filepath.Join(dir, "odd.bin")
	if err := os.WriteFile(odd, make([]byte, 33), 0o644); err != nil {
		t.Fatal(err)
	}
	tpugen(t, "disasm", odd).wantUserError(t, "disasm", "not a whole number")
	illegal := filepath.Join(dir, "illegal.bin")
	w := make([]byte, 64)
	w[32] = 0x0f
	if err := os.WriteFile(illegal, w, 0o644); err != nil {
		t.Fatal(err)
	}
	tpugen(t, "disasm", illegal).wantUserError(t, "disasm", "word 1", "illegal opcode 15")
}

func TestAsmISA(t *testing.T) {
	r := tpugen(t, "asm", "-isa")
	if r.code != exitOK || !strings.Contains(r.stdout, "convolve     opcode 6") || !strings.Contains(r.stdout, "error codes: 0 none;") {
		t.Errorf("asm -isa: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
