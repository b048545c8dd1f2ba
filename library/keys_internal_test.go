package library

import (
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
)

func TestKeyCursor(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tm, id, err := decodeKeyCursor(encodeKeyCursor(at, "0123456789abcdef"))
	if err != nil || !tm.Equal(at) || id != "0123456789abcdef" {
		t.Fatalf("round trip = %v %q %v", tm, id, err)
	}
}

func FuzzKeyCursor(f *testing.F) {
	for _, s := range []string{"", "k1.", encodeKeyCursor(time.Unix(1, 2), "0123456789abcdef"), "k1.MTIzLmFiYw", "n1.YQ", "k1.LTEuMDEyMzQ1Njc4OWFiY2RlZg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		at, id, err := decodeKeyCursor(token)
		if err != nil {
			if shelf.ErrorCode(err) != shelf.EINVALID {
				t.Fatalf("decodeKeyCursor(%q): code %q", token, shelf.ErrorCode(err))
			}
			return
		}
		if token == "" {
			return
		}
		if again := encodeKeyCursor(at, id); again != token {
			t.Fatalf("decodeKeyCursor(%q) = %v %q, which encodes as %q", token, at, id, again)
		}
	})
}

func FuzzCheckIdempotencyKey(f *testing.F) {
	for _, s := range []string{"", "a", "550e8400-e29b-41d4-a716-446655440000", "a\nb", "é", string(make([]byte, 300))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := CheckIdempotencyKey(key)
		ok := len(key) >= 1 && len(key) <= MaxIdempotencyKey
		for i := 0; i < len(key); i++ {
			ok = ok && key[i] >= 0x20 && key[i] < 0x7f
		}
		if (err == nil) != ok || (err != nil && shelf.ErrorCode(err) != shelf.EINVALID) {
			t.Fatalf("CheckIdempotencyKey(%q) = %v, want ok=%v", key, err, ok)
		}
	})
}
