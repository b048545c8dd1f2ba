package openai

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// fakeServer speaks the OpenAI embeddings wire format. By default it embeds
// each text as a dims-long vector derived from the text, so results can be
// checked; hook, when set, may answer a request itself.
type fakeServer struct {
	t        *testing.T
	dims     int
	requests atomic.Int64
	reverse  bool // return data in reverse order
	base64   bool // return embeddings as base64 strings

	mu     sync.Mutex
	bodies []request
	auth   []string
	hook   func(w http.ResponseWriter, n int64, req request) bool
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.Error(w, `{"error":{"message":"no such route"}}`, http.StatusNotFound)
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, n, req) {
		return
	}
	writeAnswer(w, req.Model, req.Input, f.dims, f.reverse, f.base64)
}

// seen returns copies of the request bodies and Authorization headers so far.
func (f *fakeServer) seen() ([]request, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies), slices.Clone(f.auth)
}

func (f *fakeServer) setHook(h func(w http.ResponseWriter, n int64, req request) bool) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func writeAnswer(w http.ResponseWriter, model string, input []string, dims int, reverse, b64 bool) {
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]item, len(input))
	for i, text := range input {
		v := vectorOf(text, dims)
		var emb any = v
		if b64 {
			raw := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(raw)
		}
		data[i] = item{"embedding", i, emb}
	}
	if reverse {
		slices.Reverse(data)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": model,
		"usage": map[string]int{"prompt_tokens": len(input), "total_tokens": len(input)},
	})
}

// vectorOf is the fake model: a vector that identifies text.
func vectorOf(text string, dims int) []float32 {
	v := make([]float32, dims)
	var h uint32 = 2166136261
	for i := 0; i < len(text); i++ {
		h = (h ^ uint32(text[i])) * 16777619
	}
	for i := range v {
		v[i] = float32(h%1000)/1000 + float32(i)
	}
	return v
}

// recordWaits replaces the embedder's sleeps with a record of them.
func recordWaits(e *Embedder) *[]time.Duration {
	var mu sync.Mutex
	waits := &[]time.Duration{}
	e.wait = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return waits
}

func newServer(t *testing.T, f *fakeServer) string {
	t.Helper()
	f.t = t
	if f.dims == 0 {
		f.dims = 8
	}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	return s.URL + "/v1"
}

func mustNew(t *testing.T, cfg Config) *Embedder {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("text number %d", i)
	}
	return out
}

func checkVectors(t *testing.T, got [][]float32, in []string, dims int) {
	t.Helper()
	if len(got) != len(in) {
		t.Fatalf("got %d vectors for %d texts", len(got), len(in))
	}
	for i, text := range in {
		if !slices.Equal(got[i], vectorOf(text, dims)) {
			t.Fatalf("vector %d is not the one of %q: order not restored", i, text)
		}
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := shelf.ErrorCode(err); got != code {
		t.Fatalf("code = %q, want %q (err = %v)", got, code, err)
	}
}

func TestBatchingAndOrder(t *testing.T) {
	for _, conc := range []int{1, 3} {
		t.Run(fmt.Sprint("concurrency=", conc), func(t *testing.T) {
			f := &fakeServer{reverse: true, dims: 16}
			e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", BatchSize: 10, Concurrency: conc})
			in := texts(95)
			got, err := e.Embed(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			checkVectors(t, got, in, 16)
			if n := f.requests.Load(); n != 10 {
				t.Errorf("%d requests for 95 texts in batches of 10, want 10", n)
			}
			bodies, _ := f.seen()
			for _, b := range bodies {
				if len(b.Input) > 10 || b.EncodingFormat != "float" || b.Model != "m" || b.Dimensions != 0 {
					t.Errorf("request %+v: want at most 10 inputs, float, model m, no dimensions", b)
				}
			}
			if e.Dimensions() != 16 {
				t.Errorf("Dimensions() = %d, want 16 learned", e.Dimensions())
			}
		})
	}
}

func TestBatchChars(t *testing.T) {
	f := &fakeServer{}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", BatchSize: 100, BatchChars: 25, Concurrency: 1})
	in := []string{strings.Repeat("a", 10), strings.Repeat("b", 10), strings.Repeat("c", 10), strings.Repeat("d", 60), "e"}
	got, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, got, in, 8)
	var sizes []int
	bodies, _ := f.seen()
	for _, b := range bodies {
		sizes = append(sizes, len(b.Input))
	}
	if want := []int{2, 1, 1, 1}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v (25 characters per batch, a long text alone)", sizes, want)
	}
}

