package http_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// rawBodyRoutes take a file's bytes, not JSON: any bytes are content.
var rawBodyRoutes = map[string]bool{
	"PUT /v1/files/{path...}":                         true,
	"POST /v1/files/{path...}":                        true,
	"PUT /v1/uploads/{id}/parts/{n}":                  true,
	"PUT /api/libraries/{id}/contents/{path...}":      true,
	"PUT /api/libraries/{id}/files/{fileId}/contents": true,
	"PATCH /api/libraries/{id}/contents/{path...}":    true, // a partial update carries bytes
	"POST /api/v1/space/{spaceId}/storage/{rest...}":  true,
	"POST /v1/space/{spaceId}/storage/{rest...}":      true,
	"PUT /api/v1/space/{spaceId}/storage/{rest...}":   true,
	"PUT /v1/space/{spaceId}/storage/{rest...}":       true,
	"POST /api/files":                                 true, // a multipart form's file
}

// TestInvalidUTF8JSON sends every route that reads a JSON body one whose
// string holds a byte that is not UTF-8. encoding/json would read it as
// U+FFFD and store that; every route must refuse it with a 4xx instead,
// and the routes that name no resource, which read their body first,
// with a 400 that says why.
func TestInvalidUTF8JSON(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	body := []byte(strings.ReplaceAll(`{"name":"bad ? name","query":"q ?","messages":[{"role":"user","content":"?"}],`+
		`"external_id":"x?","content":"c?","drive_item_ids":["?"],"file":"data:,?"}`, "?", "\xff"))
	checked := 0
	for _, p := range e.Server.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		if !ok || method == "GET" || rawBodyRoutes[p] {
			continue
		}
		named := strings.Contains(path, "{")
		var segs []string
		for _, s := range strings.Split(path, "/") {
			if strings.HasPrefix(s, "{") {
				s = "0197a000-0000-7000-8000-000000000000"
			}
			segs = append(segs, s)
		}
		r := e.DoWith(t, method, strings.Join(segs, "/"), master, map[string][]string{"Content-Type": {"application/json"}}, body)
		switch {
		case r.Status < 400 || r.Status >= 500:
			t.Errorf("%s = %d, want a 4xx: %s", p, r.Status, r.Body)
		case !named && (r.Status != 400 || !bytes.Contains(r.Body, []byte("UTF-8"))):
			t.Errorf("%s = %d %s, want 400 naming UTF-8", p, r.Status, r.Body)
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d routes checked", checked)
	}
}
