package extract

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"github.com/shelfmem/shelf"
)

// extractCSV reads comma- (or tab-) separated values. The first record is
// the header and becomes a Row of its own; every later record is a Row of
// "header: value" pairs. A comma file whose first line has more
// semicolons than commas is read with ';'. Each record counts against
// lim.MaxItems, and may not pass lim.MaxToken bytes: encoding/csv holds a
// record (raw and unquoted) in memory until it ends.
func extractCSV(b *builder, in *input, comma rune) error {
	guard := in.guarded(b, "a CSV record")
	br := bufio.NewReaderSize(guard, max(in.bufSize(), 4096)) // sniffDelimiter peeks 4 KiB
	b.reserve(in.size)
	if comma == ',' {
		comma = sniffDelimiter(br)
	}
	r := csv.NewReader(br)
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	var header []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if shelf.ErrorCode(err) == shelf.ETOOLARGE {
				return err
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return invalid(err, "extract: malformed CSV")
			}
			return invalid(err, "extract: reading CSV")
		}
		// The reader's offset is where this record ended; br holds what
		// the guard handed over past it, at most one buffer.
		guard.done(r.InputOffset())
		if err := b.item(1); err != nil {
			return err
		}
		if header == nil {
			header = append([]string(nil), rec...)
			if err := b.add(Row, 0, 0, strings.Join(rec, " | ")); err != nil {
				return err
			}
			continue
		}
		if err := b.add(Row, 0, 0, labelCells(header, rec)); err != nil {
			return err
		}
	}
}

// sniffDelimiter picks ';' over ',' when the first line has more of them.
func sniffDelimiter(br *bufio.Reader) rune {
	head, _ := br.Peek(4096)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	if bytes.Count(head, []byte{';'}) > bytes.Count(head, []byte{','}) {
		return ';'
	}
	return ','
}
