package sqlite

import (
	"path/filepath"
	"slices"
	"testing"
)

// The log keeps its last 100,000 deletes.
func TestChunkDeletesPrune(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	for _, seq := range []int{5, 900, 1000, 100999, 101000} {
		if _, err := s.writer.Exec(`INSERT INTO chunk_deletes (seq, chunk_id, workspace_id) VALUES (?, 1, 'ws')`, seq); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []int
	rows, err := s.writer.Query(`SELECT seq FROM chunk_deletes ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, n)
	}
	rows.Close()
	if !slices.Equal(seqs, []int{100999, 101000}) {
		t.Fatalf("log holds %v after seq 101,000", seqs)
	}
}
