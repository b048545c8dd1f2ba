package main

import "math"

// Scores are the quality measures of one ranking.
type Scores struct {
	NDCG10, AP, Recall100 float64
}

// Score judges ranked (document ids, best first, no repeats) against the
// relevant set: nDCG@10 with binary gains, average precision over the top
// 100, and recall at 100.
func Score(ranked []int, relevant map[int]bool) Scores {
	if len(relevant) == 0 {
		return Scores{}
	}
	var s Scores
	var dcg, idcg float64
	found := 0
	for i, d := range ranked {
		if i >= 100 {
			break
		}
		if !relevant[d] {
			continue
		}
		found++
		if i < 10 {
			dcg += 1 / math.Log2(float64(i+2))
		}
		s.AP += float64(found) / float64(i+1)
	}
	for i := range min(10, len(relevant)) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	s.NDCG10 = dcg / idcg
	s.AP /= float64(len(relevant))
	s.Recall100 = float64(found) / float64(len(relevant))
	return s
}

// Mean averages scores.
func Mean(ss []Scores) Scores {
	var m Scores
	for _, s := range ss {
		m.NDCG10 += s.NDCG10
		m.AP += s.AP
		m.Recall100 += s.Recall100
	}
	if n := float64(len(ss)); n > 0 {
		m.NDCG10, m.AP, m.Recall100 = m.NDCG10/n, m.AP/n, m.Recall100/n
	}
	return m
}
