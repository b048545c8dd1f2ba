package memorylake

import (
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// FuzzContinuationToken checks that decodeToken refuses with EINVALID
// whatever the server did not make, and that whatever it accepts is the
// token the server makes for that cursor, byte for byte.
func FuzzContinuationToken(f *testing.F) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	hex := strings.Repeat("0123456789abcdef", 2)
	for _, id := range []string{"ws-" + hex, "proj-" + hex, "doc-" + hex} {
		f.Add(encodeToken(cursor{At: at, ID: id}), "ws-")
		f.Add(encodeToken(cursor{At: at, ID: id}), "proj-")
		f.Add(encodeToken(cursor{At: at, ID: id}), "doc-")
	}
	f.Add("", "doc-")
	f.Add("v3.", "doc-")
	f.Add("v3.MTc5Ni5kb2MtMA", "doc-")
	f.Add("v3.LTEuZG9jLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm", "doc-") // "-1.doc-…"
	f.Add("v3.MDEuZG9jLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm", "doc-") // "01.doc-…"
	f.Add("k1.garbage", "ws-")
	f.Fuzz(func(t *testing.T, token, prefix string) {
		c, err := decodeToken(token, prefix)
		if err != nil {
			if shelf.ErrorCode(err) != shelf.EINVALID {
				t.Fatalf("decodeToken(%q) = %v, want EINVALID", token, err)
			}
			return
		}
		if token == "" {
			if c != (cursor{}) {
				t.Fatalf("the empty token decodes to %+v", c)
			}
			return
		}
		if !strings.HasPrefix(c.ID, prefix) || !isWireHex(strings.TrimPrefix(c.ID, prefix)) || c.At.IsZero() {
			t.Fatalf("decodeToken(%q, %q) accepted %+v", token, prefix, c)
		}
		if again := encodeToken(c); again != token {
			t.Fatalf("decodeToken(%q) = %+v, which encodes as %q", token, c, again)
		}
	})
}

// FuzzWorkspaceID checks that groupIDOf accepts exactly the ids
// workspaceID makes, and gives back the UUID they were made from.
func FuzzWorkspaceID(f *testing.F) {
	for _, s := range []string{"ws-0197a1b2c3d47e8f9a0b1c2d3e4f5a6b", "ws-0197A1B2C3D47E8F9A0B1C2D3E4F5A6B", "ws-", "ws-0197a1b2",
		"0197a1b2c3d47e8f9a0b1c2d3e4f5a6b", "ws-0197a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b", "proj-0197a1b2c3d47e8f9a0b1c2d3e4f5a6b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, wire string) {
		id, ok := groupIDOf(wire)
		if !ok {
			return
		}
		if len(id) != 36 || strings.Count(id, "-") != 4 || workspaceID(id) != wire {
			t.Fatalf("groupIDOf(%q) = %q, which shows as %q", wire, id, workspaceID(id))
		}
	})
}
