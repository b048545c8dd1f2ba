package vector

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"

	shelf "github.com/shelfmem/shelf"
)

func TestEfSearchFor(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, DefaultEfSearch},
		{20_000, DefaultEfSearch},
		{efScaleFrom, DefaultEfSearch},
		{2 * efScaleFrom, DefaultEfSearch + efPerDoubling},
		{4 * efScaleFrom, DefaultEfSearch + 2*efPerDoubling},
	} {
		if got := EfSearchFor(c.n); got != c.want {
			t.Errorf("EfSearchFor(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	// The 1M target (docs/VECTOR.md): recall@10 ≥ 0.95 needs efSearch
	// ≥ 128 there (0.971); the default keeps a margin above it (200: 0.985)
	// without paying for a much wider beam.
	if got := EfSearchFor(1_000_000); got < 200 || got > 256 {
		t.Errorf("EfSearchFor(1,000,000) = %d, want 200..256", got)
	}
	prev := 0
	for n := 1; n < 1<<31-1 && n > 0; n = n*5/4 + 1 {
		got := EfSearchFor(n)
		if got < prev || got > maxEf {
			t.Fatalf("EfSearchFor(%d) = %d after %d: not non-decreasing within 1..%d", n, got, prev, maxEf)
		}
		prev = got
	}
}

// crippledIndex is a graph poor enough that the beam width visibly changes
// the answers.
func crippledIndex(t *testing.T) (*Index, [][]float32) {
	rng := rand.New(rand.NewPCG(21, 22))
	vs := clustered(rng, 3100, 32, 10)
	return build(t, vs[:3000], Options{M: 2, EfConstruction: 4, ExactBelow: -1, Seed: 5}), vs[3000:]
}

// searchesWith reports whether Search answers every query as a graph walk
// of beam ef does.
func searchesWith(t *testing.T, x *Index, queries [][]float32, k, ef int) bool {
	t.Helper()
	for _, q := range queries {
		got, err := x.Search(q, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, x.graphSearch(unit(q), k, ef, nil)) {
			return false
		}
	}
	return true
}

// TestDefaultEfSearchScales: with Options.EfSearch 0, Search walks with
// EfSearchFor(Len()), re-evaluated as the index grows.
func TestDefaultEfSearchScales(t *testing.T) {
	x, queries := crippledIndex(t)
	if x.Options().EfSearch != 0 {
		t.Fatalf("Options().EfSearch = %d, want 0 (the scaled default)", x.Options().EfSearch)
	}
	if got := x.EfSearch(); got != EfSearchFor(x.Len()) {
		t.Fatalf("EfSearch() = %d, want EfSearchFor(%d) = %d", got, x.Len(), EfSearchFor(x.Len()))
	}
	if !searchesWith(t, x, queries, 10, EfSearchFor(x.Len())) {
		t.Fatal("Search does not walk with EfSearchFor(Len())")
	}
	// Pretend the index holds a million live vectors (the graph is the
	// same; only the size the default is computed from changes).
	live := x.live
	x.live = 1_000_000
	defer func() { x.live = live }()
	big := EfSearchFor(x.live)
	if big <= DefaultEfSearch || x.EfSearch() != big {
		t.Fatalf("at 1,000,000: EfSearch() = %d, EfSearchFor = %d; want it above %d", x.EfSearch(), big, DefaultEfSearch)
	}
	if !searchesWith(t, x, queries, 10, big) {
		t.Fatalf("at 1,000,000 Search does not walk with ef %d", big)
	}
	if searchesWith(t, x, queries, 10, DefaultEfSearch) {
		t.Fatalf("ef %d and %d answer alike on this graph: the test cannot tell them apart", big, DefaultEfSearch)
	}
}

func TestSetEfSearch(t *testing.T) {
	x, queries := crippledIndex(t)
	auto := recallAt(t, x, queries, 10, nil)

	x.SetEfSearch(1)
	if x.Options().EfSearch != 1 || x.EfSearch() != 1 {
		t.Fatalf("after SetEfSearch(1): Options().EfSearch %d, EfSearch() %d", x.Options().EfSearch, x.EfSearch())
	}
	if !searchesWith(t, x, queries, 10, 10) { // ef is raised to k
		t.Fatal("after SetEfSearch(1), Search does not walk with max(1, k)")
	}
	if narrow := recallAt(t, x, queries, 10, nil); narrow >= auto {
		t.Fatalf("recall@10 %.3f at ef 1 (k 10), %.3f at the default: the setting is not applied", narrow, auto)
	}

	x.SetEfSearch(300)
	if !searchesWith(t, x, queries, 10, 300) {
		t.Fatal("after SetEfSearch(300), Search does not walk with 300")
	}
	// Saved and loaded with the index.
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	y, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if y.Options().EfSearch != 300 {
		t.Fatalf("reloaded EfSearch = %d, want 300", y.Options().EfSearch)
	}

	x.SetEfSearch(1 << 30)
	if x.EfSearch() != maxEf {
		t.Fatalf("SetEfSearch(1<<30): EfSearch() = %d, want the cap %d", x.EfSearch(), maxEf)
	}
	for _, v := range []int{0, -7} {
		x.SetEfSearch(v)
		if x.Options().EfSearch != 0 || x.EfSearch() != EfSearchFor(x.Len()) {
			t.Fatalf("SetEfSearch(%d): Options().EfSearch %d, EfSearch() %d; want the default back", v, x.Options().EfSearch, x.EfSearch())
		}
	}
	if r := recallAt(t, x, queries, 10, nil); r != auto {
		t.Fatalf("recall back at the default %.3f, was %.3f", r, auto)
	}
}

// TestReadVersion1: a version 1 file stored the default efSearch as 64; it
// loads as today's scaled default, an explicit other value stays, and 0
// (not valid in version 1) is refused.
func TestReadVersion1(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	x := build(t, clustered(rng, 300, 16, 5), Options{ExactBelow: -1})
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	v1 := func(ef uint32) []byte {
		b := slices.Clone(buf.Bytes())
		binary.LittleEndian.PutUint32(b[8:], 1)   // version
		binary.LittleEndian.PutUint32(b[24:], ef) // EfSearch, after magic, version, dims, M, EfConstruction
		body := b[:len(b)-4]
		binary.LittleEndian.PutUint32(b[len(body):], crc32.Checksum(body, castagnoli))
		return b
	}
	for _, c := range []struct{ stored, want int }{{64, 0}, {100, 100}} {
		y, err := Read(bytes.NewReader(v1(uint32(c.stored))))
		if err != nil {
			t.Fatalf("version 1 with EfSearch %d: %v", c.stored, err)
		}
		if y.Options().EfSearch != c.want {
			t.Errorf("version 1 with EfSearch %d: loaded as %d, want %d", c.stored, y.Options().EfSearch, c.want)
		}
	}
	if _, err := Read(bytes.NewReader(v1(0))); shelf.ErrorCode(err) != shelf.EINVALID {
		t.Fatalf("version 1 with EfSearch 0: Read = %v, want EINVALID", err)
	}
}

// TestFilterEfWithScaledDefault: a filter widens the fixed DefaultEfSearch
// by 1/selectivity, not the size-scaled beam, and never walks with less
// than the unfiltered beam; an explicit EfSearch is widened as before.
func TestFilterEfWithScaledDefault(t *testing.T) {
	x, queries := crippledIndex(t)
	live := x.live
	x.live = 1_000_000 // as if; the default is 212 there
	defer func() { x.live = live }()
	base := x.EfSearch()
	for _, c := range []struct {
		name  string
		allow func(uint64) bool
	}{
		{"30%", func(id uint64) bool { return id%10 < 3 }},
		{"90%", func(id uint64) bool { return id%10 < 9 }},
	} {
		s := x.selectivity(c.allow)
		want := max(base, int(float64(DefaultEfSearch)/s))
		if c.name == "30%" && (want <= base || want >= int(float64(base)/s)) {
			t.Fatalf("30%%: beam %d, want above the base %d and below the compounded %d", want, base, int(float64(base)/s))
		}
		if c.name == "90%" && want != base {
			t.Fatalf("90%%: beam %d, want the base %d", want, base)
		}
		for _, q := range queries {
			got, err := x.Search(q, 10, c.allow)
			if err != nil {
				t.Fatal(err)
			}
			if exp := x.graphSearch(unit(q), 10, want, c.allow); !slices.Equal(got, exp) {
				t.Fatalf("%s filter: Search does not walk with ef %d", c.name, want)
			}
		}
	}
	// Explicit EfSearch: widened by 1/s, as it always was.
	x.SetEfSearch(100)
	allow := func(id uint64) bool { return id%10 < 3 }
	want := int(100 / x.selectivity(allow))
	for _, q := range queries {
		got, _ := x.Search(q, 10, allow)
		if exp := x.graphSearch(unit(q), 10, want, allow); !slices.Equal(got, exp) {
			t.Fatalf("explicit 100, 30%% filter: Search does not walk with ef %d", want)
		}
	}
}
