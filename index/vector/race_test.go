//go:build race

package vector

// raceEnabled: the race detector slows the inner loop about tenfold, so
// the big tests shrink (their recall assertions stay on).
const raceEnabled = true
