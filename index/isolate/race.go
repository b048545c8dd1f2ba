//go:build race

package isolate

// raceEnabled: the race detector's runtime maps shadow memory as the heap
// grows, which a memory cap breaks ("too many address space collisions"),
// so a race-enabled build does not cap its children.
const raceEnabled = true
