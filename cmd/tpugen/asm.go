package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tpugen/tpugen/core"
)

// parseFile parses flags then exactly one file argument.
func (e *env) parseFile(fs *flag.FlagSet, args []string, what string) (string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage()
			return "", errHelp
		}
		return "", badInputf("%v (see tpugen %s -h)", err, e.cmd)
	}
	switch fs.NArg() {
	case 0:
		return "", badInputf("no %s given (see tpugen %s -h)", what, e.cmd)
	case 1:
		return fs.Arg(0), nil
	}
	return "", badInputf("unexpected argument %q after %s (flags go before the file; see tpugen %s -h)", fs.Arg(1), fs.Arg(0), e.cmd)
}

func runAsm(e *env, args []string) error {
	fs := e.flagSet("[-o PROG.bin] PROG.s",
		"Assemble a core program: one instruction per line, \"mnemonic field=value ...\",\n"+
			"'#' starts a comment. Each instruction is a 256-bit word (32 bytes, 64-bit limbs\n"+
			"little-endian); the output is the words back to back.",
		"  tpugen asm -o prog.bin prog.s\n  tpugen asm -isa")
	out := fs.String("o", "", "output binary (default: PROG.s with the extension .bin)")
	isa := fs.Bool("isa", false, "print the instruction set (opcodes, fields, bit ranges, error codes) and exit")
	if err := fs.Parse(args); err == nil && *isa && fs.NArg() == 0 {
		_, err := fmt.Fprint(e.stdout, core.Table())
		return err
	}
	path, err := e.parseFile(fs, args, "source file")
	if err != nil {
		return err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return badInput(err)
	}
	words, err := core.AssembleFile(filepath.Base(path), string(src))
	if err != nil {
		return badInput(err)
	}
	if len(words) == 0 {
		return badInputf("%s holds no instructions", path)
	}
	if *out == "" {
		*out = path[:len(path)-len(filepath.Ext(path))] + ".bin"
	}
	if err := os.WriteFile(*out, core.MarshalBinary(words), 0o644); err != nil {
		return badInput(err)
	}
	fmt.Fprintf(e.stdout, "%s: %d instructions, %d bytes\n", *out, len(words), len(words)*core.WordBytes)
	return nil
}

func runDisasm(e *env, args []string) error {
	fs := e.flagSet("[-o PROG.s] PROG.bin",
		"Disassemble a binary core program (32-byte words) into the assembler's syntax;\n"+
			"an illegal word is an error naming its index.",
		"  tpugen disasm prog.bin\n  tpugen disasm -o prog.s prog.bin")
	out := fs.String("o", "", "output text file (default: standard output)")
	path, err := e.parseFile(fs, args, "binary program")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return badInput(err)
	}
	words, err := core.UnmarshalBinary(b)
	if err != nil {
		return badInputf("%s: %v", path, err)
	}
	text, err := core.Disassemble(words)
	if err != nil {
		return badInputf("%s: %v", path, err)
	}
	if *out == "" {
		_, err = fmt.Fprint(e.stdout, text)
		return err
	}
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		return badInput(err)
	}
	return nil
}
