package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/shelfmem/shelf/index/extract"
)

// inProcess is the Extractor that runs extract.Extract in this process:
// from memory when the file is small, else from a temporary copy, since
// the formats in zip containers and PDFs need random access.
type inProcess struct {
	memoryMax int64
}

func (p inProcess) Extract(ctx context.Context, open func() (io.ReadCloser, error), size int64, contentType, name string,
	lim extract.Limits) (*extract.Doc, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var ra io.ReaderAt
	if size <= p.memoryMax {
		data := make([]byte, size)
		if _, err := io.ReadFull(rc, data); err != nil {
			return nil, fmt.Errorf("read content: %w", err)
		}
		ra = bytes.NewReader(data)
	} else {
		f, err := os.CreateTemp("", "shelf-extract-*")
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if n, err := io.Copy(f, rc); err != nil {
			return nil, fmt.Errorf("spool content: %w", err)
		} else if n != size {
			return nil, fmt.Errorf("spool content: read %d of %d bytes", n, size)
		}
		ra = f
	}
	return extract.Extract(ctx, ra, size, contentType, name, lim)
}