func TestBase64Answer(t *testing.T) {
	f := &fakeServer{base64: true, reverse: true}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m"})
	in := texts(5)
	got, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, got, in, 8)
}

func TestDimensionsSentAndChecked(t *testing.T) {
	f := &fakeServer{dims: 8}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", Dimensions: 4})
	_, err := e.Embed(context.Background(), texts(3))
	wantCode(t, err, shelf.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "8 dimensions, want 4") {
		t.Errorf("err = %v, want it to name both dimensions", err)
	}
	if bodies, _ := f.seen(); bodies[0].Dimensions != 4 {
		t.Errorf("dimensions sent = %d, want 4", bodies[0].Dimensions)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests: a dimension mismatch must not be retried", n)
	}
}

func TestLearnedDimensionsChecked(t *testing.T) {
	f := &fakeServer{dims: 8}
	url := newServer(t, f)
	e := mustNew(t, Config{BaseURL: url, Model: "m"})
	if _, err := e.Embed(context.Background(), texts(2)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.dims = 12 // the operator swapped the model behind the same name
	f.mu.Unlock()
	_, err := e.Embed(context.Background(), texts(2))
	wantCode(t, err, shelf.EUNAVAILABLE)
}

func TestMixedLengthsAndNaN(t *testing.T) {
	for name, hook := range map[string]func(w http.ResponseWriter, _ int64, req request) bool{
		"mixed": func(w http.ResponseWriter, _ int64, req request) bool {
			fmt.Fprint(w, `{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2,3]}]}`)
			return true
		},
		"nan": func(w http.ResponseWriter, _ int64, req request) bool {
			raw := make([]byte, 8)
			binary.LittleEndian.PutUint32(raw[4:], math.Float32bits(float32(math.NaN())))
			b := base64.StdEncoding.EncodeToString(raw)
			fmt.Fprintf(w, `{"data":[{"index":0,"embedding":%q},{"index":1,"embedding":%q}]}`, b, b)
			return true
		},
		"repeated index": func(w http.ResponseWriter, _ int64, req request) bool {
			fmt.Fprint(w, `{"data":[{"index":0,"embedding":[1,2]},{"index":0,"embedding":[1,2]}]}`)
			return true
		},
		"not json": func(w http.ResponseWriter, _ int64, req request) bool {
			fmt.Fprint(w, `<html>hello</html>`)
			return true
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeServer{hook: hook}
			e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m"})
			_, err := e.Embed(context.Background(), texts(2))
			wantCode(t, err, shelf.EUNAVAILABLE)
		})
	}
}

