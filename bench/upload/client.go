package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// newClient returns an HTTP client for one server run: fresh connections,
// enough idle ones for the streams, and large write buffers so the client
// spends as little CPU as it can on the shared cores.
func newClient(streams int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: streams + 2,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      64 << 10,
	}}
}

// body returns the bytes of a part as a request body.
func (b *bench) body(pt part) io.Reader {
	return bytes.NewReader(b.payload[pt.off : pt.off+pt.size])
}

// putParts sends every part over streams parallel workers, each taking the
// next unsent part, and returns the wall time from the first request to the
// last answer. The first error stops the other workers.
func putParts(ctx context.Context, streams int, parts []part, put func(part) error) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan part)
	go func() {
		defer close(next)
		for _, pt := range parts {
			select {
			case next <- pt:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	start := time.Now()
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pt := range next {
				if err := put(pt); err != nil {
					once.Do(func() { first = fmt.Errorf("part %d: %w", pt.number, err); cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), first
}

// send does req and returns the response, with its body read and closed,
// or an error if the status is not want.
func send(c *http.Client, req *http.Request, want int) (*http.Response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(msg))
	}
	resp.Body = io.NopCloser(bytes.NewReader(msg))
	return resp, nil
}

// do sends a request with a JSON body (nil: none) and headers, expects
// status want, and decodes the JSON answer into out (nil: ignored).
func do(ctx context.Context, c *http.Client, method, url string, hdr http.Header, in, out any, want int) (*http.Response, error) {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := send(c, req, want)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, req.URL.Path, err)
		}
	}
	return resp, nil
}
