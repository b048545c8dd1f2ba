package backoff

import (
	"testing"
	"time"
)

func TestShared(t *testing.T) {
	b := &Shared{Min: time.Second, Max: 3 * time.Second}
	now := time.Unix(0, 0)
	var started []time.Duration
	note := func(d time.Duration) { started = append(started, d) }
	if d := b.Fail(now, note); d != time.Second {
		t.Fatalf("first failure waits %v; want Min", d)
	}
	// Failures during a delay share it and start nothing.
	if d := b.Fail(now.Add(400*time.Millisecond), note); d != 600*time.Millisecond || len(started) != 1 {
		t.Fatalf("a failure during the delay waits %v (%d started); want the rest, one start", d, len(started))
	}
	if d := b.Wait(now.Add(500 * time.Millisecond)); d != 500*time.Millisecond {
		t.Fatalf("Wait = %v", d)
	}
	now = now.Add(time.Second)
	if d := b.Fail(now, note); d != 2*time.Second {
		t.Fatalf("second delay %v; want doubled", d)
	}
	now = now.Add(2 * time.Second)
	if d := b.Fail(now, note); d != 3*time.Second {
		t.Fatalf("third delay %v; want Max", d)
	}
	if len(started) != 3 {
		t.Fatalf("started %v; want one per delay", started)
	}
	if !b.OK() || b.OK() {
		t.Fatal("OK reports a running back-off once")
	}
	if d := b.Wait(now); d != 0 {
		t.Fatalf("Wait after OK = %v", d)
	}
}
