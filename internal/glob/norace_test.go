//go:build !race

package glob

import "testing"

// The race detector drops sync.Pool items at random, so this runs without it.
func TestMatchDoesNotAllocate(t *testing.T) {
	p := mustCompile(t, "/docs/**/{a,b}*.{md,txt}")
	p.Match("/docs/x/a.md") // fill the pool
	allocs := testing.AllocsPerRun(100, func() {
		if !p.Match("/docs/api/v1/about.md") {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per call", allocs)
	}
}
