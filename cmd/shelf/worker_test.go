package main

import (
	"fmt"
	"os"
	"testing"
)

// A server started in this test binary (through run) starts its
// extraction children as this binary again, with the extract-worker
// command: it must serve them, not run the tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "extract-worker" {
		if err := extractWorker(os.Args[2:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "shelf:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