func TestWrongCount(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, req request) bool {
		writeAnswer(w, req.Model, req.Input[1:], 8, false, false)
		return true
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m"})
	_, err := e.Embed(context.Background(), texts(3))
	wantCode(t, err, shelf.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "2 vectors for 3 texts") {
		t.Errorf("err = %v", err)
	}
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, n int64, _ request) bool {
		if n <= 2 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"rate limited","type":"requests"}}`)
			return true
		}
		return false
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Second})
	waits := recordWaits(e)
	in := texts(4)
	got, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, got, in, 8)
	if want := []time.Duration{3 * time.Second, 3 * time.Second}; !slices.Equal(*waits, want) {
		t.Errorf("waits %v, want %v (Retry-After)", *waits, want)
	}
}

func TestRetryAfterCapped(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, n int64, _ request) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MaxBackoff: 2 * time.Second})
	waits := recordWaits(e)
	if _, err := e.Embed(context.Background(), texts(1)); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{2 * time.Second}; !slices.Equal(*waits, want) {
		t.Errorf("waits %v, want %v", *waits, want)
	}
}

func TestRetry500ThenSuccessRealSleep(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, n int64, _ request) bool {
		if n == 1 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		}
		if n == 2 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return true
		}
		return false
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	in := texts(3)
	got, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, got, in, 8)
	if n := f.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	e := mustNew(t, Config{BaseURL: "http://x", Model: "m", MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			d := e.backoff(attempt, 0)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, _ request) bool {
		w.WriteHeader(http.StatusBadGateway)
		return true
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MaxRetries: 3})
	waits := recordWaits(e)
	_, err := e.Embed(context.Background(), texts(2))
	wantCode(t, err, shelf.EUNAVAILABLE)
	if n := f.requests.Load(); n != 4 {
		t.Errorf("%d requests, want 1 + 3 retries", n)
	}
	if len(*waits) != 3 {
		t.Errorf("%d waits, want 3", len(*waits))
	}
	if !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "4 attempts") {
		t.Errorf("err = %v, want the status and the attempts", err)
	}
}

func TestNoRetries(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, _ request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MaxRetries: -1})
	_, err := e.Embed(context.Background(), texts(2))
	wantCode(t, err, shelf.EUNAVAILABLE)
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func Test400NotRetried(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, _ request) bool {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error"}}`)
		return true
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m"})
	waits := recordWaits(e)
	_, err := e.Embed(context.Background(), texts(2))
	wantCode(t, err, shelf.EINVALID)
	if !strings.Contains(shelf.ErrorMessage(err), "maximum context length") {
		t.Errorf("message %q does not carry the server's", shelf.ErrorMessage(err))
	}
	if n := f.requests.Load(); n != 1 || len(*waits) != 0 {
		t.Errorf("%d requests, %d waits: a 400 must not be retried", n, len(*waits))
	}
}

func TestTEIErrorShape(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, _ request) bool {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		fmt.Fprint(w, `{"error":"batch size 70 > maximum allowed batch size 32","error_type":"Validation"}`)
		return true
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m"})
	_, err := e.Embed(context.Background(), texts(2))
	wantCode(t, err, shelf.EINVALID)
	if !strings.Contains(shelf.ErrorMessage(err), "maximum allowed batch size 32") {
		t.Errorf("message %q", shelf.ErrorMessage(err))
	}
}

func TestAuth(t *testing.T) {
	const key = "sk-test-secret-123"
	f := &fakeServer{}
	url := newServer(t, f)
	e := mustNew(t, Config{BaseURL: url, Model: "m", APIKey: key})
	if _, err := e.Embed(context.Background(), texts(1)); err != nil {
		t.Fatal(err)
	}
	if _, auth := f.seen(); auth[0] != "Bearer "+key {
		t.Errorf("Authorization = %q", auth[0])
	}

	f.setHook(func(w http.ResponseWriter, _ int64, _ request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s"}}`, key)
		return true
	})
	_, err := e.Embed(context.Background(), texts(1))
	wantCode(t, err, shelf.EUNAVAILABLE)
	msg := shelf.ErrorMessage(err)
	if !strings.Contains(msg, "rejected the API key") || strings.Contains(msg, key) {
		t.Errorf("message %q: want a clear key rejection that does not echo the key", msg)
	}

	// No key: no header.
	f.setHook(nil)
	e2 := mustNew(t, Config{BaseURL: url, Model: "m"})
	if _, err := e2.Embed(context.Background(), texts(1)); err != nil {
		t.Fatal(err)
	}
	if _, auth := f.seen(); auth[len(auth)-1] != "" {
		t.Errorf("Authorization = %q without a key", auth[len(auth)-1])
	}
}

