package vector

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	shelf "github.com/shelfmem/shelf"
)

// clustered returns n vectors of dims dimensions drawn around clusters
// random Gaussian centres, with Gaussian noise of 0.8 times the centres'
// spread: nearer to real embeddings, which crowd into topics, than
// uniform noise is.
func clustered(rng *rand.Rand, n, dims, clusters int) [][]float32 {
	centres := make([][]float32, clusters)
	for i := range centres {
		c := make([]float32, dims)
		for j := range c {
			c[j] = float32(rng.NormFloat64())
		}
		centres[i] = c
	}
	out := make([][]float32, n)
	for i := range out {
		c := centres[rng.IntN(clusters)]
		v := make([]float32, dims)
		for j := range v {
			v[j] = c[j] + float32(0.8*rng.NormFloat64())
		}
		out[i] = v
	}
	return out
}

func mustNew(t testing.TB, dims int, o Options) *Index {
	t.Helper()
	x, err := New(dims, o)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func build(t testing.TB, vs [][]float32, o Options) *Index {
	t.Helper()
	x := mustNew(t, len(vs[0]), o)
	for i, v := range vs {
		if err := x.Add(uint64(i), v); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// bruteForce is an independent reference: float64 cosine over every
// vector the filter allows.
func bruteForce(vs map[uint64][]float32, q []float32, k int, filter func(uint64) bool) []uint64 {
	type r struct {
		id uint64
		s  float64
	}
	var all []r
	for id, v := range vs {
		if filter != nil && !filter(id) {
			continue
		}
		var d, nv, nq float64
		for i := range v {
			d += float64(v[i]) * float64(q[i])
			nv += float64(v[i]) * float64(v[i])
			nq += float64(q[i]) * float64(q[i])
		}
		all = append(all, r{id, d / math.Sqrt(nv*nq)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].s != all[j].s {
			return all[i].s > all[j].s
		}
		return all[i].id < all[j].id
	})
	out := make([]uint64, 0, k)
	for _, a := range all[:min(k, len(all))] {
		out = append(out, a.id)
	}
	return out
}

func idsOf(h []Hit) []uint64 {
	out := make([]uint64, len(h))
	for i, x := range h {
		out[i] = x.ID
	}
	return out
}

// recall is |got ∩ want| / |want|.
func recall(got, want []uint64) float64 {
	if len(want) == 0 {
		return 1
	}
	n := 0
	for _, w := range want {
		if slices.Contains(got, w) {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

// recallAt measures mean recall@k of Search against SearchExact.
func recallAt(t *testing.T, x *Index, queries [][]float32, k int, filter func(uint64) bool) float64 {
	t.Helper()
	var sum float64
	for _, q := range queries {
		got, err := x.Search(q, k, filter)
		if err != nil {
			t.Fatal(err)
		}
		want, err := x.SearchExact(q, k, filter)
		if err != nil {
			t.Fatal(err)
		}
		sum += recall(idsOf(got), idsOf(want))
	}
	return sum / float64(len(queries))
}

// recallSize is the size of the big recall tests.
func recallSize() (n, dims int) {
	switch {
	case raceEnabled:
		return 2000, 128
	case testing.Short():
		return 5000, 384
	}
	return 20_000, 384
}

// bigIndex is built once and shared by the tests that only read it.
var bigIndex = sync.OnceValues(func() (*Index, [][]float32) {
	n, dims := recallSize()
	rng := rand.New(rand.NewPCG(1, 2))
	vs := clustered(rng, n+200, dims, 50)
	// ExactBelow n/20: the graph answers unfiltered queries, and a filter
	// admitting under 5% falls back to the exact scan.
	x, _ := New(dims, Options{ExactBelow: n / 20, Seed: 7})
	for i, v := range vs[:n] {
		if err := x.Add(uint64(i), v); err != nil {
			panic(err)
		}
	}
	return x, vs[n:] // queries: fresh points from the same distribution
})

func TestRecallHNSW(t *testing.T) {
	x, queries := bigIndex()
	if x.live <= x.opts.ExactBelow {
		t.Fatal("the graph is not in use")
	}
	r := recallAt(t, x, queries, 10, nil)
	t.Logf("recall@10 = %.4f over %d queries, %d vectors of %d dims (M=%d, efC=%d, ef=%d)",
		r, len(queries), x.Len(), x.dims, x.opts.M, x.opts.EfConstruction, x.opts.EfSearch)
	if r < 0.95 {
		t.Fatalf("recall@10 = %.4f, want ≥ 0.95", r)
	}
}

// TestRecallCanFail shows the recall test can fail: a graph searched with
// a beam of 1 and few links misses many true neighbours.
func TestRecallCanFail(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vs := clustered(rng, 2200, 64, 20)
	x := build(t, vs[:2000], Options{M: 2, EfConstruction: 2, EfSearch: 1, ExactBelow: -1})
	var sum float64
	for _, q := range vs[2000:] {
		want, _ := x.SearchExact(q, 10, nil)
		got := x.graphSearch(unit(q), 10, 1, nil)
		sum += recall(idsOf(got), idsOf(want))
	}
	if r := sum / 200; r > 0.9 {
		t.Fatalf("a crippled graph has recall %.3f; the recall test would not notice a broken one", r)
	}
}

func unit(v []float32) []float32 {
	n, _ := norm(v)
	u := make([]float32, len(v))
	for i := range v {
		u[i] = v[i] / n
	}
	return u
}

func TestExactPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	vs := clustered(rng, 550, 32, 10)
	x := build(t, vs[:500], Options{}) // 500 < ExactBelow: exact
	ref := map[uint64][]float32{}
	for i, v := range vs[:500] {
		ref[uint64(i)] = v
	}
	for _, q := range vs[500:] {
		got, err := x.Search(q, 7, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteForce(ref, q, 7, nil); !slices.Equal(idsOf(got), want) {
			t.Fatalf("exact search = %v, want %v", idsOf(got), want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Score > got[i-1].Score {
				t.Fatalf("hits not best first: %v", got)
			}
		}
	}
	// k larger than the index gives everything.
	got, _ := x.Search(vs[0], 1000, nil)
	if len(got) != 500 {
		t.Fatalf("k=1000 over 500 vectors gave %d hits", len(got))
	}
	if got[0].ID != 0 || math.Abs(float64(got[0].Score)-1) > 1e-5 {
		t.Fatalf("a vector's nearest is not itself at score 1: %+v", got[0])
	}
}

// forEachPath runs f on a small index that scans exactly and on one that
// walks the graph.
func forEachPath(t *testing.T, f func(t *testing.T, vs [][]float32, x *Index)) {
	for name, o := range map[string]Options{"exact": {}, "graph": {ExactBelow: -1, Seed: 1}} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			vs := clustered(rng, 1000, 48, 10)
			f(t, vs, build(t, vs, o))
		})
	}
}

func TestDelete(t *testing.T) {
	forEachPath(t, func(t *testing.T, vs [][]float32, x *Index) {
		q := vs[42]
		before, _ := x.Search(q, 5, nil)
		if before[0].ID != 42 {
			t.Fatalf("nearest of vector 42 is %d", before[0].ID)
		}
		for id := range uint64(500) {
			x.Delete(id)
		}
		x.Delete(99999) // unknown: nothing happens
		if x.Len() != 500 || x.Tombstones() != 500 || x.Has(42) {
			t.Fatalf("Len %d Tombstones %d Has(42) %v", x.Len(), x.Tombstones(), x.Has(42))
		}
		for _, q := range vs[:50] {
			got, _ := x.Search(q, 10, nil)
			if len(got) != 10 {
				t.Fatalf("%d hits, want 10", len(got))
			}
			for _, h := range got {
				if h.ID < 500 {
					t.Fatalf("deleted id %d returned", h.ID)
				}
			}
		}
		x.Compact()
		if x.Len() != 500 || x.Tombstones() != 0 {
			t.Fatalf("after Compact: Len %d Tombstones %d", x.Len(), x.Tombstones())
		}
		got, _ := x.Search(vs[600], 1, nil)
		if got[0].ID != 600 {
			t.Fatalf("after Compact the nearest of 600 is %d", got[0].ID)
		}
	})
}

func TestReplace(t *testing.T) {
	forEachPath(t, func(t *testing.T, vs [][]float32, x *Index) {
		// Give id 7 the vector of id 900: a query for 900's vector finds
		// both at score 1, and 7's old vector no longer finds 7 first.
		if err := x.Add(7, vs[900]); err != nil {
			t.Fatal(err)
		}
		if x.Len() != 1000 {
			t.Fatalf("Len = %d after a replace, want 1000", x.Len())
		}
		got, _ := x.Search(vs[900], 2, nil)
		if !slices.Equal(idsOf(got), []uint64{7, 900}) {
			t.Fatalf("hits %v, want [7 900]", idsOf(got))
		}
		got, _ = x.Search(vs[7], 10, nil)
		for _, h := range got {
			if h.ID == 7 {
				t.Fatalf("old vector of 7 still found it: %v", got)
			}
		}
	})
}

func TestFilter(t *testing.T) {
	forEachPath(t, func(t *testing.T, vs [][]float32, x *Index) {
		for _, mod := range []uint64{2, 10, 100} {
			allow := func(id uint64) bool { return id%mod == 1 }
			for _, q := range vs[:20] {
				got, _ := x.Search(q, 10, allow)
				for _, h := range got {
					if !allow(h.ID) {
						t.Fatalf("filter mod %d: id %d returned", mod, h.ID)
					}
				}
				if want := min(10, 1000/int(mod)); len(got) != want {
					t.Fatalf("filter mod %d: %d hits, want %d", mod, len(got), want)
				}
			}
		}
		none := func(uint64) bool { return false }
		if got, _ := x.Search(vs[0], 10, none); len(got) != 0 {
			t.Fatalf("a filter that allows nothing gave %v", got)
		}
	})
}

func TestFilterRecall(t *testing.T) {
	x, queries := bigIndex()
	for _, c := range []struct {
		name  string
		allow func(uint64) bool
	}{
		{"1%", func(id uint64) bool { return id%100 == 17 }},
		{"30%", func(id uint64) bool { return id%10 < 3 }},
		{"first 10% of ids", func(id uint64) bool { return id < uint64(x.Len()/10) }},
	} {
		r := recallAt(t, x, queries, 10, c.allow)
		t.Logf("filter %s: recall@10 = %.4f", c.name, r)
		if r < 0.95 {
			t.Errorf("filter %s: recall@10 = %.4f, want ≥ 0.95", c.name, r)
		}
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(0, Options{}); shelf.ErrorCode(err) != shelf.EINVALID {
		t.Errorf("New(0) = %v", err)
	}
	x := mustNew(t, 4, Options{})
	for _, v := range [][]float32{
		{1, 2, 3},
		{0, 0, 0, 0},
		{1, float32(math.NaN()), 0, 0},
		{float32(math.Inf(1)), 0, 0, 0},
	} {
		if err := x.Add(1, v); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("Add(%v) = %v, want EINVALID", v, err)
		}
		if _, err := x.Search(v, 3, nil); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("Search(%v) = %v, want EINVALID", v, err)
		}
	}
	if got, err := x.Search([]float32{1, 0, 0, 0}, 3, nil); err != nil || len(got) != 0 {
		t.Errorf("search of an empty index = %v, %v", got, err)
	}
	if x.Len() != 0 {
		t.Errorf("Len = %d after refused adds", x.Len())
	}
}

func TestPersistRoundTrip(t *testing.T) {
	forEachPath(t, func(t *testing.T, vs [][]float32, x *Index) {
		x.Delete(3)
		_ = x.Add(5, vs[6])
		var buf bytes.Buffer
		n, err := x.WriteTo(&buf)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("WriteTo = %d, %v (buffer %d)", n, err, buf.Len())
		}
		y, err := Read(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if y.Len() != x.Len() || y.Tombstones() != x.Tombstones() || y.Options() != x.Options() {
			t.Fatalf("reloaded: Len %d/%d Tombstones %d/%d Options %+v/%+v",
				y.Len(), x.Len(), y.Tombstones(), x.Tombstones(), y.Options(), x.Options())
		}
		same := func(what string) {
			for i, q := range vs[:100] {
				a, _ := x.Search(q, 10, nil)
				b, _ := y.Search(q, 10, nil)
				if !slices.Equal(a, b) {
					t.Fatalf("%s: query %d: %v != %v", what, i, a, b)
				}
			}
		}
		same("reloaded")
		// The level generator was saved too: adding the same vectors to both
		// keeps them identical.
		for i := range 50 {
			_ = x.Add(uint64(2000+i), vs[i])
			_ = y.Add(uint64(2000+i), vs[i])
		}
		same("after more adds")
		var again bytes.Buffer
		if _, err := y.WriteTo(&again); err != nil {
			t.Fatal(err)
		}
		var orig bytes.Buffer
		_, _ = x.WriteTo(&orig)
		if !bytes.Equal(orig.Bytes(), again.Bytes()) {
			t.Fatal("the two indexes write different files")
		}
	})
}

func TestReadDamaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := build(t, clustered(rng, 300, 16, 5), Options{ExactBelow: -1})
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	check := func(what string, b []byte) {
		t.Helper()
		_, err := Read(bytes.NewReader(b))
		if shelf.ErrorCode(err) != shelf.EINVALID {
			t.Fatalf("%s: Read = %v, want EINVALID", what, err)
		}
	}
	for cut := 0; cut < len(file); cut += 1 + cut/8 {
		check(fmt.Sprintf("truncated at %d", cut), file[:cut])
	}
	check("last byte missing", file[:len(file)-1])
	for i := 0; i < len(file); i += 1 + i/16 {
		b := slices.Clone(file)
		b[i] ^= 0x5a
		check(fmt.Sprintf("byte %d flipped", i), b)
	}
	b := slices.Clone(file)
	b[8] = 9 // version
	check("future version", b)

	// An I/O error is not "corrupt".
	_, err := Read(&failingReader{data: file[:100]})
	if shelf.ErrorCode(err) != shelf.EINTERNAL {
		t.Fatalf("Read of a failing reader = %v, want EINTERNAL", err)
	}
}

type failingReader struct{ data []byte }

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// FuzzRead: no input makes Read panic or hang.
func FuzzRead(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	x, _ := New(8, Options{ExactBelow: -1})
	for i, v := range clustered(rng, 40, 8, 3) {
		_ = x.Add(uint64(i), v)
	}
	var buf bytes.Buffer
	_, _ = x.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		y, err := Read(bytes.NewReader(b))
		if err == nil {
			_, _ = y.Search(make([]float32, 8)[:0:0], 3, nil)
			q := []float32{1, 0, 0, 0, 0, 0, 0, 0}
			_, _ = y.Search(q, 3, nil)
		}
	})
}

func TestConcurrentSearchDuringAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	vs := clustered(rng, 1500, 32, 8)
	x := build(t, vs[:500], Options{ExactBelow: 200, EfConstruction: 64})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var filter func(uint64) bool
				if i%3 == 0 {
					filter = func(id uint64) bool { return id%4 == uint64(g) }
				}
				hits, err := x.Search(vs[(i*7+g)%len(vs)], 5, filter)
				if err != nil || len(hits) == 0 {
					t.Errorf("Search = %v, %v", hits, err)
					return
				}
			}
		})
	}
	for i := 500; i < len(vs); i++ {
		if err := x.Add(uint64(i), vs[i]); err != nil {
			t.Error(err)
		}
		if i%10 == 0 {
			x.Delete(uint64(i - 300))
		}
	}
	close(stop)
	wg.Wait()
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
}
