package shelf_test

import (
	"encoding/json"
	"strings"
	"testing"

	shelf "github.com/shelfmem/shelf"
)

func TestAttachmentKey(t *testing.T) {
	const doc = "0190b7a4-0000-7000-8000-000000000001"
	key := shelf.AttachmentKey(doc, "y.txt", 2)
	if !strings.HasPrefix(key, shelf.AttachmentPrefix(doc)) {
		t.Fatalf("key %q lacks the prefix %q", key, shelf.AttachmentPrefix(doc))
	}
	d, name, n, ok := shelf.ParseAttachmentKey(key)
	if !ok || d != doc || name != "y.txt" || n != 2 {
		t.Fatalf("ParseAttachmentKey(%q) = %q %q %d %v", key, d, name, n, ok)
	}
	if got := (&shelf.Item{ExternalID: key}).AttachmentOf(); got != doc {
		t.Fatalf("AttachmentOf = %q, want %q", got, doc)
	}
	// Client ids, however they look, are no attachment's key.
	for _, id := range []string{"", "rev#y.txt", "rev", doc + "#y.txt#1", "https://x/a#frag",
		doc + "\x1f", doc + "\x1fy.txt", doc + "\x1fy.txt\x1f", doc + "\x1fy.txt\x1f0", doc + "\x1fy.txt\x1f01",
		doc + "\x1fy.txt\x1f-1", doc + "\x1fy.txt\x1f1\x1f", "\x1fy.txt\x1f1", doc + "\x1f\x1f1", doc + "\x1fy.txt\x1fx"} {
		if _, _, _, ok := shelf.ParseAttachmentKey(id); ok {
			t.Errorf("ParseAttachmentKey(%q) = ok", id)
		}
		if got := (&shelf.Item{ExternalID: id}).AttachmentOf(); got != "" {
			t.Errorf("AttachmentOf(%q) = %q", id, got)
		}
	}
	if shelf.AttachmentKey(doc, "y.txt", 1) == shelf.AttachmentKey(doc, "y.txt", 2) ||
		shelf.AttachmentKey(doc, "y.txt", 1) == shelf.AttachmentKey("other", "y.txt", 1) {
		t.Fatal("keys of distinct attachments are equal")
	}
}

// TestItemJSON: an attachment's key never shows; its document does. A
// client's external id shows as it is.
func TestItemJSON(t *testing.T) {
	const doc = "0190b7a4-0000-7000-8000-000000000001"
	for _, c := range []struct {
		it       shelf.Item
		ext, att any
	}{
		{shelf.Item{ID: "a", ExternalID: shelf.AttachmentKey(doc, "y.txt", 1)}, nil, doc},
		{shelf.Item{ID: "b", ExternalID: "rev#y.txt"}, "rev#y.txt", nil},
		{shelf.Item{ID: "c"}, nil, nil},
	} {
		viaView, _ := json.Marshal(c.it.View())
		if viaItem, _ := json.Marshal(c.it); string(viaItem) != string(viaView) {
			t.Fatalf("%s: the item marshals as %s, its view as %s", c.it.ID, viaItem, viaView)
		}
		for _, v := range []any{c.it, &c.it, []shelf.Item{c.it}, c.it.View()} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), `\u001f`) {
				t.Fatalf("%s: the key shows: %s", c.it.ID, b)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				var ms []map[string]any
				if err := json.Unmarshal(b, &ms); err != nil {
					t.Fatal(err)
				}
				m = ms[0]
			}
			if m["external_id"] != c.ext || m["attachment_of"] != c.att || m["id"] != c.it.ID || m["scope"] == nil {
				t.Fatalf("%T %s: %s", v, c.it.ID, b)
			}
		}
	}
}

// FuzzParseAttachmentKey: a key parses back into what made it, and
// whatever parses is made again by AttachmentKey.
func FuzzParseAttachmentKey(f *testing.F) {
	f.Add("0190b7a4-0000-7000-8000-000000000001\x1fy.txt\x1f1")
	f.Add("rev#y.txt")
	f.Add("a\x1fb\x1f007")
	f.Add("\x1f\x1f")
	f.Fuzz(func(t *testing.T, key string) {
		doc, name, n, ok := shelf.ParseAttachmentKey(key)
		if !ok {
			return
		}
		if shelf.AttachmentKey(doc, name, n) != key {
			t.Fatalf("ParseAttachmentKey(%q) = %q %q %d, which makes another key", key, doc, name, n)
		}
		if !strings.Contains(key, "\x1f") {
			t.Fatalf("a key without the separator parsed: %q", key)
		}
	})
}
