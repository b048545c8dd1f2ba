package http_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// TestSignedURLsDieWithTheirKey: a part URL, a ChatBotKit two-stage upload
// URL and a download link work only while the key that issued them does.
// Revoked or expired, the key's URLs answer 403 although they have not
// expired themselves; another key's URLs, made at the same time, work.
func TestSignedURLsDieWithTheirKey(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := shelftest.New(t, library.Config{Now: clock})
	// The default workspace, where the master key acts too.
	_, admin, err := e.Service.CreateKey(e.Context(t), "", "admin", []shelf.Scope{shelf.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}

	newKey := func(name string, expires time.Time) (id, token string) {
		body := map[string]any{"name": name, "scopes": []string{"write"}}
		if !expires.IsZero() {
			body["expires_at"] = expires.Format(time.RFC3339)
		}
		r := e.Do(t, "POST", "/v1/keys", admin, body)
		if r.Status != 201 {
			t.Fatalf("create key %s: %d %s", name, r.Status, r.Body)
		}
		var k struct{ ID, Key string }
		r.JSON(t, &k)
		return k.ID, k.Key
	}
	var space struct{ ID string }
	if r := e.Do(t, "POST", "/api/v1/space/create", admin, map[string]any{"name": "s"}); r.Status != 200 {
		t.Fatalf("create space: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &space)
	}
	storage := "/api/v1/space/" + space.ID + "/storage"
	if r := e.DoWith(t, "POST", storage+"/upload/doc.txt", admin, http.Header{"Content-Type": {"text/plain"}}, []byte("hello")); r.Status != 200 {
		t.Fatalf("upload doc.txt: %d %s", r.Status, r.Body)
	}

	// urls are the three kinds of URL a key can be handed.
	type urls struct{ part, twoStage, download string }
	issue := func(token, name string) urls {
		var u urls
		r := e.Do(t, "POST", "/v1/uploads", token, map[string]any{"size": 5})
		var up struct {
			Parts []struct {
				URL string `json:"upload_url"`
			} `json:"parts"`
		}
		if r.Status != 201 {
			t.Fatalf("%s: create upload: %d %s", name, r.Status, r.Body)
		}
		r.JSON(t, &up)
		u.part = up.Parts[0].URL
		r = e.Do(t, "POST", storage+"/upload/"+name+".txt", token, map[string]any{"file": map[string]any{"type": "text/plain", "size": 5}})
		var two struct {
			UploadRequest struct{ URL string } `json:"uploadRequest"`
		}
		if r.Status != 200 {
			t.Fatalf("%s: two-stage upload: %d %s", name, r.Status, r.Body)
		}
		r.JSON(t, &two)
		u.twoStage = two.UploadRequest.URL
		r = e.DoWith(t, "GET", storage+"/download/doc.txt", token, http.Header{"Accept": {"application/json"}}, nil)
		var link struct{ URL string }
		if r.Status != 200 {
			t.Fatalf("%s: download link: %d %s", name, r.Status, r.Body)
		}
		r.JSON(t, &link)
		u.download = link.URL
		for _, s := range []string{u.part, u.twoStage, u.download} {
			if !strings.Contains(s, "sig=") {
				t.Fatalf("%s: not a signed URL: %s", name, s)
			}
		}
		return u
	}
	// use sends each URL with no key and returns the statuses.
	use := func(u urls) [3]int {
		put := func(url string) int {
			req, _ := http.NewRequest("PUT", url, bytes.NewReader([]byte("12345")))
			req.Header.Set("Content-Type", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		return [3]int{put(u.part), put(u.twoStage), e.Do(t, "GET", u.download, "", nil).Status}
	}

	_, keptTok := newKey("kept", time.Time{})
	doomedID, doomedTok := newKey("doomed", time.Time{})
	_, mortalTok := newKey("mortal", now.Add(10*time.Minute))
	kept, doomed, mortal := issue(keptTok, "kept"), issue(doomedTok, "doomed"), issue(mortalTok, "mortal")
	master := issue(shelftest.MasterKey, "master")

	if r := e.Do(t, "DELETE", "/v1/keys/"+doomedID, admin, nil); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	mu.Lock()
	now = now.Add(11 * time.Minute) // mortal has expired; no URL has
	mu.Unlock()

	for _, c := range []struct {
		name string
		u    urls
		want [3]int
	}{
		{"revoked key", doomed, [3]int{403, 403, 403}},
		{"expired key", mortal, [3]int{403, 403, 403}},
		{"live key", kept, [3]int{200, 200, 200}},
		{"master key", master, [3]int{200, 200, 200}},
	} {
		if got := use(c.u); got != c.want {
			t.Errorf("%s: part PUT, two-stage PUT, download GET = %v, want %v", c.name, got, c.want)
		}
	}
	// Nothing the dead keys' URLs named was written.
	for _, name := range []string{"doomed", "mortal"} {
		if r := e.Do(t, "GET", storage+"/download/"+name+".txt", admin, nil); r.Status != 404 {
			t.Errorf("%s.txt after its URL was refused: %d %s", name, r.Status, r.Body)
		}
	}
}
