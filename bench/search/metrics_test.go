package main

import (
	"math"
	"testing"
)

func TestScore(t *testing.T) {
	rel := map[int]bool{1: true, 2: true, 3: true}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	// Relevant at ranks 1 and 3; the third never retrieved.
	s := Score([]int{1, 9, 2, 8}, rel)
	idcg := 1 + 1/math.Log2(3) + 1/math.Log2(4)
	if want := (1 + 1/math.Log2(4)) / idcg; !near(s.NDCG10, want) {
		t.Errorf("nDCG@10 = %v, want %v", s.NDCG10, want)
	}
	if want := (1.0 + 2.0/3) / 3; !near(s.AP, want) {
		t.Errorf("AP = %v, want %v", s.AP, want)
	}
	if want := 2.0 / 3; !near(s.Recall100, want) {
		t.Errorf("recall = %v, want %v", s.Recall100, want)
	}
	if s := Score([]int{1, 2, 3}, rel); !near(s.NDCG10, 1) || !near(s.AP, 1) || !near(s.Recall100, 1) {
		t.Errorf("perfect ranking scored %+v", s)
	}
	// A relevant document past rank 10 counts for AP and recall, not nDCG@10.
	ranked := []int{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1}
	if s := Score(ranked, map[int]bool{1: true}); s.NDCG10 != 0 || !near(s.AP, 1.0/11) || s.Recall100 != 1 {
		t.Errorf("rank 11: %+v", s)
	}
}
