package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

// tusURL reads the address from tusd's start-up log line.
func tusURL(line string) (string, bool) {
	_, u, ok := strings.Cut(line, "You can now upload files to: ")
	return strings.TrimSpace(u), ok
}

var tusHeader = http.Header{"Tus-Resumable": {"1.0.0"}}

// runTusd uploads the file to a fresh tusd (file store in dir) the way a
// tus client uploads in parallel: one partial upload per stream, each
// holding a contiguous share of the file and PATCHed in chunks of Shelf's
// part size, then one final upload that concatenates them. The time of the
// parts phase includes creating the partial uploads; the concatenation is
// timed on its own. The result is checked against the payload's sha256
// afterwards, untimed.
func (b *bench) runTusd(ctx context.Context, dir string) (tusdResult, error) {
	var r tusdResult
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	args := []string{"-host", "127.0.0.1", "-port", "0", "-upload-dir", dir, "-verbose=false"}
	p, err := harness.Start(ctx, "tusd", b.cfg.tusd, args, nil, tusURL)
	if err != nil {
		return r, err
	}
	defer p.Stop()
	if r.idle, err = idleRSS(p); err != nil {
		return r, err
	}
	base, err := url.Parse(p.URL)
	if err != nil {
		return r, err
	}
	c := newClient(b.cfg.streams)
	defer c.CloseIdleConnections()

	n := int64(b.cfg.streams)
	share := (b.cfg.size + n - 1) / n
	chunk := b.parts[0].size
	paths := make([]string, b.cfg.streams)
	errs := make([]error, b.cfg.streams)
	start := time.Now()
	err = r.time(p, func() (time.Duration, error) {
		var wg sync.WaitGroup
		for i := range b.cfg.streams {
			off := int64(i) * share
			end := min(off+share, b.cfg.size)
			wg.Add(1)
			go func() {
				defer wg.Done()
				paths[i], errs[i] = b.tusPartial(ctx, c, base, off, end, chunk)
			}()
		}
		wg.Wait()
		return time.Since(start), nil
	})
	if err != nil {
		return r, err
	}
	for _, err := range errs {
		if err != nil {
			return r, fmt.Errorf("tusd: %w\n%s", err, p.Log())
		}
	}

	cat := time.Now()
	hdr := tusHeader.Clone()
	hdr.Set("Upload-Concat", "final;"+strings.Join(paths, " "))
	resp, err := do(ctx, c, "POST", base.String(), hdr, nil, nil, 201)
	if err != nil {
		return r, fmt.Errorf("tusd: concatenate: %w\n%s", err, p.Log())
	}
	now := time.Now()
	r.concat, r.total = now.Sub(cat), now.Sub(start)
	if r.peak, err = peakRSS(p); err != nil {
		return r, err
	}

	loc, err := base.Parse(resp.Header.Get("Location"))
	if err != nil {
		return r, fmt.Errorf("tusd: final upload Location: %w", err)
	}
	if _, err := sumFile(filepath.Join(dir, path.Base(loc.Path)), b.sha); err != nil {
		return r, fmt.Errorf("tusd: concatenated file: %w", err)
	}
	return r, nil
}

// tusPartial creates a partial upload for bytes [off, end) and PATCHes
// them in chunks; it returns the upload's path.
func (b *bench) tusPartial(ctx context.Context, c *http.Client, base *url.URL, off, end, chunk int64) (string, error) {
	hdr := tusHeader.Clone()
	hdr.Set("Upload-Length", strconv.FormatInt(end-off, 10))
	hdr.Set("Upload-Concat", "partial")
	resp, err := do(ctx, c, "POST", base.String(), hdr, nil, nil, 201)
	if err != nil {
		return "", err
	}
	loc, err := base.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", fmt.Errorf("partial upload Location: %w", err)
	}
	for at := off; at < end; at += chunk {
		n := min(chunk, end-at)
		req, err := http.NewRequestWithContext(ctx, "PATCH", loc.String(), b.body(part{off: at, size: n}))
		if err != nil {
			return "", err
		}
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", strconv.FormatInt(at-off, 10))
		resp, err := send(c, req, 204)
		if err != nil {
			return "", err
		}
		if got := resp.Header.Get("Upload-Offset"); got != strconv.FormatInt(at-off+n, 10) {
			return "", fmt.Errorf("PATCH at %d: Upload-Offset %q, want %d", at-off, got, at-off+n)
		}
	}
	return loc.Path, nil
}