func TestContextCancel(t *testing.T) {
	release := make(chan struct{})
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, _ request) bool {
		<-release
		return false
	}}
	url := newServer(t, f)
	t.Cleanup(func() { close(release) }) // before the server closes (cleanups run in reverse)
	e := mustNew(t, Config{BaseURL: url, Model: "m", BatchSize: 1})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.Embed(ctx, texts(10))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Embed returned %v after the cancel", d)
	}
}

func TestContextCancelDuringBackoff(t *testing.T) {
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, _ request) bool {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MaxBackoff: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := e.Embed(ctx, texts(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestRequestTimeoutRetriedThenETIMEOUT(t *testing.T) {
	release := make(chan struct{})
	f := &fakeServer{hook: func(w http.ResponseWriter, _ int64, _ request) bool {
		<-release
		return false
	}}
	url := newServer(t, f)
	t.Cleanup(func() { close(release) })
	e := mustNew(t, Config{BaseURL: url, Model: "m", Timeout: 30 * time.Millisecond, MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	_, err := e.Embed(context.Background(), texts(1))
	wantCode(t, err, shelf.ETIMEOUT)
	if n := f.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestOversizedResponseRefused(t *testing.T) {
	f := &fakeServer{dims: 1000}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MaxResponseBytes: 4096})
	_, err := e.Embed(context.Background(), texts(4))
	wantCode(t, err, shelf.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "over 4096 bytes") {
		t.Errorf("err = %v", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests: an oversized answer must not be retried", n)
	}
}

func TestInputLimits(t *testing.T) {
	f := &fakeServer{}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", MaxTexts: 5})
	_, err := e.Embed(context.Background(), texts(6))
	wantCode(t, err, shelf.EINVALID)
	_, err = e.Embed(context.Background(), []string{"a", ""})
	wantCode(t, err, shelf.EINVALID)
	got, err := e.Embed(context.Background(), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Embed(nil) = %v, %v", got, err)
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("%d requests for refused input", n)
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL + "/v1"
	s.Close() // nothing listens there any more
	e := mustNew(t, Config{BaseURL: url, Model: "m", MaxRetries: 2})
	waits := recordWaits(e)
	_, err := e.Embed(context.Background(), texts(1))
	wantCode(t, err, shelf.EUNAVAILABLE)
	if len(*waits) != 2 {
		t.Errorf("%d waits, want 2 retries", len(*waits))
	}
}

func TestNew(t *testing.T) {
	for _, c := range []Config{
		{BaseURL: "http://x"},
		{Model: "m"},
		{BaseURL: "ftp://x", Model: "m"},
		{BaseURL: "http://x", Model: "m", BatchSize: 5000},
		{BaseURL: "http://x", Model: "m", Timeout: -1},
	} {
		if _, err := New(c); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", c, err)
		}
	}
	e := mustNew(t, Config{BaseURL: "https://api.openai.com/v1/", Model: "text-embedding-3-small", Dimensions: 512})
	if e.endpoint != "https://api.openai.com/v1/embeddings" || e.Model() != "text-embedding-3-small" || e.Dimensions() != 512 {
		t.Errorf("endpoint %q model %q dims %d", e.endpoint, e.Model(), e.Dimensions())
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"2":                             2 * time.Second,
		"0.5":                           500 * time.Millisecond,
		"-1":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:10 GMT": 10 * time.Second,
		"Wed, 31 Dec 2025 00:00:10 GMT": 0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestConcurrentEmbed(t *testing.T) {
	f := &fakeServer{reverse: true}
	e := mustNew(t, Config{BaseURL: newServer(t, f), Model: "m", BatchSize: 3, Concurrency: 2})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			in := texts(10 + g)
			got, err := e.Embed(context.Background(), in)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range in {
				if !slices.Equal(got[i], vectorOf(in[i], 8)) {
					t.Errorf("goroutine %d: vector %d out of order", g, i)
				}
			}
		})
	}
	wg.Wait()
}
