package vector

// scratch is the per-search working memory, pooled per index so a search
// allocates nothing in the steady state.
type scratch struct {
	marks  []uint32 // marks[n] == gen: node n visited in this walk
	gen    uint32
	cands  minHeap
	res    maxHeap
	prune  []cand
	chosen []int32
}

func (x *Index) getScratch() *scratch {
	if sc, ok := x.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

// reset starts a new walk over n nodes.
func (sc *scratch) reset(n int) {
	if len(sc.marks) < n {
		sc.marks = make([]uint32, n+n/4)
		sc.gen = 0
	}
	sc.gen++
	if sc.gen == 0 { // wrapped: old marks could collide
		clear(sc.marks)
		sc.gen = 1
	}
}

// seen marks n visited and reports whether it already was.
func (sc *scratch) seen(n int32) bool {
	if sc.marks[n] == sc.gen {
		return true
	}
	sc.marks[n] = sc.gen
	return false
}

// minHeap pops the closest candidate first.
type minHeap []cand

func (h *minHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d <= s[i].d {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *minHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(s) && s[l].d < s[m].d {
			m = l
		}
		if r := l + 1; r < len(s) && s[r].d < s[m].d {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// maxHeap keeps the farthest of the kept results on top, to drop first.
type maxHeap []cand

func (h *maxHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d >= s[i].d {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *maxHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(s) && s[l].d > s[m].d {
			m = l
		}
		if r := l + 1; r < len(s) && s[r].d > s[m].d {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// scored is an exact-scan result.
type scored struct {
	score float32
	id    uint64
}

// better orders results: higher score, then lower id.
func better(a, b scored) bool {
	return a.score > b.score || (a.score == b.score && a.id < b.id)
}

// minScoreHeap keeps the worst of the best k on top.
type minScoreHeap []scored

func (h *minScoreHeap) push(s scored) {
	*h = append(*h, s)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !better(a[p], a[i]) {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

// fix0 restores the heap after a[0] was replaced.
func (h minScoreHeap) fix0() {
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(h) && better(h[m], h[l]) {
			m = l
		}
		if r := l + 1; r < len(h) && better(h[m], h[r]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
