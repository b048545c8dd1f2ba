package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// Defaults for the zero values of Config.
const (
	DefaultBatchSize        = 64
	DefaultBatchChars       = 256 << 10 // characters (runes) of text per request
	DefaultMaxTexts         = 10_000
	DefaultMaxRetries       = 4
	DefaultTimeout          = 60 * time.Second
	DefaultMinBackoff       = 500 * time.Millisecond
	DefaultMaxBackoff       = 30 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultConcurrency      = 2

	// maxBatchSize is the most inputs the OpenAI API takes in one request.
	maxBatchSize = 2048
	// maxErrorMessage bounds the part of a server's error shown to a client.
	maxErrorMessage = 300
)

// Config configures an Embedder. Model and BaseURL are required; every
// other zero value means the default.
type Config struct {
	// BaseURL is the API root the path /embeddings is appended to, e.g.
	// https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama).
	BaseURL string
	// APIKey, when set, is sent as "Authorization: Bearer <APIKey>".
	APIKey string
	// Model is the model name sent with every request.
	Model string
	// Dimensions, when > 0, is sent as "dimensions" (models that can shorten
	// their vectors, such as text-embedding-3-*) and every answer must have
	// it. When 0, it is learned from the first answer.
	Dimensions int

	// BatchSize is the most texts per request (default 64, at most 2048).
	BatchSize int
	// BatchChars is the most characters per request, summed over its texts
	// (default 256 Ki). A single text longer than that goes alone; the
	// server decides whether it fits the model.
	BatchChars int
	// MaxTexts is the most texts one Embed call takes (default 10,000);
	// more gives EINVALID.
	MaxTexts int
	// Concurrency is the most requests in flight per Embed call (default 2).
	Concurrency int

	// MaxRetries is how often a request is retried after a 408, 429 or 5xx
	// answer or a network error (default 4; negative: never).
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait before a retry (defaults
	// 500 ms and 30 s): MinBackoff doubled per attempt, with jitter, capped
	// at MaxBackoff. A Retry-After the server sends is honoured up to
	// MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds each request, from sending to the last byte of the
	// answer (default 60 s).
	Timeout time.Duration
	// MaxResponseBytes bounds an answer's body (default 64 MiB); a longer
	// one is refused, not retried.
	MaxResponseBytes int64

	// HTTPClient sends the requests; nil means a client with dial, TLS and
	// header timeouts. It is not the SSRF-checked fetcher (see the package
	// documentation).
	HTTPClient *http.Client
}

// Embedder is a shelf.Embedder for an OpenAI-compatible endpoint. It is
// safe for concurrent use.
type Embedder struct {
	cfg      Config
	endpoint string
	client   *http.Client
	dims     atomic.Int64 // configured or learned; 0 until known

	// wait sleeps d or until ctx ends; tests replace it to see the waits.
	wait func(ctx context.Context, d time.Duration) error
}

var _ shelf.Embedder = (*Embedder)(nil)

// New returns an Embedder for cfg. EINVALID if cfg is incomplete or its
// BaseURL is not an http(s) URL.
func New(cfg Config) (*Embedder, error) {
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, shelf.Errorf(shelf.EINVALID, "embedder: a model is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, shelf.Errorf(shelf.EINVALID, "embedder: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Dimensions < 0 || cfg.BatchSize < 0 || cfg.BatchChars < 0 || cfg.MaxTexts < 0 ||
		cfg.Concurrency < 0 || cfg.Timeout < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxResponseBytes < 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "embedder: negative limits are not allowed")
	}
	if cfg.BatchSize > maxBatchSize {
		return nil, shelf.Errorf(shelf.EINVALID, "embedder: batch size %d is over %d", cfg.BatchSize, maxBatchSize)
	}
	setDefaults(&cfg)
	e := &Embedder{cfg: cfg, endpoint: u.String() + "/embeddings", client: cfg.HTTPClient, wait: sleep}
	if e.client == nil {
		e.client = defaultClient(cfg.Concurrency)
	}
	e.dims.Store(int64(cfg.Dimensions))
	return e, nil
}

func setDefaults(c *Config) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.BatchSize, DefaultBatchSize)
	def(&c.BatchChars, DefaultBatchChars)
	def(&c.MaxTexts, DefaultMaxTexts)
	def(&c.Concurrency, DefaultConcurrency)
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
}

// defaultClient has timeouts on every step but the body, which the
// per-request context bounds.
func defaultClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute, // a large batch on a CPU model is slow
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   conns + 1,
		ForceAttemptHTTP2:     true,
	}}
}

