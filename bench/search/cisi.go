package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Record is one entry of a SMART-format file (CISI.ALL or CISI.QRY): the
// fields that follow its ".I id" line.
type Record struct {
	ID      int
	Title   string   // .T, lines joined by one space
	Authors []string // .A, one per line; a record may have several .A fields
	Text    string   // .W, lines kept as written (newlines between them)
	Source  string   // .B, the publication
}

// Collection is a test collection: documents, queries and which documents
// are relevant to each query.
type Collection struct {
	Docs     []Record
	Queries  []Record
	Relevant map[int]map[int]bool // query id → relevant document ids
}

// LoadCISI reads CISI.ALL, CISI.QRY and CISI.REL from dir.
func LoadCISI(dir string) (*Collection, error) {
	var c Collection
	for _, f := range []struct {
		name string
		dst  *[]Record
	}{{"CISI.ALL", &c.Docs}, {"CISI.QRY", &c.Queries}} {
		fh, err := os.Open(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		*f.dst, err = ParseRecords(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	fh, err := os.Open(filepath.Join(dir, "CISI.REL"))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if c.Relevant, err = ParseRelevance(fh); err != nil {
		return nil, fmt.Errorf("CISI.REL: %w", err)
	}
	return &c, nil
}

// ParseRecords reads the SMART format: a record starts at a line ".I id";
// a line that is a field marker (a dot, one capital letter, then nothing
// but spaces) starts that field, and the lines up to the next marker are
// its value. .T, .A, .W and .B are kept; .X (cross-references), .K, .C and
// any other field are skipped. Text on a marker's own line (".T Title")
// counts as the value's first line.
func ParseRecords(r io.Reader) ([]Record, error) {
	var out []Record
	var cur *Record
	var field byte
	var lines []string
	flush := func() {
		if cur == nil {
			return
		}
		switch field {
		case 'T':
			cur.Title = strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
		case 'A':
			for _, l := range lines {
				if l = strings.TrimSpace(l); l != "" {
					cur.Authors = append(cur.Authors, l)
				}
			}
		case 'W':
			cur.Text = strings.Trim(strings.Join(lines, "\n"), " \t\n")
		case 'B':
			cur.Source = strings.TrimSpace(strings.Join(lines, " "))
		}
		lines = lines[:0]
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := map[int]bool{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		m, rest, ok := marker(line)
		if !ok {
			if cur == nil {
				if strings.TrimSpace(line) == "" {
					continue
				}
				return nil, fmt.Errorf("line %d: text before the first .I", n)
			}
			if field != 0 {
				lines = append(lines, line)
			}
			continue
		}
		flush()
		if m == 'I' {
			id, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil || id <= 0 {
				return nil, fmt.Errorf("line %d: bad record id %q", n, rest)
			}
			if seen[id] {
				return nil, fmt.Errorf("line %d: record %d appears twice", n, id)
			}
			seen[id] = true
			out = append(out, Record{ID: id})
			cur, field = &out[len(out)-1], 0
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: field .%c before the first .I", n, m)
		}
		field = m
		if rest = strings.TrimSpace(rest); rest != "" {
			lines = append(lines, rest)
		}
	}
	flush()
	return out, sc.Err()
}

// marker reports whether line starts a field: ".X" alone or followed by a
// space and (for .I, or a title on the same line) a value.
func marker(line string) (field byte, rest string, ok bool) {
	if len(line) < 2 || line[0] != '.' || line[1] < 'A' || line[1] > 'Z' {
		return 0, "", false
	}
	if len(line) > 2 && line[2] != ' ' && line[2] != '\t' {
		return 0, "", false
	}
	return line[1], line[2:], true
}

// ParseRelevance reads judgments, "query-id doc-id 0 0.0" per line
// (whitespace-separated); every listed pair is relevant. A pair listed
// twice counts once.
func ParseRelevance(r io.Reader) (map[int]map[int]bool, error) {
	out := map[int]map[int]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want query and document ids, got %q", n, sc.Text())
		}
		q, err1 := strconv.Atoi(f[0])
		d, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || q <= 0 || d <= 0 {
			return nil, fmt.Errorf("line %d: bad ids in %q", n, sc.Text())
		}
		if out[q] == nil {
			out[q] = map[int]bool{}
		}
		out[q][d] = true
	}
	return out, sc.Err()
}

// DocText is what a document's file holds: the title, the authors and the
// abstract, as paragraphs.
func DocText(d Record) string {
	var b strings.Builder
	b.WriteString(d.Title)
	if len(d.Authors) > 0 {
		b.WriteString("\n" + strings.Join(d.Authors, "; "))
	}
	b.WriteString("\n\n" + d.Text + "\n")
	return b.String()
}
