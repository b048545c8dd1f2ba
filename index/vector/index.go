package vector

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	shelf "github.com/shelfmem/shelf"
)

// Defaults for the zero values of Options.
const (
	DefaultM              = 16
	DefaultEfConstruction = 200
	DefaultEfSearch       = 64
	DefaultExactBelow     = 20_000

	// The default efSearch grows with the index: DefaultEfSearch up to
	// efScaleFrom live vectors, then efPerDoubling more per doubling of
	// Len (see EfSearchFor).
	efScaleFrom   = 200_000
	efPerDoubling = 64

	maxDims  = 1 << 16
	maxM     = 256
	maxEf    = 1 << 16
	maxLevel = 16 // with M ≥ 2, a level above 16 needs more nodes than int32 holds
	// filterSample is how many nodes Search asks the filter about to
	// estimate its selectivity.
	filterSample = 256
	// maxFilterWiden bounds how much a filter widens ef.
	maxFilterWiden = 8
)

// Options tune an Index. Zero values mean the defaults.
type Options struct {
	// M is the number of neighbours a node keeps per upper layer (2M on
	// layer 0). Default 16.
	M int
	// EfConstruction is the beam width while inserting. Default 200.
	EfConstruction int
	// EfSearch is the beam width while searching, raised to k when k is
	// larger. Default (0): EfSearchFor(Len()) at the time of each search,
	// which grows with the index, so recall holds as it grows.
	EfSearch int
	// ExactBelow: with at most this many live vectors (or, with a filter,
	// this many estimated allowed ones) Search scans exactly. Default
	// 20,000; negative: always use the graph when there is no filter.
	ExactBelow int
	// Seed seeds the level generator, so a build is reproducible.
	Seed uint64
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.M, DefaultM)
	def(&o.EfConstruction, DefaultEfConstruction)
	if o.ExactBelow == 0 {
		o.ExactBelow = DefaultExactBelow
	}
	o.M = min(max(o.M, 2), maxM)
	o.EfConstruction = min(max(o.EfConstruction, o.M), maxEf)
	o.EfSearch = min(max(o.EfSearch, 0), maxEf) // 0: scaled with Len, EfSearchFor
	return o
}

// Hit is one search result.
type Hit struct {
	ID    uint64
	Score float32 // cosine similarity, -1..1; higher is closer
}

// Index is an in-memory vector index by cosine similarity. It is safe for
// concurrent use: Searches run in parallel; Add, Delete and Compact are
// exclusive.
type Index struct {
	mu   sync.RWMutex
	dims int
	opts Options

	vecs    []float32 // node i is vecs[i*dims : (i+1)*dims], normalised
	ids     []uint64  // node → the caller's id
	byID    map[uint64]int32
	deleted []bool // tombstones
	live    int

	levels []uint8   // node → top layer
	links0 []int32   // layer 0: node i at [i*stride0], a count then up to 2M links
	upper  [][]int32 // layers 1..levels[i]: (level-1)*(M+1) ints, a count then M links each
	entry  int32     // -1 when the graph is empty
	top    int       // levels[entry]

	pcg *rand.PCG
	rng *rand.Rand

	scratch sync.Pool // *scratch
}

// New returns an empty index of vectors of dims dimensions. EINVALID if
// dims is not in 1..65536.
func New(dims int, opts Options) (*Index, error) {
	if dims < 1 || dims > maxDims {
		return nil, shelf.Errorf(shelf.EINVALID, "vector index: %d dimensions, want 1..%d", dims, maxDims)
	}
	opts = opts.withDefaults()
	x := &Index{dims: dims, opts: opts, byID: map[uint64]int32{}, entry: -1}
	x.pcg = rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)
	x.rng = rand.New(x.pcg)
	return x, nil
}

// Dims returns the vector length.
func (x *Index) Dims() int { return x.dims }

// Options returns the index's options, with defaults filled in but for
// EfSearch, which stays 0 when it is the size-scaled default (the beam a
// search uses is EfSearch()).
func (x *Index) Options() Options {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.opts
}

// SetEfSearch sets the beam width of later searches, as Options.EfSearch
// would have (capped at 65,536); 0 or less restores the default, which
// scales with Len (EfSearchFor). Use it to tune an index loaded with Read;
// WriteTo saves it. It waits for running searches.
func (x *Index) SetEfSearch(ef int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.opts.EfSearch = min(max(ef, 0), maxEf)
}

// EfSearch returns the beam width an unfiltered Search of k ≤ it uses now:
// Options.EfSearch if set, else EfSearchFor(Len()).
func (x *Index) EfSearch() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.efSearch()
}

func (x *Index) efSearch() int {
	if x.opts.EfSearch > 0 {
		return x.opts.EfSearch
	}
	return EfSearchFor(x.live)
}

