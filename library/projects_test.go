package library_test

import (
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

func TestDocumentStatus(t *testing.T) {
	for _, c := range []struct{ state, want string }{
		{shelf.IndexQueued, library.DocumentPending},
		{shelf.IndexRunning, library.DocumentRunning},
		{shelf.IndexIndexed, library.DocumentOkay},
		{shelf.IndexFailed, library.DocumentError},
		{shelf.IndexNone, library.DocumentError},
		{"something new", library.DocumentError},
	} {
		if got := library.DocumentStatus(c.state); got != c.want {
			t.Errorf("DocumentStatus(%q) = %q, want %q", c.state, got, c.want)
		}
	}
}
