package main

import (
	"fmt"
	"strings"
)

func runRTL(e *env, args []string) error {
	fs := e.flagSet("[-config FILE] -out DIR",
		"Generates the Verilog, manifest.json, files.f and the C header for a configuration\n"+
			"into DIR. DIR is replaced atomically, and only if it holds earlier tpugen output.",
		"  tpugen rtl -out rtl-out/default\n  tpugen rtl -config configs/small.json -out rtl-out/small")
	config := fs.String("config", "", "JSON configuration `FILE` (default: the embedded 8x8 weight-stationary int8 default)")
	outDir := fs.String("out", "", "output `DIR` (required)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *outDir == "" {
		return badInputf("-out DIR is required (see tpugen rtl -h)")
	}
	out, man, err := design(*config)
	if err != nil {
		return err
	}
	if err := out.WriteDir(*outDir); err != nil {
		return badInput(err)
	}
	names, _, err := out.Files()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %d files to %s (%s; top %s): %s\n", len(names), *outDir, describeConfig(man.Config), man.Top, strings.Join(names, ", "))
	return nil
}
