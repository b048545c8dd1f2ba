package vector

import (
	"math"
	"slices"
)

// cand is a node and its distance (1 - cosine similarity) to the query.
type cand struct {
	d float32
	n int32
}

func cmpCand(a, b cand) int {
	switch {
	case a.d < b.d:
		return -1
	case a.d > b.d:
		return 1
	}
	return int(a.n) - int(b.n)
}

// stride0 is the length of a node's layer-0 record: a count, then 2M links.
func (x *Index) stride0() int { return 2*x.opts.M + 1 }

// strideUp is the length of a node's record on one upper layer.
func (x *Index) strideUp() int { return x.opts.M + 1 }

// capAt is how many links a node keeps on layer l.
func (x *Index) capAt(l int) int {
	if l == 0 {
		return 2 * x.opts.M
	}
	return x.opts.M
}

// record returns node n's record on layer l: record[0] is the count,
// record[1:1+cap] the room for links.
func (x *Index) record(n int32, l int) []int32 {
	if l == 0 {
		s := x.stride0()
		i := int(n) * s
		return x.links0[i : i+s : i+s]
	}
	s := x.strideUp()
	i := (l - 1) * s
	return x.upper[n][i : i+s : i+s]
}

// neighbours returns node n's links on layer l.
func (x *Index) neighbours(n int32, l int) []int32 {
	r := x.record(n, l)
	return r[1 : 1+r[0]]
}

func (x *Index) setNeighbours(n int32, l int, nb []int32) {
	r := x.record(n, l)
	r[0] = int32(copy(r[1:], nb))
}

// randomLevel draws a node's top layer: floor(-ln(U)·mL) with mL = 1/ln M,
// the distribution of the paper, capped at maxLevel.
func (x *Index) randomLevel() int {
	u := 1 - x.rng.Float64() // (0, 1]
	l := int(-math.Log(u) / math.Log(float64(x.opts.M)))
	return min(l, maxLevel)
}

// insert links node n, whose vector and id are already stored, into the
// graph (the paper's algorithm 1). The caller holds the write lock.
func (x *Index) insert(n int32) {
	level := x.randomLevel()
	x.levels = append(x.levels, uint8(level))
	x.links0 = append(x.links0, make([]int32, x.stride0())...)
	var up []int32
	if level > 0 {
		up = make([]int32, level*x.strideUp())
	}
	x.upper = append(x.upper, up)
	if x.entry < 0 {
		x.entry, x.top = n, level
		return
	}
	q := x.vec(n)
	sc := x.getScratch()
	defer x.scratch.Put(sc)
	ep := x.greedy(q, x.entry, x.top, level+1, sc)
	eps := []cand{ep}
	for l := min(level, x.top); l >= 0; l-- {
		found := x.searchLayer(q, eps, x.opts.EfConstruction, l, nil, false, sc)
		slices.SortFunc(found, cmpCand)
		chosen := slices.Clone(x.selectHeuristic(found, x.opts.M, sc)) // link reuses the scratch
		x.setNeighbours(n, l, chosen)
		for _, m := range chosen {
			x.link(m, n, l, sc)
		}
		eps = append(eps[:0], found...)
	}
	if level > x.top {
		x.entry, x.top = n, level
	}
}

// link adds n to m's links on layer l, pruning m's links with the
// heuristic when they are full.
func (x *Index) link(m, n int32, l int, sc *scratch) {
	r := x.record(m, l)
	cnt := int(r[0])
	if cnt < x.capAt(l) {
		r[1+cnt] = n
		r[0]++
		return
	}
	mv := x.vec(m)
	cs := sc.prune[:0]
	for _, o := range r[1 : 1+cnt] {
		cs = append(cs, cand{1 - dot(mv, x.vec(o)), o})
	}
	cs = append(cs, cand{1 - dot(mv, x.vec(n)), n})
	slices.SortFunc(cs, cmpCand)
	chosen := x.selectHeuristic(cs, x.capAt(l), sc)
	x.setNeighbours(m, l, chosen)
	sc.prune = cs
}

// selectHeuristic picks up to m of cs (sorted by distance to the base
// node), the paper's algorithm 4: a candidate is kept only if it is closer
// to the base than to every candidate kept so far, so links spread in
// different directions instead of crowding one cluster. The result
// aliases scratch memory.
func (x *Index) selectHeuristic(cs []cand, m int, sc *scratch) []int32 {
	out := sc.chosen[:0]
	for _, c := range cs {
		if len(out) >= m {
			break
		}
		cv := x.vec(c.n)
		good := true
		for _, o := range out {
			if 1-dot(cv, x.vec(o)) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.n)
		}
	}
	sc.chosen = out
	return out
}

// greedy descends from node ep on layer from to layer to (inclusive),
// moving each time to the closest neighbour; it returns the node it ends
// on.
func (x *Index) greedy(q []float32, ep int32, from, to int, sc *scratch) cand {
	cur := cand{1 - dot(q, x.vec(ep)), ep}
	for l := from; l >= max(to, 1); l-- {
		for changed := true; changed; {
			changed = false
			for _, m := range x.neighbours(cur.n, l) {
				if d := 1 - dot(q, x.vec(m)); d < cur.d {
					cur, changed = cand{d, m}, true
				}
			}
		}
	}
	return cur
}

// searchLayer is the paper's algorithm 2: a beam search of width ef on
// layer l from eps. When results is true, only nodes that are live and that
// filter allows enter the result set (the walk still passes through the
// others); otherwise every node does, as insertion needs. The returned
// slice aliases scratch memory.
func (x *Index) searchLayer(q []float32, eps []cand, ef, l int, filter func(uint64) bool, results bool, sc *scratch) []cand {
	sc.reset(len(x.ids))
	accept := func(n int32) bool {
		return !results || (!x.deleted[n] && (filter == nil || filter(x.ids[n])))
	}
	cands, res := sc.cands[:0], sc.res[:0]
	for _, e := range eps {
		if sc.seen(e.n) {
			continue
		}
		cands.push(e)
		if accept(e.n) {
			res.push(e)
		}
	}
	for len(res) > ef {
		res.pop()
	}
	for len(cands) > 0 {
		c := cands.pop()
		if len(res) >= ef && c.d > res[0].d {
			break
		}
		for _, m := range x.neighbours(c.n, l) {
			if sc.seen(m) {
				continue
			}
			d := 1 - dot(q, x.vec(m))
			if len(res) < ef || d < res[0].d {
				cands.push(cand{d, m})
				if accept(m) {
					res.push(cand{d, m})
					if len(res) > ef {
						res.pop()
					}
				}
			}
		}
	}
	sc.cands, sc.res = cands, res
	return res
}
