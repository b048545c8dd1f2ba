package main

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shelfmem/shelf/library"
)

// judged is a query with relevance judgments.
type judged struct {
	id       int
	text     string
	relevant map[int]bool
}

// runQuality measures nDCG@10, MAP and recall@100 of every available
// search mode on CISI, and of a bare FTS5 baseline in the same run.
func (b *bench) runQuality(ctx context.Context) error {
	c, err := LoadCISI(b.cisi)
	if err != nil {
		return err
	}
	var queries []judged
	for _, q := range c.Queries {
		if rel := c.Relevant[q.ID]; len(rel) > 0 {
			queries = append(queries, judged{id: q.ID, text: q.Text, relevant: rel})
		}
	}
	modes := []string{library.ModeKeyword}
	args := []string{}
	if b.embedURL != "" {
		modes = append(modes, library.ModeSemantic, library.ModeHybrid)
		args = append(args, "--embed-url", b.embedURL, "--embed-model", b.embedModel)
		if b.embedDims > 0 {
			args = append(args, "--embed-dims", strconv.Itoa(b.embedDims))
		}
	}
	b.printf("## Quality on CISI\n\n")
	b.printf("%d documents (`cisi/<id>.txt`: title, authors, abstract), %d queries with judgments (of %d; the `.W` text), %d relevant pairs. "+
		"Each query runs with `top_k` 100; hits map back to documents by path, the first hit of a document counts and later ones are dropped. "+
		"nDCG@10 with binary gains; MAP over the top 100; recall@100.\n\n", len(c.Docs), len(queries), len(c.Queries), pairs(c.Relevant))

	data := filepath.Join(b.dir, "quality")
	p, err := b.startShelf(ctx, data, args...)
	if err != nil {
		return err
	}
	defer p.Stop()
	cl := newClient(p.URL, 8)
	t0 := time.Now()
	err = concurrently(len(c.Docs), 8, func(i int) error {
		d := c.Docs[i]
		return cl.putFile(ctx, fmt.Sprintf("cisi/%d.txt", d.ID), []byte(DocText(d)))
	})
	if err != nil {
		return err
	}
	written := time.Since(t0)
	st, err := cl.waitIndexed(ctx, len(c.Docs), 50*time.Millisecond, 30*time.Minute)
	if err != nil {
		return err
	}
	indexed := time.Since(t0)
	if st.Failed > 0 {
		return fmt.Errorf("%d CISI files failed to index", st.Failed)
	}
	results := map[string][]Scores{}
	for _, mode := range modes {
		for _, q := range queries {
			res, _, err := cl.search(ctx, q.text, mode, 100)
			if err != nil {
				return fmt.Errorf("query %d, %s: %w", q.id, mode, err)
			}
			if res.Mode != mode {
				return fmt.Errorf("query %d: asked for %s, ran %s (%s)", q.id, mode, res.Mode, res.Notice)
			}
			var ranked []int
			for _, h := range res.Hits {
				id, err := docID(h.Path)
				if err != nil {
					return err
				}
				if !slices.Contains(ranked, id) {
					ranked = append(ranked, id)
				}
			}
			results[mode] = append(results[mode], Score(ranked, q.relevant))
		}
	}
	p.Stop()
	chunks, err := shelfChunks(filepath.Join(data, "shelf.db"))
	if err != nil {
		return err
	}
	b.printf("Written in %s, indexed %s after the first write: %d chunks (%d files of more than one chunk).\n\n",
		written.Round(time.Millisecond), indexed.Round(time.Millisecond), len(chunks), multiChunk(chunks))

	// The baseline, and variants of it that move one step at a time
	// towards what Shelf does, to tell which step costs or gains.
	docs := make([]bareRow, len(c.Docs))
	for i, d := range c.Docs {
		docs[i] = bareRow{doc: d.ID, text: DocText(d)}
	}
	const porter = "porter unicode61 remove_diacritics 2"
	variants := []variant{
		{name: "**baseline**: `fts5(text)` (unicode61), whole documents, every query word ORed", rows: docs, query: allWords, limit: 100},
		{name: "baseline, English stop words left out (`library.MatchTerms`)", rows: docs, query: matchExpr, limit: 100},
		{name: "baseline with Shelf's tokenizer (`" + porter + "`)", tokenize: porter, rows: docs, query: allWords, limit: 100},
		{name: "Shelf's tokenizer and `MatchTerms`, whole documents", tokenize: porter, rows: docs, query: matchExpr, limit: 100},
		{name: "Shelf's chunks, tokenizer and `MatchTerms`, bm25(1.0, 0.5), top 100 chunks (Shelf's keyword search, in-process)", tokenize: porter, rows: chunks, chunks: true, query: matchExpr, limit: 100},
		{name: "Shelf's chunks and tokenizer, every query word", tokenize: porter, rows: chunks, chunks: true, query: allWords, limit: 100},
		{name: "Shelf's chunks, tokenizer and `MatchTerms`, top 300 chunks → 100 documents", tokenize: porter, rows: chunks, chunks: true, query: matchExpr, limit: 300},
	}
	var bare [][]Scores
	for _, v := range variants {
		s, err := v.run(queries)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		bare = append(bare, s)
	}
	base := Mean(bare[0])
	b.printf("| ranking | nDCG@10 | MAP | recall@100 | nDCG@10 vs baseline | MAP vs baseline |\n| --- | --- | --- | --- | --- | --- |\n")
	row := func(name string, s Scores) {
		b.printf("| %s | %.4f | %.4f | %.4f | %.3f× | %.3f× |\n", name, s.NDCG10, s.AP, s.Recall100, s.NDCG10/base.NDCG10, s.AP/base.AP)
	}
	for _, mode := range modes {
		row(fmt.Sprintf("**Shelf `%s`** (`POST /v1/search`)", mode), Mean(results[mode]))
	}
	for i, v := range variants {
		row(v.name, Mean(bare[i]))
	}
	kw := Mean(results[library.ModeKeyword])
	var wins, losses int
	for i := range queries {
		switch a, z := results[library.ModeKeyword][i].NDCG10, bare[0][i].NDCG10; {
		case a > z+1e-9:
			wins++
		case a < z-1e-9:
			losses++
		}
	}
	b.printf("\nPer query (nDCG@10), Shelf keyword vs the baseline: %d better, %d worse, %d equal.\n\n", wins, losses, len(queries)-wins-losses)
	b.printf("| target | measured | result |\n| --- | --- | --- |\n")
	b.printf("| keyword nDCG@10 above the baseline | %.4f vs %.4f (%.3f×) | %s |\n", kw.NDCG10, base.NDCG10, kw.NDCG10/base.NDCG10, pass(kw.NDCG10 > base.NDCG10))
	b.printf("| keyword MAP above the baseline | %.4f vs %.4f (%.3f×) | %s |\n\n", kw.AP, base.AP, kw.AP/base.AP, pass(kw.AP > base.AP))
	return nil
}

