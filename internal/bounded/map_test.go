package bounded

import (
	"fmt"
	"sync"
	"testing"
)

func TestMapEvictsOldest(t *testing.T) {
	m := NewMap[string, int](3)
	for i, k := range []string{"a", "b", "c"} {
		m.Put(k, i)
	}
	m.Put("a", 10) // a new value, not a new age
	if v, ok := m.Get("a"); !ok || v != 10 {
		t.Fatalf("Get(a) = %v, %v", v, ok)
	}
	m.Put("d", 3) // evicts a, the first put
	if _, ok := m.Get("a"); ok {
		t.Fatal("a was not evicted")
	}
	m.Put("e", 4) // then b
	for k, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true} {
		if _, ok := m.Get(k); ok != want {
			t.Errorf("Get(%s) held = %v, want %v", k, ok, want)
		}
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d", m.Len())
	}
}

// The zero key is a key like any other.
func TestMapZeroKey(t *testing.T) {
	m := NewMap[int, string](2)
	m.Put(0, "zero")
	m.Put(1, "one")
	m.Put(2, "two") // evicts 0
	if _, ok := m.Get(0); ok {
		t.Fatal("0 was not evicted")
	}
	if v, _ := m.Get(2); v != "two" || m.Len() != 2 {
		t.Fatalf("Get(2) = %q, Len = %d", v, m.Len())
	}
}

func TestMapBoundedUnderLoad(t *testing.T) {
	const size = 64
	m := NewMap[string, int](size)
	if NewMap[int, int](0).size != 1 {
		t.Fatal("size 0 is not 1")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := fmt.Sprint(g, "/", i%100)
				m.Put(k, i)
				if v, ok := m.Get(k); ok && v < 0 {
					t.Error("bad value")
				}
				if n := m.Len(); n > size {
					t.Errorf("Len = %d > %d", n, size)
				}
			}
		})
	}
	wg.Wait()
	if m.Len() != size {
		t.Fatalf("Len = %d, want %d", m.Len(), size)
	}
}

// BenchmarkMap puts and gets over four times as many keys as the map
// holds, as a busy server would: half the gets miss.
func BenchmarkMap(b *testing.B) {
	const size = 4096
	keys := make([]string, 4*size)
	for i := range keys {
		keys[i] = fmt.Sprintf("ws-%d/folder-%d", i%7, i)
	}
	m := NewMap[string, int](size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		if _, ok := m.Get(k); !ok {
			m.Put(k, i)
		}
		i++
	}
}
