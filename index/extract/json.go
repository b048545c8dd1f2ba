package extract

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/shelfmem/shelf"
)

// extractJSON flattens JSON into "path: value" lines. Each member of a
// top-level object, each element of a top-level array and each top-level
// scalar becomes one block, so a record stays together. With lines (JSON
// Lines), each top-level value is one block. Several top-level values are
// accepted either way. Nesting deeper than lim.MaxDepth, or a scalar
// longer than lim.MaxToken (encoding/json holds a whole scalar, and copies
// it, before it returns it), is ETOOLARGE.
func extractJSON(b *builder, in *input, lines bool) error {
	guard := in.guarded(b, "a JSON value")
	dec := json.NewDecoder(guard)
	dec.UseNumber()
	j := &jsonReader{b: b, dec: dec, guard: guard}
	for top := 0; ; top++ {
		tok, err := j.token()
		if err == io.EOF {
			if top == 0 {
				return invalid(nil, "extract: the JSON file is empty")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if lines {
			err = j.record(tok)
		} else {
			err = j.top(tok, "")
		}
		if err != nil {
			return err
		}
	}
}

type jsonReader struct {
	b     *builder
	dec   *json.Decoder
	guard *tokenGuard
	depth int
	lines strings.Builder
}

// token reads the next token, counting it and checking the depth.
func (j *jsonReader) token() (json.Token, error) {
	tok, err := j.dec.Token()
	if err == io.EOF && j.depth == 0 {
		return nil, io.EOF
	}
	if err == io.EOF {
		return nil, invalid(err, "extract: malformed JSON: unexpected end")
	}
	if err != nil {
		if shelf.ErrorCode(err) == shelf.ETOOLARGE {
			return nil, err
		}
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, invalid(err, "extract: malformed JSON")
		}
		return nil, invalid(err, "extract: reading JSON")
	}
	j.guard.done(j.dec.InputOffset())
	if err := j.b.item(1); err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); ok {
		if d == '{' || d == '[' {
			j.depth++
			if j.depth > j.b.lim.MaxDepth {
				return nil, tooLarge("extract: JSON nesting is deeper than %d", j.b.lim.MaxDepth)
			}
		} else {
			j.depth--
		}
	}
	return tok, nil
}

// top handles one top-level value: a container is split into one block per
// member or element.
func (j *jsonReader) top(tok json.Token, prefix string) error {
	d, ok := tok.(json.Delim)
	if !ok {
		j.scalar(prefix, tok)
		return j.emit()
	}
	for i := 0; j.dec.More(); i++ {
		path, err := j.memberPath(d, prefix, i)
		if err != nil {
			return err
		}
		if err := j.value(path); err != nil {
			return err
		}
		if err := j.emit(); err != nil {
			return err
		}
	}
	_, err := j.token() // the closing delimiter
	return err
}

// record handles one JSON Lines record: the whole value is one block.
func (j *jsonReader) record(tok json.Token) error {
	if _, ok := tok.(json.Delim); !ok {
		j.scalar("", tok)
		return j.emit()
	}
	if err := j.container(tok.(json.Delim), ""); err != nil {
		return err
	}
	return j.emit()
}

// memberPath reads an object key (for '{') or numbers an element (for '[').
func (j *jsonReader) memberPath(d json.Delim, prefix string, i int) (string, error) {
	if d == '[' {
		return prefix + "[" + strconv.Itoa(i) + "]", nil
	}
	k, err := j.token()
	if err != nil {
		return "", err
	}
	key, _ := k.(string)
	if prefix == "" {
		return key, nil
	}
	return prefix + "." + key, nil
}

// value writes the value that starts at the next token as lines.
func (j *jsonReader) value(path string) error {
	tok, err := j.token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		j.scalar(path, tok)
		return j.b.pending(j.lines.Len())
	}
	return j.container(d, path)
}

// container writes the members of the object or array opened by d.
func (j *jsonReader) container(d json.Delim, path string) error {
	for i := 0; j.dec.More(); i++ {
		p, err := j.memberPath(d, path, i)
		if err != nil {
			return err
		}
		if err := j.value(p); err != nil {
			return err
		}
	}
	_, err := j.token()
	return err
}

// scalar writes one "path: value" line.
func (j *jsonReader) scalar(path string, tok json.Token) {
	var v string
	switch t := tok.(type) {
	case string:
		v = t
	case json.Number:
		v = t.String()
	case bool:
		v = strconv.FormatBool(t)
	case nil:
		v = "null"
	}
	// A value's own line breaks would read as new paths.
	v = strings.ReplaceAll(strings.ReplaceAll(v, "\r", " "), "\n", " ")
	if path != "" {
		j.lines.WriteString(path)
		j.lines.WriteString(": ")
	}
	j.lines.WriteString(v)
	j.lines.WriteByte('\n')
}

// emit writes the collected lines as one block.
func (j *jsonReader) emit() error {
	text := j.lines.String()
	j.lines.Reset()
	return j.b.addLines(Paragraph, 0, text)
}