// EfSearchFor is the default efSearch for an index of n live vectors:
// DefaultEfSearch (64) up to 200,000, then 64 more per doubling of n (it
// grows with log n): 101 at 300,000, 148 at 500,000, 212 at 1,000,000, 276
// at 2,000,000, 425 at 10,000,000. At a fixed beam, recall falls as the
// graph grows; on 384-dim clustered data (bench/vector, docs/VECTOR.md)
// efSearch 64 gives recall@10 0.9997 at 100,000 and 0.995 at 200,000 but
// 0.871 at 1,000,000, where 128 gives 0.971 and 200 gives 0.985 at 1.2 ms
// p50. The cost of a search grows about linearly with the beam, so small
// indexes keep the narrow one.
func EfSearchFor(n int) int {
	if n <= efScaleFrom {
		return DefaultEfSearch
	}
	ef := DefaultEfSearch + efPerDoubling*math.Log2(float64(n)/efScaleFrom)
	return min(int(ef), maxEf)
}

// Len returns the number of live (not deleted) vectors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// Tombstones returns how many deleted or replaced nodes still sit in the
// graph; Compact removes them.
func (x *Index) Tombstones() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids) - x.live
}

// Add inserts v under id, replacing the vector id had. v is copied and
// normalised. EINVALID if v has the wrong length, a NaN or Inf, or is zero;
// ETOOLARGE when the index holds 2³¹-1 nodes (Compact may make room).
func (x *Index) Add(id uint64, v []float32) error {
	if len(v) != x.dims {
		return shelf.Errorf(shelf.EINVALID, "vector index: vector of %d dimensions, want %d", len(v), x.dims)
	}
	norm, err := norm(v)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.ids) >= math.MaxInt32 {
		return shelf.Errorf(shelf.ETOOLARGE, "vector index: full")
	}
	if old, ok := x.byID[id]; ok {
		x.deleted[old] = true
		x.live--
	}
	n := int32(len(x.ids))
	for _, f := range v {
		x.vecs = append(x.vecs, f/norm)
	}
	x.ids = append(x.ids, id)
	x.deleted = append(x.deleted, false)
	x.byID[id] = n
	x.live++
	x.insert(n)
	return nil
}

// norm returns the Euclidean norm of v, or EINVALID if v is zero or holds
// a NaN or Inf.
func norm(v []float32) (float32, error) {
	var s float64
	for _, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return 0, shelf.Errorf(shelf.EINVALID, "vector index: vector holds NaN or Inf")
		}
		s += float64(f) * float64(f)
	}
	if s == 0 || math.IsInf(s, 0) {
		return 0, shelf.Errorf(shelf.EINVALID, "vector index: zero or overflowing vector")
	}
	return float32(math.Sqrt(s)), nil
}

// Delete removes id; it is gone from results when Delete returns. Deleting
// an unknown id does nothing.
func (x *Index) Delete(id uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n, ok := x.byID[id]; ok {
		x.deleted[n] = true
		delete(x.byID, id)
		x.live--
	}
}

// Has reports whether id is in the index.
func (x *Index) Has(id uint64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.byID[id]
	return ok
}

// Compact rebuilds the graph without tombstones, with the same options. It
// costs as much as adding every live vector again and holds the index for
// itself meanwhile; call it when Tombstones is a sizeable share of Len.
func (x *Index) Compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.live == len(x.ids) {
		return
	}
	fresh, _ := New(x.dims, x.opts) // dims and opts are valid: x has them
	fresh.pcg, fresh.rng = x.pcg, x.rng
	for n := range x.ids {
		if x.deleted[n] {
			continue
		}
		m := int32(len(fresh.ids))
		fresh.vecs = append(fresh.vecs, x.vec(int32(n))...)
		fresh.ids = append(fresh.ids, x.ids[n])
		fresh.deleted = append(fresh.deleted, false)
		fresh.byID[x.ids[n]] = m
		fresh.live++
		fresh.insert(m)
	}
	x.vecs, x.ids, x.byID, x.deleted, x.live = fresh.vecs, fresh.ids, fresh.byID, fresh.deleted, fresh.live
	x.levels, x.links0, x.upper, x.entry, x.top = fresh.levels, fresh.links0, fresh.upper, fresh.entry, fresh.top
}

