package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const masterKey = "bench-master-key-0123456789abcdef0123"

// client talks to one shelf server with the master key.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string, conns int) *client {
	return &client{base: base, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}}
}

func (c *client) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+masterKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// putFile writes a text file at path (PUT /v1/files/{path}).
func (c *client) putFile(ctx context.Context, path string, body []byte) error {
	esc := strings.Split(path, "/")
	for i := range esc {
		esc[i] = url.PathEscape(esc[i])
	}
	return c.do(ctx, "PUT", "/v1/files/"+strings.Join(esc, "/"), "text/plain; charset=utf-8", body, nil)
}

type indexStatus struct {
	Queued   int             `json:"queued"`
	Running  int             `json:"running"`
	Indexed  int             `json:"indexed"`
	Failed   int             `json:"failed"`
	Embedder json.RawMessage `json:"embedder"`
}

func (c *client) status(ctx context.Context) (indexStatus, error) {
	var st indexStatus
	err := c.do(ctx, "GET", "/v1/index/status", "", nil, &st)
	return st, err
}

// waitIndexed polls /v1/index/status until no file is queued or running
// and at least want files are indexed or failed; it returns the last
// status. It gives up after limit.
func (c *client) waitIndexed(ctx context.Context, want int, poll, limit time.Duration) (indexStatus, error) {
	deadline := time.Now().Add(limit)
	for {
		st, err := c.status(ctx)
		if err != nil {
			return st, err
		}
		if st.Queued+st.Running == 0 && st.Indexed+st.Failed >= want {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("index not done after %s: %+v", limit, st)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(poll):
		}
	}
}

type searchHit struct {
	ItemID string  `json:"item_id"`
	Path   string  `json:"path"`
	Score  float64 `json:"score"`
	Chunk  struct {
		Index int `json:"index"`
	} `json:"chunk"`
}

type searchResponse struct {
	Hits   []searchHit `json:"hits"`
	Mode   string      `json:"mode"`
	TookMS float64     `json:"took_ms"`
	Notice string      `json:"notice"`
}

// search runs POST /v1/search and returns the answer and the time from
// sending the request to having decoded the answer.
func (c *client) search(ctx context.Context, query, mode string, topK int) (searchResponse, time.Duration, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "mode": mode, "top_k": topK})
	var out searchResponse
	t0 := time.Now()
	err := c.do(ctx, "POST", "/v1/search", "application/json", body, &out)
	return out, time.Since(t0), err
}

// concurrently runs do(0) … do(n-1) from workers goroutines; the first
// error stops it.
func concurrently(n, workers int, do func(i int) error) error {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr.Load() != nil {
					return
				}
				if err := do(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}
