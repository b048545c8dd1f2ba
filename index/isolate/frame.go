package isolate

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

// maxHeader bounds a frame's JSON header.
const maxHeader = 64 << 10

// request is what the parent sends before the file's bytes.
type request struct {
	ContentType string `json:"content_type"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	Limits      limits `json:"limits"`
}

// limits is extract.Limits on the wire.
type limits struct {
	MaxInput      int64 `json:"max_input"`
	MaxOutput     int   `json:"max_output"`
	MaxToken      int64 `json:"max_token"`
	MaxEntries    int   `json:"max_entries"`
	MaxEntryBytes int64 `json:"max_entry_bytes"`
	MaxRatio      int64 `json:"max_ratio"`
	MaxDepth      int   `json:"max_depth"`
	MaxItems      int   `json:"max_items"`
	MaxPages      int   `json:"max_pages"`
	TimeoutNanos  int64 `json:"timeout_ns"`
}

func toWire(l extract.Limits) limits {
	return limits{l.MaxInput, l.MaxOutput, l.MaxToken, l.MaxEntries, l.MaxEntryBytes, l.MaxRatio,
		l.MaxDepth, l.MaxItems, l.MaxPages, int64(l.Timeout)}
}

func (l limits) extract() extract.Limits {
	return extract.Limits{MaxInput: l.MaxInput, MaxOutput: l.MaxOutput, MaxToken: l.MaxToken, MaxEntries: l.MaxEntries,
		MaxEntryBytes: l.MaxEntryBytes, MaxRatio: l.MaxRatio, MaxDepth: l.MaxDepth, MaxItems: l.MaxItems,
		MaxPages: l.MaxPages, Timeout: time.Duration(l.TimeoutNanos)}
}

// answer is the header of the child's reply. With Code set, the
// extraction failed and nothing follows; else Blocks block records and
// Text bytes of text follow.
type answer struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Pages   int    `json:"pages,omitempty"`
	Blocks  int    `json:"blocks,omitempty"`
	Text    int    `json:"text,omitempty"`
}

func writeHeader(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxHeader {
		return fmt.Errorf("isolate: header of %d bytes", len(b))
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readHeader reads one header into v. A clean end of input before it is
// io.EOF.
func readHeader(r io.Reader, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxHeader {
		return fmt.Errorf("isolate: header of %d bytes", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return noEOF(err)
	}
	return json.Unmarshal(b, v)
}

// noEOF turns an end of input in the middle of a frame into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeDoc writes a successful answer: header, blocks, text.
func writeDoc(w *bufio.Writer, d *extract.Doc) error {
	if err := writeHeader(w, answer{Pages: d.Pages, Blocks: len(d.Blocks), Text: len(d.Text)}); err != nil {
		return err
	}
	var buf [5 * binary.MaxVarintLen64]byte
	for _, b := range d.Blocks {
		n := binary.PutUvarint(buf[:], uint64(b.Kind))
		n += binary.PutUvarint(buf[n:], uint64(b.Level))
		n += binary.PutUvarint(buf[n:], uint64(b.Page))
		n += binary.PutUvarint(buf[n:], uint64(b.Start))
		n += binary.PutUvarint(buf[n:], uint64(b.End-b.Start))
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
	}
	if _, err := w.WriteString(d.Text); err != nil {
		return err
	}
	return w.Flush()
}

// errBadAnswer marks an answer that breaks the protocol.
var errBadAnswer = errors.New("isolate: malformed answer from the extraction worker")

// readDoc reads the blocks and text announced by a, checking them against
// lim: sizes within the limits, offsets within the text, in order.
func readDoc(r *bufio.Reader, a answer, lim extract.Limits) (*extract.Doc, error) {
	if a.Text < 0 || a.Text > lim.MaxOutput || a.Blocks < 0 || a.Blocks > a.Text/3+1 || a.Pages < 0 || a.Pages > lim.MaxPages {
		return nil, fmt.Errorf("%w: %d blocks, %d bytes of text, %d pages", errBadAnswer, a.Blocks, a.Text, a.Pages)
	}
	d := &extract.Doc{Pages: a.Pages, Blocks: make([]extract.Block, a.Blocks)}
	last := 0
	for i := range d.Blocks {
		var v [5]uint64
		for j := range v {
			x, err := binary.ReadUvarint(r)
			if err != nil {
				return nil, noEOF(err)
			}
			v[j] = x
		}
		kind, level, page, start, length := v[0], v[1], v[2], v[3], v[4]
		if kind > uint64(extract.Row) || level > 6 || page > uint64(lim.MaxPages) ||
			start < uint64(last) || start > uint64(a.Text) || length > uint64(a.Text)-start {
			return nil, fmt.Errorf("%w: block %d", errBadAnswer, i)
		}
		d.Blocks[i] = extract.Block{Kind: extract.Kind(kind), Level: int(level), Page: int(page), Start: int(start), End: int(start + length)}
		last = int(start + length)
	}
	text := make([]byte, a.Text)
	if _, err := io.ReadFull(r, text); err != nil {
		return nil, noEOF(err)
	}
	d.Text = string(text)
	for i := range d.Blocks {
		b := &d.Blocks[i]
		b.Text = d.Text[b.Start:b.End]
	}
	return d, nil
}

// failure turns an error answer back into the error Extract returned in
// the child. Codes are the shelf codes Extract uses; anything else is an
// internal error.
func failure(a answer) error {
	switch a.Code {
	case shelf.EINVALID, shelf.ETOOLARGE, shelf.ENOTIMPL, shelf.ETIMEOUT:
		return shelf.Errorf(a.Code, "%s", a.Message)
	}
	return fmt.Errorf("isolate: extraction worker: %s: %s", a.Code, a.Message)
}
