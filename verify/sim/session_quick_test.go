package sim

import (
	"context"
	"testing"
)

// TestQuickSessionMatchesRun runs the FIFO's and the join's session cases
// through one QuickSession (a quick build and a process per design, the
// second design replacing the first) and compares every result with
// Verilator.Run's.
func TestQuickSessionMatchesRun(t *testing.T) {
	vl := Verilator{}
	needSim(t, vl)
	ctx := context.Background()
	q := &QuickSession{Verilator: vl}
	defer func() {
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, d := range sessionCases(t)[1:3] {
		for _, c := range d.cases {
			want, wantErr := vl.Run(ctx, d.top(), c.stim, opts(t, testCache))
			got, err := q.Run(ctx, d.top(), c.stim, opts(t, testCache))
			switch {
			case wantErr != nil || err != nil:
				if wantErr == nil || err == nil || err.Error() != wantErr.Error() {
					t.Errorf("%s %s: quick session error\n%v\nRun error\n%v", d.top().Name, c.name, err, wantErr)
				}
			default:
				if diff := sameRun(want, got); diff != "" {
					t.Errorf("%s %s: quick session and Run differ (-run +session):\n%s", d.top().Name, c.name, diff)
				}
			}
		}
	}
}
