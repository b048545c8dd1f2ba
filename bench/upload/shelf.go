package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

// masterKey is the SHELF_MASTER_KEY of the benchmark's servers.
const masterKey = "bench-master-key-0123456789abcdef0123"

var auth = http.Header{"Authorization": {"Bearer " + masterKey}}

type partURL struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	URL    string `json:"upload_url"`
}

type createdUpload struct {
	Upload struct {
		ID string `json:"id"`
	} `json:"upload"`
	Parts []partURL `json:"parts"`
}

// startShelf runs `shelf serve` on dataDir.
func (b *bench) startShelf(ctx context.Context, dataDir string) (*harness.Proc, error) {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir,
		"--max-file-size", strconv.FormatInt(max(b.cfg.size, 5<<30), 10)}
	args = append(args, b.cfg.shelfArgs...)
	return harness.Start(ctx, "shelf", b.cfg.shelf, args, []string{"SHELF_MASTER_KEY=" + masterKey}, harness.ShelfURL)
}

// shelfLayout asks a Shelf server for the part layout of a file of the
// benchmark's size, and aborts that upload.
func (b *bench) shelfLayout(ctx context.Context) ([]part, error) {
	dir := filepath.Join(b.cfg.dir, "layout")
	defer os.RemoveAll(dir)
	p, err := b.startShelf(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	c := newClient(1)
	defer c.CloseIdleConnections()
	var up createdUpload
	if _, err := do(ctx, c, "POST", p.URL+"/v1/uploads", auth, map[string]any{"size": b.cfg.size}, &up, 201); err != nil {
		return nil, err
	}
	if _, err := do(ctx, c, "DELETE", p.URL+"/v1/uploads/"+up.Upload.ID, auth, nil, nil, 204); err != nil {
		return nil, err
	}
	return layoutOf(up.Parts, b.cfg.size)
}

// layoutOf turns the parts of a create-upload answer into byte ranges,
// checking that they cover size bytes in order.
func layoutOf(urls []partURL, size int64) ([]part, error) {
	var parts []part
	var off int64
	for i, u := range urls {
		if u.Number != i+1 || u.Size <= 0 {
			return nil, fmt.Errorf("create upload: part %d has number %d and size %d", i+1, u.Number, u.Size)
		}
		parts = append(parts, part{number: u.Number, off: off, size: u.Size})
		off += u.Size
	}
	if off != size {
		return nil, fmt.Errorf("create upload: parts hold %d bytes, not %d", off, size)
	}
	return parts, nil
}

// runShelf uploads the file to a fresh Shelf server: create, the parts
// over -streams streams, finalize. It checks the item's sha256 and returns
// the path of the stored blob.
func (b *bench) runShelf(ctx context.Context, dataDir string, run int) (shelfResult, string, error) {
	p, err := b.startShelf(ctx, dataDir)
	if err != nil {
		return shelfResult{}, "", err
	}
	defer p.Stop()
	return b.uploadToShelf(ctx, p, p.URL, dataDir, run)
}

// server is a running server as the measures need it: its process, to
// read its CPU time and memory, and its output, for errors.
type server interface {
	PID() int
	Log() string
}

// uploadToShelf uploads the file to the Shelf server at url, whose data
// directory is dataDir.
func (b *bench) uploadToShelf(ctx context.Context, p server, url, dataDir string, run int) (shelfResult, string, error) {
	var r shelfResult
	var err error
	if r.idle, err = idleRSS(p); err != nil {
		return r, "", err
	}
	c := newClient(b.cfg.streams)
	defer c.CloseIdleConnections()

	start := time.Now()
	var up createdUpload
	if _, err := do(ctx, c, "POST", url+"/v1/uploads", auth, map[string]any{"size": b.cfg.size}, &up, 201); err != nil {
		return r, "", err
	}
	r.create = time.Since(start)
	parts, err := layoutOf(up.Parts, b.cfg.size)
	if err != nil {
		return r, "", err
	}
	etags := make([]map[string]any, len(parts))
	err = r.time(p, func() (time.Duration, error) {
		return putParts(ctx, b.cfg.streams, parts, func(pt part) error {
			req, err := http.NewRequestWithContext(ctx, "PUT", up.Parts[pt.number-1].URL, b.body(pt))
			if err != nil {
				return err
			}
			resp, err := send(c, req, 200)
			if err != nil {
				return err
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				return fmt.Errorf("no ETag in the answer")
			}
			etags[pt.number-1] = map[string]any{"number": pt.number, "etag": etag}
			return nil
		})
	})
	if err != nil {
		return r, "", fmt.Errorf("shelf: %w\n%s", err, p.Log())
	}

	fin := time.Now()
	cpu0, err := harness.ReadCPU(p.PID())
	if err != nil {
		return r, "", err
	}
	var item struct {
		Size int64  `json:"size"`
		Hash string `json:"sha256"`
	}
	body := map[string]any{"parent_id": "root", "name": fmt.Sprintf("bench-%d.bin", run), "parts": etags}
	if _, err := do(ctx, c, "POST", url+"/v1/uploads/"+up.Upload.ID+"/finalize", auth, body, &item, 200); err != nil {
		return r, "", fmt.Errorf("shelf: %w\n%s", err, p.Log())
	}
	now := time.Now()
	r.finalize, r.total = now.Sub(fin), now.Sub(start)
	cpu1, err := harness.ReadCPU(p.PID())
	if err != nil {
		return r, "", err
	}
	r.finalizeCPU = cpu1 - cpu0
	if item.Hash != b.sha || item.Size != b.cfg.size {
		return r, "", fmt.Errorf("shelf: finalize answered sha256 %s and size %d, want %s and %d", item.Hash, item.Size, b.sha, b.cfg.size)
	}
	if r.peak, err = peakRSS(p); err != nil {
		return r, "", err
	}
	blob := filepath.Join(dataDir, "blobs", "sha256", b.sha[:2], b.sha[2:4], b.sha)
	if _, err := os.Stat(blob); err != nil {
		return r, "", fmt.Errorf("shelf: stored blob: %w", err)
	}
	return r, blob, nil
}
