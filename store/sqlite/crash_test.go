//go:build unix

package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shelfmem/shelf"
)

// The crash test runs this test binary again as a child that commits
// crashCommits Updates, printing "ack N" after each returns, and then kills
// itself with SIGKILL in the middle of a large Update.
const (
	crashEnv     = "SHELF_SQLITE_CRASH_DB"
	crashCommits = 50
	crashRows    = 5000 // in the in-flight Update: enough to spill into the WAL
)

func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the child process of TestCrashDurability")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range crashCommits {
		err := s.Update(ctx, func(tx shelf.Tx) error {
			return tx.SetSetting(ctx, fmt.Sprintf("k%03d", i), strconv.Itoa(i))
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", i) // os.Stdout is unbuffered
	}
	_ = s.Update(ctx, func(tx shelf.Tx) error {
		for i := range crashRows {
			if err := tx.SetSetting(ctx, fmt.Sprintf("inflight%05d", i), strings.Repeat("x", 1000)); err != nil {
				return err
			}
		}
		fmt.Fprintln(os.Stdout, "killing")
		return syscall.Kill(os.Getpid(), syscall.SIGKILL)
	})
	t.Fatal("survived SIGKILL")
}

func TestCrashDurability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child: %v, want it killed\nstdout:\n%s\nstderr:\n%s", err, out, stderr.Bytes())
	}
	if st, ok := ee.Sys().(syscall.WaitStatus); !ok || !st.Signaled() || st.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL\nstdout:\n%s\nstderr:\n%s", err, out, stderr.Bytes())
	}

	acked, killing := 0, false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			if i, err := strconv.Atoi(n); err != nil || i != acked {
				t.Fatalf("child printed %q after %d acks", line, acked)
			}
			acked++
		}
		killing = killing || line == "killing"
	}
	if acked != crashCommits || !killing {
		t.Fatalf("child acknowledged %d commits (want %d) and reached the kill: %v\nstdout:\n%s", acked, crashCommits, killing, out)
	}

	s := mustOpen(t, path)
	ctx := t.Context()
	err = s.View(ctx, func(tx shelf.Tx) error {
		for i := range acked {
			v, err := tx.Setting(ctx, fmt.Sprintf("k%03d", i))
			if err != nil || v != strconv.Itoa(i) {
				t.Errorf("acknowledged write %d after the crash: %q, %v", i, v, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var inflight int
	if err := s.reader.QueryRow("SELECT count(*) FROM settings WHERE name LIKE 'inflight%'").Scan(&inflight); err != nil {
		t.Fatal(err)
	}
	if inflight != 0 {
		t.Errorf("%d rows of the in-flight Update survived the crash, want 0", inflight)
	}
	if got := pragma(t, s.reader, "integrity_check"); got != "ok" {
		t.Errorf("integrity_check after the crash: %s", got)
	}
}