// Model returns the configured model name.
func (e *Embedder) Model() string { return e.cfg.Model }

// Dimensions returns the vector length: configured, learned from the first
// answer, or 0 until then.
func (e *Embedder) Dimensions() int { return int(e.dims.Load()) }

// Embed returns one vector per text, in order. See shelf.Embedder.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	if len(texts) > e.cfg.MaxTexts {
		return nil, shelf.Errorf(shelf.EINVALID, "embedder: %d texts in one call, at most %d", len(texts), e.cfg.MaxTexts)
	}
	for i, t := range texts {
		if t == "" {
			return nil, shelf.Errorf(shelf.EINVALID, "embedder: text %d is empty", i)
		}
	}
	out := make([][]float32, len(texts))
	batches := split(texts, e.cfg.BatchSize, e.cfg.BatchChars)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		next     = make(chan batch)
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	for range min(e.cfg.Concurrency, len(batches)) {
		wg.Go(func() {
			for b := range next {
				vs, err := e.embedBatch(ctx, texts[b.lo:b.hi])
				if err != nil {
					fail(err)
					continue
				}
				copy(out[b.lo:b.hi], vs)
			}
		})
	}
feed:
	for _, b := range batches {
		select {
		case next <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil { // the caller's context ended
		return nil, err
	}
	return out, nil
}

// batch is the half-open range [lo, hi) of the texts one request carries.
type batch struct{ lo, hi int }

// split cuts texts into consecutive batches of at most size texts and
// maxChars characters; a text longer than maxChars is a batch of its own.
func split(texts []string, size, maxChars int) []batch {
	var bs []batch
	lo, chars := 0, 0
	for i, t := range texts {
		n := utf8.RuneCountInString(t)
		if i > lo && (i-lo >= size || chars+n > maxChars) {
			bs = append(bs, batch{lo, i})
			lo, chars = i, 0
		}
		chars += n
	}
	return append(bs, batch{lo, len(texts)})
}

// embedBatch sends one request, retrying as configured, and checks the
// answer.
func (e *Embedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	body, err := json.Marshal(request{
		Model:          e.cfg.Model,
		Input:          texts,
		EncodingFormat: "float",
		Dimensions:     e.cfg.Dimensions,
	})
	if err != nil {
		return nil, shelf.Wrap(err, "embedder: encode request")
	}
	for attempt := 0; ; attempt++ {
		vs, retryAfter, err := e.post(ctx, body, len(texts))
		if err == nil {
			return vs, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var re *retryable
		if !errors.As(err, &re) {
			return nil, err
		}
		if attempt >= e.cfg.MaxRetries {
			return nil, re.final(attempt + 1)
		}
		if err := e.wait(ctx, e.backoff(attempt, retryAfter)); err != nil {
			return nil, err
		}
	}
}

// backoff is the wait before retry number attempt+1: the server's
// Retry-After if it gave one, else MinBackoff·2^attempt with "equal
// jitter" (half fixed, half random), both capped at MaxBackoff.
func (e *Embedder) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, e.cfg.MaxBackoff)
	}
	d := e.cfg.MinBackoff << min(attempt, 20)
	if d <= 0 || d > e.cfg.MaxBackoff {
		d = e.cfg.MaxBackoff
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable is a failure worth another attempt.
type retryable struct {
	status  int // 0 for a network error
	timeout bool
	msg     string
	err     error
}

func (r *retryable) Error() string { return r.msg }

// final is the error returned when the attempts are used up.
func (r *retryable) final(attempts int) error {
	code := shelf.EUNAVAILABLE
	if r.timeout {
		code = shelf.ETIMEOUT
	}
	return &shelf.Error{Code: code, Message: fmt.Sprintf("embedder: %s (after %d attempts)", r.msg, attempts), Err: r.err}
}

// post sends one request. A failure worth retrying is a *retryable, with
// the server's Retry-After when it sent one.
func (e *Embedder) post(ctx context.Context, body []byte, n int) ([][]float32, time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, shelf.Wrap(err, "embedder: build request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if e.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.cfg.APIKey)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, 0, &retryable{timeout: rctx.Err() != nil, msg: "embedding service unreachable", err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, e.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, 0, &retryable{timeout: rctx.Err() != nil, msg: "embedding service answer cut short", err: err}
	}
	if int64(len(raw)) > e.cfg.MaxResponseBytes {
		return nil, 0, shelf.Errorf(shelf.EUNAVAILABLE, "embedder: answer over %d bytes refused", e.cfg.MaxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, retryAfter(resp.Header.Get("Retry-After"), time.Now()), statusError(resp.StatusCode, raw)
	}
	vs, err := decode(raw, n)
	if err != nil {
		return nil, 0, err
	}
	if err := e.check(vs); err != nil {
		return nil, 0, err
	}
	return vs, 0, nil
}

// statusError classifies a non-200 answer.
func statusError(status int, body []byte) error {
	msg := serverMessage(body)
	text := fmt.Sprintf("embedding service answered %d %s", status, http.StatusText(status))
	cause := fmt.Errorf("%d: %s", status, msg)
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return &retryable{status: status, msg: text, err: cause}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// The server's text may echo part of the key: logged, not shown.
		return &shelf.Error{Code: shelf.EUNAVAILABLE,
			Message: fmt.Sprintf("embedder rejected the API key (%d %s)", status, http.StatusText(status)), Err: cause}
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity:
		return &shelf.Error{Code: shelf.EINVALID, Message: withDetail("embedder refused the input", msg), Err: cause}
	default: // 404 (wrong URL or model) and the rest: the configuration
		return &shelf.Error{Code: shelf.EUNAVAILABLE, Message: withDetail(text, msg), Err: cause}
	}
}

func withDetail(s, detail string) string {
	if detail == "" {
		return s
	}
	return s + ": " + detail
}

// serverMessage digs the message out of an error body in the shapes the
// compatible servers use: {"error":{"message":…}} (OpenAI, vLLM, Ollama),
// {"error":"…"} (TEI, llama.cpp) or {"message":…}; else the body's start.
func serverMessage(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &v) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(v.Error, &inner) == nil && inner.Message != "":
			msg = inner.Message
		case json.Unmarshal(v.Error, &msg) == nil && msg != "":
		default:
			msg = v.Message
		}
	} else {
		msg = string(body)
	}
	return truncate(strings.Join(strings.Fields(msg), " "), maxErrorMessage)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// retryAfter reads a Retry-After header: seconds or an HTTP date. 0 if
// absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(h, 64); err == nil {
		if s <= 0 || s > 86400 || math.IsNaN(s) {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// check validates the vectors of one answer against the embedder's
// dimension, learning it from the first answer if it was not configured.
func (e *Embedder) check(vs [][]float32) error {
	d := len(vs[0])
	if d == 0 {
		return shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned an empty vector")
	}
	for i, v := range vs {
		if len(v) != d {
			return shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned vectors of different lengths (%d and %d)", d, len(v))
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned NaN or Inf in vector %d", i)
			}
		}
	}
	if e.dims.CompareAndSwap(0, int64(d)) {
		return nil
	}
	if want := e.dims.Load(); int64(d) != want {
		return shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned %d dimensions, want %d (model %q)", d, want, e.cfg.Model)
	}
	return nil
}

// request is the JSON body of POST /embeddings.
type request struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

// response is the part of the answer Embed reads.
type response struct {
	Data []struct {
		Index     *int   `json:"index"`
		Embedding vector `json:"embedding"`
	} `json:"data"`
}

// vector is an embedding as a JSON array of numbers or, with
// encoding_format "base64", a string of little-endian float32s.
type vector []float32

func (v *vector) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return json.Unmarshal(b, (*[]float32)(v))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	if len(raw)%4 != 0 {
		return errors.New("base64 embedding is not a whole number of float32s")
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	*v = out
	return nil
}

// decode parses an answer to a request of n texts and orders its vectors
// by index. Either every item has an index, forming a permutation of
// 0..n-1, or none has and the order is taken as given.
func decode(raw []byte, n int) ([][]float32, error) {
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, &shelf.Error{Code: shelf.EUNAVAILABLE, Message: "embedder returned an answer that is not an embeddings list", Err: err}
	}
	if len(r.Data) != n {
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned %d vectors for %d texts", len(r.Data), n)
	}
	out := make([][]float32, n)
	withIndex := 0
	for _, d := range r.Data {
		if d.Index != nil {
			withIndex++
		}
	}
	switch withIndex {
	case 0:
		for i, d := range r.Data {
			out[i] = d.Embedding
		}
	case n:
		for _, d := range r.Data {
			i := *d.Index
			if i < 0 || i >= n || out[i] != nil {
				return nil, shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned a bad or repeated index %d", i)
			}
			out[i] = d.Embedding
			if out[i] == nil {
				out[i] = []float32{}
			}
		}
	default:
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned an index on some vectors only")
	}
	if slices.ContainsFunc(out, func(v []float32) bool { return len(v) == 0 }) {
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "embedder returned an empty vector")
	}
	return out, nil
}
