package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver store/sqlite uses

	"github.com/shelfmem/shelf/bench/internal/harness"
)

// ceilingFlag makes this program serve the ceiling handler in dir instead
// of running the benchmark; the benchmark starts itself so, as a child
// process measured like the others.
const ceilingFlag = "-serve-ceiling"

// serveCeiling serves the least a durable parallel upload must do:
// POST /files/{name}?size=N creates the file at its full size (ftruncate,
// as Shelf makes its staging file) and fsyncs it and the directory;
// PUT /files/{name}?off=N writes the body at that offset with a 256 KiB
// buffer (Shelf's) and fsyncs the file. Nothing is hashed or recorded.
//
// The variants (-decompose) add one piece of Shelf's work at a time, to
// tell what the gap between the ceiling and Shelf is made of; they are not
// the ceiling. mode is a +-joined set of:
//
//	hash    sha256 of each part while it streams (Shelf's ETag)
//	db      one SQLite transaction per part, WAL and synchronous=FULL on
//	        the same disk (Shelf records each part in its store)
//	falloc  create the file with fallocate instead of a sparse ftruncate
//	crc     CRC-32C of each part instead of sha256 (a cheaper ETag)
//	nosync  no fsync per part (durability left to a later single fsync)
func serveCeiling(dir, mode string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var v variant
	for m := range strings.SplitSeq(mode, "+") {
		switch m {
		case "", "plain":
		case "hash":
			v.hash = true
		case "db":
			v.db = true
		case "falloc":
			v.falloc = true
		case "crc":
			v.crc = true
		case "nosync":
			v.nosync = true
		default:
			return fmt.Errorf("unknown ceiling variant %q", m)
		}
	}
	var db *partLog
	if v.db {
		var err error
		if db, err = openPartLog(filepath.Join(dir, "parts.db")); err != nil {
			return err
		}
		defer db.Close()
	}
	bufs := sync.Pool{New: func() any {
		b := make([]byte, 256<<10)
		return &b
	}}
	fail := func(w http.ResponseWriter, err error) { http.Error(w, err.Error(), http.StatusBadRequest) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		size, err := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
		if err != nil {
			fail(w, err)
			return
		}
		f, err := os.OpenFile(filepath.Join(dir, filepath.Base(r.PathValue("name"))), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			fail(w, err)
			return
		}
		if v.falloc {
			err = syscall.Fallocate(int(f.Fd()), 0, 0, size)
		} else {
			err = f.Truncate(size)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = syncDir(dir)
		}
		if err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("PUT /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		off, err := strconv.ParseInt(r.URL.Query().Get("off"), 10, 64)
		if err != nil || r.ContentLength < 0 {
			fail(w, fmt.Errorf("want ?off= and a Content-Length"))
			return
		}
		f, err := os.OpenFile(filepath.Join(dir, filepath.Base(r.PathValue("name"))), os.O_WRONLY, 0)
		if err != nil {
			fail(w, err)
			return
		}
		defer f.Close()
		buf := bufs.Get().(*[]byte)
		defer bufs.Put(buf)
		var dst io.Writer = io.NewOffsetWriter(f, off)
		var h hash.Hash = sha256.New()
		if v.crc {
			h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
		}
		if v.hash || v.crc {
			dst = io.MultiWriter(h, dst)
		}
		n, err := io.CopyBuffer(dst, io.LimitReader(r.Body, r.ContentLength), *buf)
		if err == nil && n != r.ContentLength {
			err = fmt.Errorf("body ended after %d of %d bytes", n, r.ContentLength)
		}
		if err == nil && !v.nosync {
			err = f.Sync()
		}
		if err == nil && db != nil {
			err = db.record(r.Context(), r.PathValue("name"), off, hex.EncodeToString(h.Sum(nil)))
		}
		if err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type variant struct{ hash, db, falloc, crc, nosync bool }

// partLog is the db variant's store: a SQLite database configured as
// store/sqlite configures Shelf's (WAL, synchronous=FULL, one writer), with
// one row per part.
type partLog struct{ *sql.DB }

func openPartLog(path string) (*partLog, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS parts (file TEXT NOT NULL, off INTEGER NOT NULL, etag TEXT NOT NULL,
		received_at INTEGER NOT NULL, PRIMARY KEY (file, off)) STRICT, WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, err
	}
	return &partLog{db}, nil
}

// record writes a part's row in its own transaction.
func (l *partLog) record(ctx context.Context, file string, off int64, etag string) error {
	tx, err := l.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?)", file, off, etag, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// runCeiling starts the ceiling handler as a child process in dir and
// PUTs the file's parts over streams connections.
func (b *bench) runCeiling(ctx context.Context, dir string, streams int) (phase, error) {
	return b.runCeilingVariant(ctx, dir, streams, "plain")
}

// runCeilingVariant runs the ceiling handler with a -decompose variant.
func (b *bench) runCeilingVariant(ctx context.Context, dir string, streams int, mode string) (phase, error) {
	var ph phase
	self, err := os.Executable()
	if err != nil {
		return ph, err
	}
	p, err := harness.Start(ctx, "ceiling", self, []string{ceilingFlag, dir, mode}, nil, harness.ShelfURL)
	if err != nil {
		return ph, err
	}
	defer os.RemoveAll(dir)
	defer p.Stop()
	if ph.idle, err = idleRSS(p); err != nil {
		return ph, err
	}
	client := newClient(streams)
	defer client.CloseIdleConnections()
	file := p.URL + "/files/upload.bin"
	if _, err := do(ctx, client, "POST", file+"?size="+strconv.FormatInt(b.cfg.size, 10), nil, nil, nil, 201); err != nil {
		return ph, err
	}
	err = ph.time(p, func() (time.Duration, error) {
		return putParts(ctx, streams, b.parts, func(pt part) error {
			req, err := http.NewRequestWithContext(ctx, "PUT", file+"?off="+strconv.FormatInt(pt.off, 10), b.body(pt))
			if err != nil {
				return err
			}
			_, err = send(client, req, 200)
			return err
		})
	})
	if err != nil {
		return ph, fmt.Errorf("ceiling: %w\n%s", err, p.Log())
	}
	if ph.peak, err = peakRSS(p); err != nil {
		return ph, err
	}
	fi, err := os.Stat(filepath.Join(dir, "upload.bin"))
	if err != nil || fi.Size() != b.cfg.size {
		return ph, fmt.Errorf("ceiling: file not written whole (%v)", err)
	}
	return ph, nil
}
