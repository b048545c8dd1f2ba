// Package bounded is a map that holds at most a fixed number of entries,
// for what a process remembers to save work (the ends of listed pages,
// the positions of long lists): past the bound, the entry put first goes.
// It is safe for concurrent use and knows nothing of what it holds.
package bounded

import "sync"

// Map holds at most its size of entries. When a new key arrives at the
// bound, the key that was put first (first-in, first-out: putting a key
// again changes its value, not its age) is evicted. Reads do not change
// what is evicted. Safe for concurrent use.
type Map[K comparable, V any] struct {
	mu   sync.Mutex
	m    map[K]V
	ring []K // keys in the order they came, up to size
	next int // once ring is full: the oldest key's slot
	size int
}

// NewMap returns an empty Map of at most size entries (at least 1).
func NewMap[K comparable, V any](size int) *Map[K, V] {
	size = max(size, 1)
	return &Map[K, V]{m: make(map[K]V, size), ring: make([]K, 0, size), size: size}
}

// Get returns the value of k, if it is held.
func (b *Map[K, V]) Get(k K) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

// Put sets the value of k, evicting the oldest key if k is new and the
// map is full.
func (b *Map[K, V]) Put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; !ok {
		if len(b.ring) < b.size {
			b.ring = append(b.ring, k)
		} else {
			delete(b.m, b.ring[b.next])
			b.ring[b.next] = k
			b.next = (b.next + 1) % b.size
		}
	}
	b.m[k] = v
}

// Len returns how many entries are held.
func (b *Map[K, V]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