func pairs(rel map[int]map[int]bool) int {
	n := 0
	for _, ds := range rel {
		n += len(ds)
	}
	return n
}

// docID reads the document id from a path cisi/<id>.txt.
func docID(p string) (int, error) {
	id, err := strconv.Atoi(strings.TrimSuffix(path.Base(p), ".txt"))
	if err != nil {
		return 0, fmt.Errorf("hit path %q is not cisi/<id>.txt", p)
	}
	return id, nil
}

// bareRow is a unit the bare index ranks: a document or one of its chunks.
type bareRow struct {
	doc           int
	text, heading string
}

// shelfChunks reads the chunks Shelf made from its database.
func shelfChunks(dbPath string) ([]bareRow, error) {
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("SELECT i.path, c.text, c.heading FROM chunks c JOIN items i ON i.id = c.item_id ORDER BY c.id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bareRow
	for rows.Next() {
		var p string
		var r bareRow
		if err := rows.Scan(&p, &r.text, &r.heading); err != nil {
			return nil, err
		}
		if r.doc, err = docID(p); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func multiChunk(rows []bareRow) int {
	n := map[int]int{}
	for _, r := range rows {
		n[r.doc]++
	}
	m := 0
	for _, k := range n {
		if k > 1 {
			m++
		}
	}
	return m
}

// variant is one bare-SQLite ranking: rows in an FTS5 table with a
// tokenizer ("" for FTS5's default), queried with query(text), the top
// limit rows taken and deduplicated by document.
type variant struct {
	name     string
	tokenize string
	rows     []bareRow
	chunks   bool // rows are chunks with a heading, ranked bm25(1.0, 0.5)
	query    func(string) string
	limit    int
}

func (v variant) run(queries []judged) ([]Scores, error) {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	chunked := v.chunks
	ddl, rank := "CREATE VIRTUAL TABLE t USING fts5(text", "bm25(t)"
	if chunked {
		ddl, rank = ddl+", heading", "bm25(t, 1.0, 0.5)"
	}
	if v.tokenize != "" {
		ddl += ", tokenize = '" + v.tokenize + "'"
	}
	if _, err := db.Exec(ddl + ")"); err != nil {
		return nil, err
	}
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	for i, r := range v.rows {
		if chunked {
			_, err = tx.Exec("INSERT INTO t (rowid, text, heading) VALUES (?, ?, ?)", i+1, r.text, r.heading)
		} else {
			_, err = tx.Exec("INSERT INTO t (rowid, text) VALUES (?, ?)", i+1, r.text)
		}
		if err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	var out []Scores
	for _, q := range queries {
		m := v.query(q.text)
		var ranked []int
		if m != "" {
			rows, err := db.Query("SELECT rowid FROM t WHERE t MATCH ? ORDER BY "+rank+" LIMIT ?", m, v.limit)
			if err != nil {
				return nil, fmt.Errorf("query %d (%s): %w", q.id, m, err)
			}
			for rows.Next() {
				var id int
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return nil, err
				}
				if d := v.rows[id-1].doc; !slices.Contains(ranked, d) && len(ranked) < 100 {
					ranked = append(ranked, d)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		out = append(out, Score(ranked, q.relevant))
	}
	return out, nil
}

// allWords is the baseline's query: every distinct word (runs of letters,
// digits and marks, as the tokenizer splits) a quoted term, ORed; no word
// is left out.
func allWords(text string) string {
	var terms []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	}) {
		if k := strings.ToLower(w); !seen[k] {
			seen[k] = true
			terms = append(terms, `"`+w+`"`)
		}
	}
	return strings.Join(terms, " OR ")
}

// matchExpr is Shelf's keyword query as an FTS5 expression, as the
// SQLite store builds it from library.MatchTerms: each term quoted (a
// phrase stays one), ORed.
func matchExpr(text string) string {
	terms := library.MatchTerms(text)
	for i, t := range terms {
		terms[i] = `"` + t + `"`
	}
	return strings.Join(terms, " OR ")
}
