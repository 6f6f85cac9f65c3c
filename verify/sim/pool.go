package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
)

// Sessions is a Simulator that runs Verilator through persistent sessions:
// one harness process per design, opened on the design's first run and
// reused while the design's files stay the same (a changed file opens a
// new session). Runs that need what a session does not do (a waveform, a
// trace) go to Verilator.Run. Close ends every session.
type Sessions struct {
	Verilator Verilator

	mu   sync.Mutex
	open map[string]*Session // by design key
}

// NewSessions returns a pool of sessions of v.
func NewSessions(v Verilator) *Sessions { return &Sessions{Verilator: v} }

// Name returns "verilator": the results are Verilator's.
func (p *Sessions) Name() string { return "verilator" }

// Run simulates stim on top, in the design's session.
func (p *Sessions) Run(ctx context.Context, top *Top, stim *Stimulus, opt Options) (*Result, error) {
	if opt.VCD != "" || (stim != nil && stim.Trace) || opt.KeepFiles {
		return p.Verilator.Run(ctx, top, stim, opt)
	}
	key, err := designKey(top)
	if err != nil {
		// Let Run report the missing file the usual way.
		return p.Verilator.Run(ctx, top, stim, opt)
	}
	s, err := p.session(ctx, key, top, opt)
	if err != nil {
		return nil, err
	}
	res, err := s.Run(ctx, stim)
	if err != nil && s.failed() {
		p.drop(key, s) // the harness is gone: the next run opens a new one
	}
	return res, err
}

// Close ends every session.
func (p *Sessions) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first error
	for k, s := range p.open {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
		delete(p.open, k)
	}
	return first
}

func (p *Sessions) session(ctx context.Context, key string, top *Top, opt Options) (*Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.open[key]; s != nil {
		return s, nil
	}
	s, err := p.Verilator.Open(ctx, top, opt)
	if err != nil {
		return nil, err
	}
	if p.open == nil {
		p.open = map[string]*Session{}
	}
	p.open[key] = s
	return s, nil
}

func (p *Sessions) drop(key string, s *Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[key] == s {
		delete(p.open, key)
		s.Close()
	}
}

// failed reports whether the session can run no more.
func (s *Session) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// designKey identifies a design by its description and the content of its
// files, so an edited file is a new design.
func designKey(top *Top) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%v|%v|%v\n", top.Name, top.Clock, top.Reset, top.Ports, top.Sources, top.Sinks)
	for _, f := range top.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	return top.Name + "-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}
