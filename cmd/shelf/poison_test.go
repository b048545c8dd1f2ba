package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPoisonFileCrashLoop: a file whose reading kills the server (here a
// failpoint on its name, where the test kills the process with -9, as a
// container's memory limit would) is claimed again after each restart
// until its attempts are spent, then fails for good with a reason; the
// files uploaded with it are indexed, and the server, restarted once more
// with the poison still in place, stays up.
func TestPoisonFileCrashLoop(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	const attempts = 2
	// One worker: with two, an innocent file can be in flight in the
	// other worker when the poison kills the process (on a loaded
	// machine, at every death), and a stop is charged to both. The
	// suspect rule (a job that stopped before runs alone) is what keeps
	// the poison from spending the attempts of its batch.
	args := []string{"--index-lease", "2s", "--index-attempts", "2", "--index-workers", "1"}
	write := func(name, text string) string {
		p := filepath.Join(files, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	p := startShelfArgs(t, dir, "index-extracting:poison.txt", args...)
	ids := map[string]string{}
	for _, n := range []string{"good1.txt", "poison.txt", "good2.txt"} {
		ids[n] = putFile(t, p, "docs/"+n, "text/plain", write(n, "the words of "+n))
	}
	for death := 1; death <= attempts; death++ {
		p.waitFor(t, "FAILPOINT index-extracting:poison.txt reached")
		p.kill(t)
		if death < attempts {
			p = startShelfArgs(t, dir, "index-extracting:poison.txt", args...)
		}
	}
	// The poison is still there: a server that reached it again would
	// block at the failpoint. It must give up on the file at its claim.
	p = startShelfArgs(t, dir, "index-extracting:poison.txt", args...)
	st := waitIndex(t, p, ids["poison.txt"], time.Minute)
	if st.State != "failed" || !strings.Contains(st.Error, "the indexer stopped while reading this file 2 times") {
		t.Fatalf("poison.txt: %+v", st)
	}
	for _, n := range []string{"good1.txt", "good2.txt"} {
		if st := waitIndex(t, p, ids[n], time.Minute); st.State != "indexed" {
			t.Fatalf("%s: %+v", n, st)
		}
	}
	if strings.Count(p.stderr.String(), "FAILPOINT") != 0 {
		t.Fatalf("the last server reached the poison again:\n%s", p.stderr.String())
	}
	var res struct {
		Hits []struct {
			Path string `json:"path"`
		} `json:"hits"`
	}
	p.do(t, "POST", "/v1/search", map[string]any{"query": "words"}, &res)
	if len(res.Hits) != 2 {
		t.Fatalf("search after the crash loop: %+v", res)
	}
	p.kill(t)
	runFsck(t, dir)
}
