package isolate

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

// maxStack bounds a goroutine's stack in a child: a parser that recurses
// without end dies here, quickly and with a clear message, rather than
// after growing a gigabyte of stack.
const maxStack = 64 << 20

// Serve is the child's side: it caps the process's memory at what it has
// reserved now plus memory bytes, then answers requests from in on out
// until in ends. It returns nil at a clean end of input. A file that needs
// more memory than the cap ends the process; the parent sees it die.
func Serve(in io.Reader, out io.Writer, memory int64) error {
	if memory <= 0 {
		memory = DefaultMemory
	}
	if err := limitMemory(memory); err != nil {
		return fmt.Errorf("isolate: capping memory: %w", err)
	}
	// The collector works hard well before the cap (a third of it: the
	// heap's free and released pages stay mapped, and count), so garbage
	// never brings a file that fits to the cap.
	debug.SetMemoryLimit(memory / 3)
	debug.SetMaxStack(maxStack)
	br := bufio.NewReaderSize(in, 64<<10)
	bw := bufio.NewWriterSize(out, 64<<10)
	inMemory := min(memory/64, 4<<20)
	for served := 0; ; served++ {
		var req request
		if err := readHeader(br, &req); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("isolate: reading a request: %w", err)
		}
		if testHook != nil {
			testHook(&req, served)
		}
		doc, err := serveOne(br, &req, inMemory)
		if readErr, ok := err.(requestError); ok {
			return readErr.err // the parent is gone, or broke the protocol
		}
		if err != nil {
			if err := writeHeader(bw, answer{Code: shelf.ErrorCode(err), Message: shelf.ErrorMessage(err)}); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			continue
		}
		if err := writeDoc(bw, doc); err != nil {
			return err
		}
	}
}

// testHook, set only by this package's tests in a child, acts on a
// request before it is read: to crash, hang or use memory on cue.
var testHook func(req *request, served int)

// requestError is a failure to read a request: the child cannot go on.
type requestError struct{ err error }

func (e requestError) Error() string { return e.err.Error() }

// serveOne reads the file of req from r, in memory when it is small, else
// into an unlinked temporary file, and extracts it. A failure to read the
// request is a requestError; a failure to spool it (a full disk) is
// EUNAVAILABLE, after the rest of the file has been read past; other
// errors are Extract's.
func serveOne(r io.Reader, req *request, inMemory int64) (*extract.Doc, error) {
	if req.Size < 0 {
		return nil, requestError{fmt.Errorf("isolate: negative size %d", req.Size)}
	}
	lim := req.Limits.extract()
	var ra io.ReaderAt
	if req.Size <= inMemory {
		data := make([]byte, req.Size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, requestError{fmt.Errorf("isolate: reading the file: %w", noEOF(err))}
		}
		ra = bytes.NewReader(data)
	} else {
		src := &countReader{r: r}
		f, err := os.CreateTemp("", "shelf-extract-*")
		if err == nil {
			// Unlinked at once: nothing is left behind whatever ends
			// the process.
			os.Remove(f.Name())
			defer f.Close()
			_, err = io.CopyN(f, src, req.Size)
		}
		if err != nil {
			if src.err != nil {
				return nil, requestError{fmt.Errorf("isolate: reading the file: %w", noEOF(src.err))}
			}
			if _, derr := io.CopyN(io.Discard, r, req.Size-src.n); derr != nil {
				return nil, requestError{fmt.Errorf("isolate: reading the file: %w", noEOF(derr))}
			}
			return nil, shelf.Errorf(shelf.EUNAVAILABLE, "text extraction could not keep a temporary copy of the file: %v", err)
		}
		ra = f
	}
	return extract.Extract(context.Background(), ra, req.Size, req.ContentType, req.Name, lim)
}

// countReader counts what it reads and keeps its read error apart from
// the writer's.
type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	if err == io.EOF && n == 0 {
		c.err = io.ErrUnexpectedEOF
	}
	return n, err
}