// Search returns the k vectors most similar to q that filter allows (nil:
// all), best first; ties by ascending id. EINVALID if q has the wrong
// length or is not a usable vector. See the package documentation for when
// it scans exactly and when it walks the graph.
func (x *Index) Search(q []float32, k int, filter func(id uint64) bool) ([]Hit, error) {
	u, err := x.unitQuery(q)
	if err != nil {
		return nil, err
	}
	if k <= 0 {
		return []Hit{}, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.live == 0 {
		return []Hit{}, nil
	}
	if x.live <= x.opts.ExactBelow {
		return x.exact(u, k, filter), nil
	}
	ef := max(x.efSearch(), k)
	if filter != nil {
		s := x.selectivity(filter)
		if s*float64(x.live) <= float64(max(x.opts.ExactBelow, k)) {
			return x.exact(u, k, filter), nil
		}
		ef = max(ef, x.filterEf(s, k))
	}
	hits := x.graphSearch(u, k, ef, filter)
	if len(hits) < min(k, x.live) { // a filter or tombstones starved the walk
		return x.exact(u, k, filter), nil
	}
	return hits, nil
}

// filterEf is the beam for a filter of selectivity s: the configured
// EfSearch (or, when it is the size-scaled default, the fixed
// DefaultEfSearch) widened by 1/s, at most maxFilterWiden times. Search
// takes the larger of it and the unfiltered beam. Widening the scaled beam
// instead would compound the two: at 1,000,000 vectors a 30% filter got
// the same recall@10 (0.998) with 706 as with 213, at four times the
// cost (docs/VECTOR.md).
func (x *Index) filterEf(s float64, k int) int {
	ref := x.opts.EfSearch
	if ref == 0 {
		ref = DefaultEfSearch
	}
	return min(int(float64(max(ref, k))/max(s, 1.0/maxFilterWiden)), maxEf)
}

// unitQuery checks a query's length and returns it scaled to unit length.
func (x *Index) unitQuery(q []float32) ([]float32, error) {
	if len(q) != x.dims {
		return nil, shelf.Errorf(shelf.EINVALID, "vector index: query of %d dimensions, want %d", len(q), x.dims)
	}
	qn, err := norm(q)
	if err != nil {
		return nil, err
	}
	u := make([]float32, len(q))
	for i, f := range q {
		u[i] = f / qn
	}
	return u, nil
}

// SearchExact is Search without the graph: a scan of every live vector.
// It is the reference that recall is measured against.
func (x *Index) SearchExact(q []float32, k int, filter func(id uint64) bool) ([]Hit, error) {
	u, err := x.unitQuery(q)
	if err != nil {
		return nil, err
	}
	if k <= 0 {
		return []Hit{}, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.exact(u, k, filter), nil
}

// selectivity estimates the share of live nodes filter allows, asking it
// about up to filterSample nodes spread evenly over the index. It never
// returns 0, so a filter that allowed none of the sample still gets the
// exact scan rather than a division by zero.
func (x *Index) selectivity(filter func(uint64) bool) float64 {
	n := len(x.ids)
	step := max(n/filterSample, 1)
	seen, allowed := 0, 0
	for i := step / 2; i < n; i += step {
		if x.deleted[i] {
			continue
		}
		seen++
		if filter(x.ids[i]) {
			allowed++
		}
	}
	if seen == 0 {
		return 1
	}
	return max(float64(allowed), 0.5) / float64(seen)
}

// exact scans every live node.
func (x *Index) exact(q []float32, k int, filter func(uint64) bool) []Hit {
	top := make(minScoreHeap, 0, k+1)
	d := x.dims
	for n := range x.ids {
		if x.deleted[n] || (filter != nil && !filter(x.ids[n])) {
			continue
		}
		s := dot(q, x.vecs[n*d:n*d+d])
		if len(top) < k {
			top.push(scored{s, x.ids[n]})
		} else if better(scored{s, x.ids[n]}, top[0]) {
			top[0] = scored{s, x.ids[n]}
			top.fix0()
		}
	}
	hits := make([]Hit, len(top))
	for i, s := range top {
		hits[i] = Hit{ID: s.id, Score: s.score}
	}
	sortHits(hits)
	return hits
}

// graphSearch walks the HNSW graph.
func (x *Index) graphSearch(q []float32, k, ef int, filter func(uint64) bool) []Hit {
	sc := x.getScratch()
	defer x.scratch.Put(sc)
	ep := x.greedy(q, x.entry, x.top, 1, sc)
	found := x.searchLayer(q, []cand{ep}, ef, 0, filter, true, sc)
	slices.SortFunc(found, func(a, b cand) int { return cmpCand(a, b) })
	hits := make([]Hit, 0, min(k, len(found)))
	for _, c := range found[:min(k, len(found))] {
		hits = append(hits, Hit{ID: x.ids[c.n], Score: 1 - c.d})
	}
	sortHits(hits)
	return hits
}

func sortHits(h []Hit) {
	slices.SortFunc(h, func(a, b Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
}

// vec returns node n's vector.
func (x *Index) vec(n int32) []float32 {
	i := int(n) * x.dims
	return x.vecs[i : i+x.dims : i+x.dims]
}
