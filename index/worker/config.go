package worker

import (
	"context"
	"io"
	"time"

	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/index/extract"
)

// Config tunes the index workers. Zero values take the defaults
// (WithDefaults).
type Config struct {
	// Workers is how many jobs run at once. Default 2; negative runs no
	// workers (jobs are still queued, for another process to run).
	Workers int
	// Batch is how many jobs a worker claims at once; their results are
	// committed together, so many small files cost one commit (and one
	// full-text segment, which later merges cost). Default 128.
	Batch int
	// BatchChunks and BatchTime bound one commit: a worker stops starting
	// the jobs of its claim once those it ran gave BatchChunks chunks or
	// BatchTime passed, commits their results, and hands the rest back to
	// the queue in the same transaction. Defaults 2,000 chunks and 1 s.
	BatchChunks int
	BatchTime   time.Duration
	// Lease is how long a claim holds. A job still running at its lease's
	// end is given up by its worker and claimed again; a worker that died
	// leaves its jobs to be claimed when the lease ends. Extraction's time
	// limit is cut to 80% of it. Default 2 minutes.
	Lease time.Duration
	// MaxAttempts is how many times a job runs before it ends failed.
	// An attempt counts when the job is claimed, so a run cut short by a
	// crash counts too: a job claimed past the maximum fails at once, with
	// a reason naming how many times the indexer stopped while reading
	// the file. Errors that cannot pass by themselves (an unsupported
	// type, a malformed or oversized file) fail at once. Default 5.
	MaxAttempts int
	// Backoff is the delay before the first retry; it doubles with each
	// attempt up to 10 minutes. Default 5 seconds.
	Backoff time.Duration
	// Poll is how often an idle worker looks for work it was not told
	// about. Default 1 second.
	Poll time.Duration
	// Extract caps text extraction (input size, output size, entries,
	// depth, time).
	Extract extract.Limits
	// Extractor reads files' text. Nil: extract.Extract in this process,
	// with the file in memory up to MemoryMax, else in a temporary file.
	// The server sets one that runs extraction in child processes
	// (index/isolate).
	Extractor Extractor
	// Chunk sets the chunk size and overlap.
	Chunk chunk.Options
	// MemoryMax is the largest content read into memory for extraction;
	// larger content is spooled to a temporary file. Default 16 MiB.
	MemoryMax int64
	// IdleGap is how long after the last client write a worker waits
	// before it claims jobs: indexing gives way to the writes clients wait
	// on, so it never slows them. Default 50 ms; negative: never wait.
	IdleGap time.Duration
	// MaxDefer bounds how long a worker gives way under a steady stream
	// of writes before it runs one batch anyway, so indexing never stops.
	// Default 2 s.
	MaxDefer time.Duration
}

// WithDefaults returns c with its zero values set to the defaults.
func (c Config) WithDefaults() Config {
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Batch <= 0 {
		c.Batch = 128
	}
	if c.BatchChunks <= 0 {
		c.BatchChunks = 2000
	}
	if c.BatchTime <= 0 {
		c.BatchTime = time.Second
	}
	c.Extract = c.Extract.WithDefaults()
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	// A job gives up at 90% of its lease; extraction must end before.
	c.Extract.Timeout = min(c.Extract.Timeout, c.Lease*8/10)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 5 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.MemoryMax <= 0 {
		c.MemoryMax = 16 << 20
	}
	if c.Extractor == nil {
		c.Extractor = inProcess{memoryMax: c.MemoryMax}
	}
	if c.IdleGap == 0 {
		c.IdleGap = 50 * time.Millisecond
	}
	if c.MaxDefer <= 0 {
		c.MaxDefer = 2 * time.Second
	}
	return c
}

// maxBackoff caps the delay between attempts.
const maxBackoff = 10 * time.Minute

// backoff returns the delay after the attempt-th failed attempt.
func (c *Config) backoff(attempt int) time.Duration {
	d := c.Backoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// Extractor reads the text of a file: size bytes, which open reads from
// the start (it may be called more than once). Errors carry the codes of
// extract.Extract; an error it cannot classify is retried later.
type Extractor interface {
	Extract(ctx context.Context, open func() (io.ReadCloser, error), size int64, contentType, name string,
		lim extract.Limits) (*extract.Doc, error)
}
