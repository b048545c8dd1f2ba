package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

// series is the latencies of one way of fetching pages.
type series struct {
	name string
	ms   []float64
}

func (s *series) add(d time.Duration) { s.ms = append(s.ms, float64(d)/float64(time.Millisecond)) }

type page struct {
	Items []struct {
		Name string `json:"name"`
	} `json:"items"`
	Next string `json:"next_cursor"`
}

// measureHTTP starts the shelf binary on data, after dropping the page
// cache, and times the listings: every page in order twice (the first
// pass starts cold), then random pages.
func measureHTTP(ctx context.Context, c config, data, folderID string, tokens []string, drop *harness.CacheDropper) ([]series, error) {
	drop.Drop()
	p, err := harness.Start(ctx, "shelf", c.shelf, []string{"serve", "--addr", "127.0.0.1:0", "--data", data},
		[]string{"SHELF_MASTER_KEY=" + masterKey}, harness.ShelfURL)
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}
	defer client.CloseIdleConnections()
	base := p.URL + "/v1/items/" + folderID + "/children?limit=" + fmt.Sprint(c.limit)
	get := func(token string) (page, time.Duration, error) {
		u := base
		if token != "" {
			u += "&cursor=" + url.QueryEscape(token)
		}
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return page{}, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+masterKey)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return page{}, 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return page{}, 0, err
		}
		if resp.StatusCode != 200 {
			return page{}, 0, fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
		}
		var pg page
		if err := json.Unmarshal(body, &pg); err != nil {
			return page{}, 0, err
		}
		return pg, d, nil
	}
	// One request on another folder (the root) opens the connection and
	// the server's first database connection, so that the first timed page
	// is not a connection setup.
	if err := warmUp(ctx, client, p.URL); err != nil {
		return nil, err
	}

	var out []series
	for pass, label := range []string{"cold: first pass after start with the page cache dropped", "warm: second pass"} {
		s := series{name: fmt.Sprintf("HTTP, every page in order via next_cursor (%s)", label)}
		token, last, seen := "", "", 0
		for i := 0; ; i++ {
			pg, d, err := get(token)
			if err != nil {
				return nil, err
			}
			s.add(d)
			if i < len(tokens) && token != tokens[i] {
				return nil, fmt.Errorf("page %d: cursor %q over HTTP, %q in-process", i, token, tokens[i])
			}
			for _, it := range pg.Items {
				if it.Name <= last {
					return nil, fmt.Errorf("page %d: %q after %q: not in name order", i, it.Name, last)
				}
				last = it.Name
			}
			seen += len(pg.Items)
			if pg.Next == "" {
				break
			}
			if len(pg.Items) != c.limit {
				return nil, fmt.Errorf("page %d has %d items and a next cursor", i, len(pg.Items))
			}
			token = pg.Next
		}
		if seen != c.children {
			return nil, fmt.Errorf("pass %d listed %d children, want %d", pass+1, seen, c.children)
		}
		out = append(out, s)
	}
	rnd := series{name: fmt.Sprintf("HTTP, %d pages at random offsets (warm)", c.random)}
	r := rand.New(rand.NewPCG(5, 6))
	for range c.random {
		i := r.IntN(len(tokens))
		pg, d, err := get(tokens[i])
		if err != nil {
			return nil, err
		}
		if want := min(c.limit, c.children-i*c.limit); len(pg.Items) != want {
			return nil, fmt.Errorf("random page %d: %d items, want %d", i, len(pg.Items), want)
		}
		rnd.add(d)
	}
	return append(out, rnd), nil
}

// warmUp lists the root's first child.
func warmUp(ctx context.Context, c *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/items/root/children?limit=1", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+masterKey)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// report writes the latency table and the verdicts as Markdown.
func report(w io.Writer, c config, all []series) {
	fmt.Fprintf(w, "## Latency per page of %d (client-measured, request sent → body read)\n\n", c.limit)
	fmt.Fprintf(w, "| pages fetched | n | p50 | p99 | max | p99 < 5 ms | max < 5 ms | slowest (ms @ request #) |\n")
	fmt.Fprintf(w, "| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range all {
		p50, p99 := harness.Percentile(s.ms, 50), harness.Percentile(s.ms, 99)
		mx := harness.Percentile(s.ms, 100)
		lim := float64(target) / float64(time.Millisecond)
		fmt.Fprintf(w, "| %s | %d | %.2f ms | %.2f ms | %.2f ms | %s | %s | %s |\n", s.name, len(s.ms), p50, p99, mx, pass(p99 < lim), pass(mx < lim), slowest(s.ms, 3))
	}
	fmt.Fprintln(w)
}

// slowest lists the n largest times and where in the series they fell, so
// an outlier that is always the first request (a cold path) can be told
// from one that falls anywhere (the machine).
func slowest(ms []float64, n int) string {
	idx := make([]int, len(ms))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ms[idx[a]] > ms[idx[b]] })
	var out []string
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, fmt.Sprintf("%.2f @ %d", ms[i], i))
	}
	return strings.Join(out, ", ")
}

func pass(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}
