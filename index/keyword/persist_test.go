package keyword

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randomIndex returns an index of n documents of random words, some
// deleted, and the queries to compare it by.
func randomIndex(n int, seed uint64) (*Index, [][]string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	vocab := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "café", "Ünïcode", "running", "runners"}
	word := func() string { return vocab[rng.IntN(len(vocab))] }
	x := New()
	for id := range int64(n) {
		var w []string
		for range 1 + rng.IntN(30) {
			w = append(w, word())
		}
		x.Add(id*3+1, strings.Join(w, " "), word())
		if id%7 == 3 {
			x.Delete(id*3 - 2)
		}
	}
	var qs [][]string
	for range 20 {
		qs = append(qs, []string{word(), word()})
	}
	return x, qs
}

func save(t testing.TB, x *Index) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := x.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v (wrote %d)", n, err, buf.Len())
	}
	return buf.Bytes()
}

// A saved index loads back into one that answers every search the same,
// marks the same, and goes on taking documents the same.
func TestPersistRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x, qs := randomIndex(n, uint64(n))
			y, err := Read(bytes.NewReader(save(t, x)))
			if err != nil {
				t.Fatal(err)
			}
			same := func(when string) {
				t.Helper()
				if x.Len() != y.Len() {
					t.Fatalf("%s: Len %d, loaded %d", when, x.Len(), y.Len())
				}
				for _, q := range qs {
					a, am := x.Search(q, 50)
					b, bm := y.Search(q, 50)
					if !reflect.DeepEqual(a, b) || am != bm {
						t.Fatalf("%s: Search(%q) = %v (%d), loaded %v (%d)", when, q, a, am, b, bm)
					}
					text := "the runner ran to the café: " + strings.Join(q, " ")
					if x.Mark(text, q, "[", "]") != y.Mark(text, q, "[", "]") {
						t.Fatalf("%s: Mark differs", when)
					}
				}
			}
			same("loaded")
			for _, z := range []*Index{x, y} {
				z.Add(1e9, "alpha bravo brand new words", "hotel")
				z.Delete(4)
				z.Delete(7)
			}
			same("after more changes")
		})
	}
}

// Every damage to a file is an error, never a panic or an index.
func TestReadDamaged(t *testing.T) {
	x, _ := randomIndex(200, 9)
	good := save(t, x)
	for i := 0; i < len(good); i += 1 + len(good)/300 {
		bad := bytes.Clone(good)
		bad[i] ^= 0x41
		if _, err := Read(bytes.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for _, n := range []int{0, 5, len(magic), len(good) / 2, len(good) - 1} {
		if _, err := Read(bytes.NewReader(good[:n])); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut to %d bytes: %v", n, err)
		}
	}
	old := bytes.Clone(good)
	old[len(magic)] = 9
	if _, err := Read(bytes.NewReader(old)); !errors.Is(err, ErrFormat) {
		t.Fatalf("another version: %v", err)
	}
}

// FuzzRead feeds Read damaged and forged files, with their checksums made
// right so that the checks behind the checksum are what is fuzzed: each
// is an error or an index that searches, takes and deletes documents, and
// saves again, without a panic.
func FuzzRead(f *testing.F) {
	for _, n := range []int{0, 3, 40} {
		x, _ := randomIndex(n, 5)
		f.Add(save(f, x), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, fixSum bool) {
		if fixSum && len(data) >= 4 {
			data = bytes.Clone(data)
			body := data[:len(data)-4]
			binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(body, castagnoli))
		}
		x, err := Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		x.Search([]string{"alpha", "café"}, 10)
		x.Mark("alpha bravo café", []string{"alpha"}, "[", "]")
		x.Add(1<<40, "alpha new", "")
		x.Delete(1)
		x.Compact()
		x.Search([]string{"alpha"}, 10)
		var buf bytes.Buffer
		if _, err := x.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
	})
}
