package memorylake_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/http/memorylake"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

const mib = 1 << 20

// envelope is MemoryLake's answer, success or failure.
type envelope struct {
	Success   *bool           `json:"success"`
	Message   string          `json:"message"`
	ErrorCode string          `json:"error_code"`
	Data      json.RawMessage `json:"data"`
}

type partItem struct {
	Number    int    `json:"number"`
	Size      int64  `json:"size"`
	UploadURL string `json:"upload_url"`
}

type wireItem struct {
	ItemID       string            `json:"item_id"`
	Name         string            `json:"name"`
	Type         string            `json:"type"`
	Size         *int64            `json:"size"`
	ETag         *string           `json:"etag"`
	ParentItemID *string           `json:"parent_item_id"`
	CreatedAt    string            `json:"created_at"`
	UpdatedAt    string            `json:"updated_at"`
	XAttrs       map[string]string `json:"x_attrs"`
}

type partETag struct {
	Number int    `json:"number"`
	ETag   string `json:"etag"`
}

// tc is one test's server and the key it mostly acts with.
type tc struct {
	t   *testing.T
	env *shelftest.Env
	key string // a write key of the workspace under test
}

func newTC(t *testing.T, cfg library.Config) *tc {
	t.Helper()
	env := shelftest.New(t, cfg)
	_, key := env.Workspace(t, "main", shelf.ScopeWrite)
	return &tc{t: t, env: env, key: key}
}

// do sends a request to path under the MemoryLake prefix.
func (c *tc) do(method, path, key string, body any) *shelftest.Response {
	c.t.Helper()
	return c.env.Do(c.t, method, memorylake.Prefix+path, key, body)
}

// decode parses a MemoryLake envelope, failing when the body is not one.
func decode(t *testing.T, r *shelftest.Response) envelope {
	t.Helper()
	var e envelope
	r.JSON(t, &e)
	if e.Success == nil {
		t.Fatalf("response %d has no success field: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	return e
}

// ok checks a 200 success envelope and decodes its data into v (if not nil).
func ok(t *testing.T, r *shelftest.Response, v any) envelope {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", r.Status, r.Body)
	}
	e := decode(t, r)
	if !*e.Success || e.ErrorCode != "" {
		t.Fatalf("not a success envelope: %s", r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(e.Data, v); err != nil {
			t.Fatalf("data: %v: %s", err, r.Body)
		}
	}
	return e
}

// fails checks a MemoryLake error envelope with status and code, whose
// message contains each of msgParts.
func fails(t *testing.T, r *shelftest.Response, status int, code string, msgParts ...string) envelope {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	e := decode(t, r)
	if *e.Success || e.ErrorCode != code || e.Message == "" || e.Data != nil {
		t.Fatalf("want {success:false, error_code:%q, message}, got %s", code, r.Body)
	}
	for _, p := range msgParts {
		if !strings.Contains(e.Message, p) {
			t.Fatalf("message %q does not mention %q", e.Message, p)
		}
	}
	return e
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	cc := rand.NewChaCha8([32]byte{seed})
	_, _ = cc.Read(b)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// crc32c is a part's ETag: its CRC-32C in hex.
func crc32c(b []byte) string {
	return fmt.Sprintf("%08x", crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

func (c *tc) createUpload(key string, size int64) (string, []partItem) {
	c.t.Helper()
	var data struct {
		UploadID  string     `json:"upload_id"`
		PartItems []partItem `json:"part_items"`
	}
	ok(c.t, c.do("POST", "/drives/items/upload", key, map[string]any{"file_size": size}), &data)
	if data.UploadID == "" || len(data.PartItems) == 0 {
		c.t.Fatalf("create upload answered %+v", data)
	}
	return data.UploadID, data.PartItems
}

// putPart PUTs a part without Authorization and returns its quoted ETag.
func (c *tc) putPart(p partItem, body []byte) string {
	c.t.Helper()
	r := c.env.Do(c.t, "PUT", p.UploadURL, "", body)
	if r.Status != http.StatusOK {
		c.t.Fatalf("PUT part %d: status %d: %s", p.Number, r.Status, r.Body)
	}
	etag := r.Header.Get("ETag")
	if want := `"` + crc32c(body) + `"`; etag != want {
		c.t.Fatalf("PUT part %d: ETag = %q, want %q", p.Number, etag, want)
	}
	return etag
}

// putAll uploads data part by part and returns the part_etags.
func (c *tc) putAll(parts []partItem, data []byte) []partETag {
	c.t.Helper()
	var etags []partETag
	off := int64(0)
	for _, p := range parts {
		etags = append(etags, partETag{p.Number, c.putPart(p, data[off:off+p.Size])})
		off += p.Size
	}
	if off != int64(len(data)) {
		c.t.Fatalf("parts cover %d bytes, want %d", off, len(data))
	}
	return etags
}

func fileBody(parent, name, uploadID string, etags []partETag, strategy string) map[string]any {
	b := map[string]any{"item_type": "file", "parent_item_id": parent, "name": name,
		"from": map[string]any{"upload_id": uploadID, "part_etags": etags}}
	if strategy != "" {
		b["name_conflict_strategy"] = strategy
	}
	return b
}

type created struct {
	ItemID string `json:"item_id"`
	Name   string `json:"name"`
}

// upload makes a file through the whole MemoryLake flow.
func (c *tc) upload(parent, name string, data []byte, strategy string) created {
	c.t.Helper()
	id, parts := c.createUpload(c.key, int64(len(data)))
	etags := c.putAll(parts, data)
	var out created
	ok(c.t, c.do("POST", "/drives/items", c.key, fileBody(parent, name, id, etags, strategy)), &out)
	if out.ItemID == "" {
		c.t.Fatalf("create item answered no item_id")
	}
	return out
}

func (c *tc) folder(parent, name, strategy string) created {
	c.t.Helper()
	body := map[string]any{"item_type": "folder", "parent_item_id": parent, "name": name}
	if strategy != "" {
		body["name_conflict_strategy"] = strategy
	}
	var out created
	ok(c.t, c.do("POST", "/drives/items", c.key, body), &out)
	return out
}

func (c *tc) item(key, id string) wireItem {
	c.t.Helper()
	var data struct {
		Item wireItem `json:"item"`
	}
	ok(c.t, c.do("GET", "/drives/items/"+id, key, nil), &data)
	return data.Item
}

type page struct {
	Items             []wireItem `json:"items"`
	ContinuationToken *string    `json:"continuation_token"`
}

// children lists a whole folder, page by page.
func (c *tc) children(key, id string) []wireItem {
	c.t.Helper()
	var all []wireItem
	token := ""
	for range 1000 {
		q := url.Values{}
		if token != "" {
			q.Set("continuation_token", token)
		}
		var p page
		ok(c.t, c.do("GET", "/drives/items/"+id+"/children?"+q.Encode(), key, nil), &p)
		all = append(all, p.Items...)
		if p.ContinuationToken == nil {
			return all
		}
		token = *p.ContinuationToken
	}
	c.t.Fatal("listing never ended")
	return nil
}

func names(items []wireItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Name
	}
	return out
}

// snapshot is the whole tree under MY_SPACE, as the API shows it.
func (c *tc) snapshot(key string) string {
	c.t.Helper()
	var walk func(id string, depth int) []string
	walk = func(id string, depth int) []string {
		var lines []string
		for _, it := range c.children(key, id) {
			b, _ := json.Marshal(it)
			lines = append(lines, strings.Repeat(" ", depth)+string(b))
			if it.Type == "directory" {
				lines = append(lines, walk(it.ItemID, depth+1)...)
			}
		}
		return lines
	}
	return strings.Join(walk("MY_SPACE", 0), "\n")
}

func (c *tc) binary(key, id string) *shelftest.Response {
	c.t.Helper()
	return c.do("GET", "/drives/items/"+id+"/binary", key, nil)
}

func checkTimestamp(t *testing.T, field, s string) {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil || !strings.HasSuffix(s, "Z") || strings.Contains(s, ".") || len(s) != len("2024-01-15T10:30:00Z") {
		t.Fatalf("%s = %q, want RFC 3339 UTC to the second (%v)", field, s, err)
	}
	if d := time.Since(ts); d < -time.Minute || d > time.Hour {
		t.Fatalf("%s = %q is not about now", field, s)
	}
}

// rawItem returns the JSON object of an item, to check which keys exist.
func (c *tc) rawItem(key, id string) map[string]any {
	c.t.Helper()
	var data struct {
		Item map[string]any `json:"item"`
	}
	ok(c.t, c.do("GET", "/drives/items/"+id, key, nil), &data)
	return data.Item
}

// TestDocsExample follows the Create Upload page: a 10 MiB file in two
// 5 MiB parts, PUT without Authorization, then Create Item, Get Item and
// Download.
func TestDocsExample(t *testing.T) {
	c := newTC(t, library.Config{})
	root := c.item(c.key, "MY_SPACE")

	var up struct {
		UploadID  string     `json:"upload_id"`
		PartItems []partItem `json:"part_items"`
	}
	ok(t, c.do("POST", "/drives/items/upload", c.key, `{"file_size": 10485760}`), &up)
	if up.UploadID == "" || len(up.PartItems) != 2 {
		t.Fatalf("want an upload_id and 2 parts, got %+v", up)
	}
	base, _ := url.Parse(c.env.URL)
	for i, p := range up.PartItems {
		if p.Number != i+1 || p.Size != 5242880 {
			t.Fatalf("part %d = %+v, want number %d size 5242880", i, p, i+1)
		}
		u, err := url.Parse(p.UploadURL)
		if err != nil || !u.IsAbs() || u.Host != base.Host || u.Scheme != "http" {
			t.Fatalf("upload_url %q is not an absolute URL of the server", p.UploadURL)
		}
	}

	data := randomBytes(10485760, 1)
	var etags []partETag
	for i, p := range up.PartItems {
		etag := c.putPart(p, data[i*5242880:(i+1)*5242880])
		if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
			t.Fatalf("ETag %q is not quoted", etag)
		}
		etags = append(etags, partETag{p.Number, etag})
	}

	var made created
	ok(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", "report.pdf", up.UploadID, etags, "")), &made)
	if made.Name != "report.pdf" || made.ItemID == "" || made.ItemID == "MY_SPACE" {
		t.Fatalf("create item = %+v", made)
	}

	it := c.item(c.key, made.ItemID)
	if it.ItemID != made.ItemID || it.Name != "report.pdf" || it.Type != "file" ||
		it.Size == nil || *it.Size != 10485760 || it.ETag == nil || *it.ETag != sha(data) ||
		it.ParentItemID == nil || *it.ParentItemID != root.ItemID || it.XAttrs == nil || len(it.XAttrs) != 0 {
		t.Fatalf("get item = %+v (root %s, sha %s)", it, root.ItemID, sha(data))
	}
	checkTimestamp(t, "created_at", it.CreatedAt)
	checkTimestamp(t, "updated_at", it.UpdatedAt)

	r := c.binary(c.key, made.ItemID)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
		t.Fatalf("binary: status %d, %d bytes, equal=%v", r.Status, len(r.Body), bytes.Equal(r.Body, data))
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename=report.pdf` {
		t.Fatalf("Content-Disposition = %q", cd)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("X-Content-Type-Options = %q", r.Header.Get("X-Content-Type-Options"))
	}
	if r.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("Content-Type = %q", r.Header.Get("Content-Type"))
	}

	// The file is listed under MY_SPACE, and under the root's concrete id.
	for _, id := range []string{"MY_SPACE", root.ItemID} {
		if got := c.children(c.key, id); len(got) != 1 || got[0].ItemID != made.ItemID || *got[0].Size != 10485760 {
			t.Fatalf("children of %s = %+v", id, got)
		}
	}
}

// TestMySpace checks the root as Get Item shows it.
func TestMySpace(t *testing.T) {
	c := newTC(t, library.Config{})
	root := c.rawItem(c.key, "MY_SPACE")
	want := map[string]bool{"item_id": true, "name": true, "type": true, "parent_item_id": true,
		"created_at": true, "updated_at": true, "x_attrs": true}
	for k := range root {
		if !want[k] {
			t.Fatalf("root has unexpected key %q: %v", k, root)
		}
	}
	id, _ := root["item_id"].(string)
	if id == "" || id == "MY_SPACE" || root["name"] != "My Space" || root["type"] != "directory" || root["parent_item_id"] != nil {
		t.Fatalf("root = %v", root)
	}
	if _, has := root["parent_item_id"]; !has {
		t.Fatalf("root lacks parent_item_id (want null): %v", root)
	}
	// By its concrete id it is the same item.
	if again := c.item(c.key, id); again.ItemID != id || again.Name != "My Space" {
		t.Fatalf("root by id = %+v", again)
	}
	// Another workspace has its own MY_SPACE.
	_, other := c.env.Workspace(t, "other", shelf.ScopeRead)
	if o := c.item(other, "MY_SPACE"); o.ItemID == id || o.ItemID == "" {
		t.Fatalf("other workspace's MY_SPACE = %q, mine %q", o.ItemID, id)
	}
	// A folder omits size and etag and names its parent.
	f := c.folder("MY_SPACE", "Q2 Reports", "")
	raw := c.rawItem(c.key, f.ItemID)
	if _, has := raw["size"]; has {
		t.Fatalf("folder shows size: %v", raw)
	}
	if _, has := raw["etag"]; has {
		t.Fatalf("folder shows etag: %v", raw)
	}
	if raw["type"] != "directory" || raw["parent_item_id"] != id || raw["name"] != "Q2 Reports" {
		t.Fatalf("folder = %v", raw)
	}
}

// TestPythonExample runs the overview's Python upload flow, written with
// the standard library, against the server.
func TestPythonExample(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	c := newTC(t, library.Config{})
	data := randomBytes(5*mib+123, 2)
	path := filepath.Join(t.TempDir(), "quarterly.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join("testdata", "upload.py"), c.env.URL+"/openapi/memorylake", c.key, path)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("upload.py: %v\n%s", err, stderr.Bytes())
	}
	var made created
	if err := json.Unmarshal(out, &made); err != nil || made.ItemID == "" || made.Name != "quarterly.pdf" {
		t.Fatalf("upload.py printed %q (%v)", out, err)
	}
	c.checkFile(made.ItemID, "quarterly.pdf", data)
}

// checkFile verifies a file through Get Item, List Items and Download.
func (c *tc) checkFile(id, name string, data []byte) {
	c.t.Helper()
	it := c.item(c.key, id)
	if it.Name != name || it.Type != "file" || it.Size == nil || *it.Size != int64(len(data)) || it.ETag == nil || *it.ETag != sha(data) {
		c.t.Fatalf("item = %+v, want %s of %d bytes, sha %s", it, name, len(data), sha(data))
	}
	found := false
	for _, ch := range c.children(c.key, "MY_SPACE") {
		found = found || ch.ItemID == id
	}
	if !found {
		c.t.Fatalf("%s is not listed under MY_SPACE", id)
	}
	r := c.binary(c.key, id)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
		c.t.Fatalf("binary: status %d, %d bytes, want %d", r.Status, len(r.Body), len(data))
	}
}

// TestGoExample is the overview's flow in Go: read the file in part sizes,
// PUT each chunk without Authorization, then create the item in MY_SPACE.
func TestGoExample(t *testing.T) {
	c := newTC(t, library.Config{})
	data := randomBytes(11*mib+7, 3)
	path := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	uploadID, parts := c.createUpload(c.key, st.Size())
	if len(parts) != 3 || parts[2].Size != mib+7 {
		t.Fatalf("layout = %+v", parts)
	}
	var etags []partETag
	for _, p := range parts {
		req, err := http.NewRequest("PUT", p.UploadURL, io.LimitReader(f, p.Size))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = p.Size
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
			t.Fatalf("PUT part %d: %d, ETag %q", p.Number, resp.StatusCode, resp.Header.Get("ETag"))
		}
		etags = append(etags, partETag{p.Number, resp.Header.Get("ETag")})
	}
	var made created
	ok(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", "big.bin", uploadID, etags, "")), &made)
	c.checkFile(made.ItemID, "big.bin", data)
}

func TestConflictStrategies(t *testing.T) {
	c := newTC(t, library.Config{})
	v1, v2, v3, v4 := []byte("version one"), []byte("version two!"), []byte("version three"), []byte("version four")

	first := c.upload("MY_SPACE", "report.pdf", v1, "")
	if first.Name != "report.pdf" {
		t.Fatalf("first = %+v", first)
	}
	renamed := c.upload("MY_SPACE", "report.pdf", v2, "rename")
	if renamed.Name != "report_1.pdf" || renamed.ItemID == first.ItemID {
		t.Fatalf("rename = %+v (first %s)", renamed, first.ItemID)
	}
	c.checkFile(renamed.ItemID, "report_1.pdf", v2)

	q2 := c.folder("MY_SPACE", "Q2 Reports", "")
	q2b := c.folder("MY_SPACE", "Q2 Reports", "rename")
	if q2.Name != "Q2 Reports" || q2b.Name != "Q2 Reports_1" || q2b.ItemID == q2.ItemID {
		t.Fatalf("folders = %+v, %+v", q2, q2b)
	}

	before := c.snapshot(c.key)
	fails(t, c.do("POST", "/drives/items", c.key, map[string]any{
		"item_type": "folder", "parent_item_id": "MY_SPACE", "name": "Q2 Reports", "name_conflict_strategy": "deny"}),
		http.StatusConflict, "DRIVE_ITEM_CONFLICT")
	id, parts := c.createUpload(c.key, int64(len(v3)))
	etags := c.putAll(parts, v3)
	fails(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", "report.pdf", id, etags, "deny")),
		http.StatusConflict, "DRIVE_ITEM_CONFLICT")
	// overwrite and replace cannot put a file in a folder's place
	fails(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", "Q2 Reports", id, etags, "overwrite")),
		http.StatusConflict, "DRIVE_ITEM_CONFLICT")
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("a refused create changed the tree:\n%s\n---\n%s", before, after)
	}

	over := c.upload("MY_SPACE", "report.pdf", v3, "overwrite")
	if over.ItemID != first.ItemID || over.Name != "report.pdf" {
		t.Fatalf("overwrite = %+v, want item %s", over, first.ItemID)
	}
	c.checkFile(first.ItemID, "report.pdf", v3)

	repl := c.upload("MY_SPACE", "report.pdf", v4, "replace")
	if repl.ItemID == first.ItemID || repl.Name != "report.pdf" {
		t.Fatalf("replace = %+v, old %s", repl, first.ItemID)
	}
	c.checkFile(repl.ItemID, "report.pdf", v4)
	fails(t, c.do("GET", "/drives/items/"+first.ItemID, c.key, nil), http.StatusNotFound, "NOT_FOUND")

	got := names(c.children(c.key, "MY_SPACE"))
	if want := []string{"Q2 Reports", "Q2 Reports_1", "report.pdf", "report_1.pdf"}; !slices.Equal(got, want) {
		t.Fatalf("MY_SPACE holds %q, want %q", got, want)
	}
}

// TestNamesNFC: a name is kept as sent, byte for byte, and compared under
// NFC: the NFD and NFC spellings of one name conflict under every
// strategy, for folders and files.
func TestNamesNFC(t *testing.T) {
	c := newTC(t, library.Config{})
	const folderNFD, folderNFC = "e\u0301cole", "\u00e9cole"
	const fileNFD, fileNFC = "cafe\u0301.txt", "caf\u00e9.txt"
	// wantName checks the exact bytes of an item's name in Get Item's raw
	// answer, not only after decoding.
	wantName := func(id, name string) {
		t.Helper()
		r := c.do("GET", "/drives/items/"+id, c.key, nil)
		want, _ := json.Marshal(map[string]string{"name": name})
		if r.Status != http.StatusOK || !bytes.Contains(r.Body, want[1:len(want)-1]) {
			t.Fatalf("GET %s = %d %s; want the name bytes %+q", id, r.Status, r.Body, name)
		}
	}

	dir := c.folder("MY_SPACE", folderNFD, "deny")
	if dir.Name != folderNFD {
		t.Fatalf("NFD folder answered name %+q, want %+q", dir.Name, folderNFD)
	}
	wantName(dir.ItemID, folderNFD)
	before := c.snapshot(c.key)
	fails(t, c.do("POST", "/drives/items", c.key, map[string]any{
		"item_type": "folder", "parent_item_id": "MY_SPACE", "name": folderNFC, "name_conflict_strategy": "deny"}),
		http.StatusConflict, "DRIVE_ITEM_CONFLICT")
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("a refused twin changed the tree:\n%s\n---\n%s", before, after)
	}
	dir1 := c.folder("MY_SPACE", folderNFC, "rename")
	if dir1.Name != folderNFC+"_1" || dir1.ItemID == dir.ItemID {
		t.Fatalf("NFC twin, rename = %+v", dir1)
	}
	wantName(dir1.ItemID, folderNFC+"_1")

	v1, v2, v3, v4 := []byte("one"), []byte("two!"), []byte("three"), []byte("four!!")
	f := c.upload("MY_SPACE", fileNFD, v1, "deny")
	if f.Name != fileNFD {
		t.Fatalf("NFD file answered name %+q", f.Name)
	}
	wantName(f.ItemID, fileNFD)
	id, parts := c.createUpload(c.key, int64(len(v2)))
	etags := c.putAll(parts, v2)
	fails(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", fileNFC, id, etags, "deny")),
		http.StatusConflict, "DRIVE_ITEM_CONFLICT")
	r1 := c.upload("MY_SPACE", fileNFC, v2, "rename")
	if r1.Name != "caf\u00e9_1.txt" {
		t.Fatalf("NFC file twin, rename = %+v", r1)
	}
	// The NFD spelling's _1 is taken under NFC by the NFC _1: _2, as sent.
	r2 := c.upload("MY_SPACE", fileNFD, v2, "rename")
	if r2.Name != "cafe\u0301_2.txt" {
		t.Fatalf("NFD file again, rename = %+v", r2)
	}
	over := c.upload("MY_SPACE", fileNFC, v3, "overwrite")
	if over.ItemID != f.ItemID || over.Name != fileNFD {
		t.Fatalf("overwrite with the NFC twin = %+v; want the NFD file %s, its name kept", over, f.ItemID)
	}
	c.checkFile(f.ItemID, fileNFD, v3)
	repl := c.upload("MY_SPACE", fileNFC, v4, "replace")
	if repl.ItemID == f.ItemID || repl.Name != fileNFC {
		t.Fatalf("replace with the NFC twin = %+v; want a new item named as sent", repl)
	}
	c.checkFile(repl.ItemID, fileNFC, v4)
	fails(t, c.do("GET", "/drives/items/"+f.ItemID, c.key, nil), http.StatusNotFound, "NOT_FOUND")

	// Listed by the bytes of the names as sent.
	got := names(c.children(c.key, "MY_SPACE"))
	if want := []string{"cafe\u0301_2.txt", "caf\u00e9.txt", "caf\u00e9_1.txt", folderNFD, folderNFC + "_1"}; !slices.Equal(got, want) {
		t.Fatalf("MY_SPACE holds %+q, want %+q", got, want)
	}
}

func TestChildrenPaging(t *testing.T) {
	c := newTC(t, library.Config{})
	dir := c.folder("MY_SPACE", "paging", "")
	want := []string{"a", "b", "c.txt", "d", "e"}
	for _, n := range want {
		if n == "c.txt" {
			c.upload(dir.ItemID, n, []byte("ccc"), "")
			continue
		}
		body := map[string]any{"item_type": "folder", "parent_item_id": dir.ItemID, "name": n,
			"x_attrs": map[string]string{"k1": n + "1", "k2": n + "2", "k3": n + "3"}}
		ok(t, c.do("POST", "/drives/items", c.key, body), nil)
	}

	var got []string
	token, pages := "", 0
	for {
		path := "/drives/items/" + dir.ItemID + "/children?page_size=2"
		if token != "" {
			path += "&continuation_token=" + url.QueryEscape(token)
		}
		r := c.do("GET", path, c.key, nil)
		var p page
		ok(t, r, &p)
		pages++
		got = append(got, names(p.Items)...)
		if pages < 3 && (len(p.Items) != 2 || p.ContinuationToken == nil || *p.ContinuationToken == "") {
			t.Fatalf("page %d = %s", pages, r.Body)
		}
		if pages == 3 {
			if len(p.Items) != 1 || p.ContinuationToken != nil || !bytes.Contains(r.Body, []byte(`"continuation_token":null`)) {
				t.Fatalf("last page = %s", r.Body)
			}
			break
		}
		token = *p.ContinuationToken
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged names = %q, want %q", got, want)
	}

	// The default page size is 50.
	var all page
	ok(t, c.do("GET", "/drives/items/"+dir.ItemID+"/children", c.key, nil), &all)
	if !slices.Equal(names(all.Items), want) || all.ContinuationToken != nil {
		t.Fatalf("default page = %+v", all)
	}
	for _, it := range all.Items {
		if it.Name != "c.txt" && (len(it.XAttrs) != 3 || it.XAttrs["k2"] != it.Name+"2") {
			t.Fatalf("%s x_attrs = %v", it.Name, it.XAttrs)
		}
	}

	// with_xattr_keys narrows x_attrs, with the comma plain or encoded.
	for _, q := range []string{"with_xattr_keys=k1,k3", "with_xattr_keys=k1%2Ck3,nope"} {
		var p page
		ok(t, c.do("GET", "/drives/items/"+dir.ItemID+"/children?"+q, c.key, nil), &p)
		if len(p.Items) != 5 {
			t.Fatalf("%s: %d items", q, len(p.Items))
		}
		for _, it := range p.Items {
			wantAttrs := map[string]string{"k1": it.Name + "1", "k3": it.Name + "3"}
			if it.Name == "c.txt" {
				wantAttrs = map[string]string{}
			}
			if fmt.Sprint(it.XAttrs) != fmt.Sprint(wantAttrs) {
				t.Fatalf("%s: %s x_attrs = %v, want %v", q, it.Name, it.XAttrs, wantAttrs)
			}
		}
	}

	for _, q := range []string{"page_size=0", "page_size=51", "page_size=x", "page_size=1.5", "page_size=-1",
		"continuation_token=garbage", "continuation_token=n1.%21%21", "page_size=2&continuation_token=bjEuYQ"} {
		fails(t, c.do("GET", "/drives/items/"+dir.ItemID+"/children?"+q, c.key, nil), http.StatusBadRequest, "INVALID_ARGUMENT")
	}
	// Boundaries are accepted.
	for _, n := range []int{1, 50} {
		var p page
		ok(t, c.do("GET", fmt.Sprintf("/drives/items/%s/children?page_size=%d", dir.ItemID, n), c.key, nil), &p)
		if len(p.Items) != min(n, 5) {
			t.Fatalf("page_size=%d gave %d items", n, len(p.Items))
		}
	}
	// A file is not a folder; an unknown id is not found.
	file := c.children(c.key, dir.ItemID)[2]
	fails(t, c.do("GET", "/drives/items/"+file.ItemID+"/children", c.key, nil), http.StatusBadRequest, "INVALID_ARGUMENT")
	fails(t, c.do("GET", "/drives/items/no-such-item/children", c.key, nil), http.StatusNotFound, "NOT_FOUND")
}

// TestChildrenDefaultPage checks that 51 children take two default pages.
func TestChildrenDefaultPage(t *testing.T) {
	c := newTC(t, library.Config{})
	dir := c.folder("MY_SPACE", "many", "")
	for i := range 51 {
		c.folder(dir.ItemID, fmt.Sprintf("f%02d", i), "")
	}
	var p page
	ok(t, c.do("GET", "/drives/items/"+dir.ItemID+"/children", c.key, nil), &p)
	if len(p.Items) != 50 || p.ContinuationToken == nil || p.Items[49].Name != "f49" {
		t.Fatalf("first default page: %d items, token %v", len(p.Items), p.ContinuationToken)
	}
	if all := c.children(c.key, dir.ItemID); len(all) != 51 || all[50].Name != "f50" {
		t.Fatalf("all pages: %d items", len(all))
	}
}

func TestDelete(t *testing.T) {
	c := newTC(t, library.Config{})
	keep := c.upload("MY_SPACE", "keep.txt", []byte("keep me"), "")
	a := c.folder("MY_SPACE", "A", "")
	b := c.folder(a.ItemID, "B", "")
	f1 := c.upload(a.ItemID, "one.txt", []byte("one"), "")
	f2 := c.upload(b.ItemID, "two.txt", []byte("two"), "")
	c2 := c.folder(b.ItemID, "C", "")

	e := ok(t, c.do("DELETE", "/drives/items/"+a.ItemID, c.key, nil), nil)
	if e.Message != "Operation completed successfully" || e.Data != nil {
		t.Fatalf("delete answered %+v", e)
	}
	for _, id := range []string{a.ItemID, b.ItemID, f1.ItemID, f2.ItemID, c2.ItemID} {
		fails(t, c.do("GET", "/drives/items/"+id, c.key, nil), http.StatusNotFound, "NOT_FOUND")
		if r := c.binary(c.key, id); r.Status != http.StatusNotFound || len(r.Body) != 0 {
			t.Fatalf("binary of deleted %s: %d %q", id, r.Status, r.Body)
		}
	}
	fails(t, c.do("DELETE", "/drives/items/"+a.ItemID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	if got := c.children(c.key, "MY_SPACE"); len(got) != 1 || got[0].ItemID != keep.ItemID {
		t.Fatalf("MY_SPACE after delete = %+v", got)
	}

	// MY_SPACE, by alias or id, cannot be deleted.
	root := c.item(c.key, "MY_SPACE")
	before := c.snapshot(c.key)
	for _, id := range []string{"MY_SPACE", root.ItemID} {
		fails(t, c.do("DELETE", "/drives/items/"+id, c.key, nil), http.StatusForbidden, "ACCESS_DENIED", "root")
	}
	if after := c.snapshot(c.key); after != before || c.item(c.key, "MY_SPACE").ItemID != root.ItemID {
		t.Fatalf("refused root delete changed the tree")
	}
	// Deleting a file leaves its siblings.
	ok(t, c.do("DELETE", "/drives/items/"+keep.ItemID, c.key, nil), nil)
	if got := c.children(c.key, "MY_SPACE"); len(got) != 0 {
		t.Fatalf("MY_SPACE = %+v", got)
	}
}

func TestDownload(t *testing.T) {
	c := newTC(t, library.Config{})
	dir := c.folder("MY_SPACE", "docs", "")
	data := []byte("hello, library\n")
	f := c.upload(dir.ItemID, "notes v2.txt", data, "")

	r := c.binary(c.key, f.ItemID)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, data) ||
		r.Header.Get("Content-Disposition") != `attachment; filename="notes v2.txt"` ||
		r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("ETag") != `"`+sha(data)+`"` {
		t.Fatalf("binary = %d %q %v", r.Status, r.Body, r.Header)
	}
	// A read-only key may download.
	ro := c.readKey()
	if r := c.binary(ro, f.ItemID); r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
		t.Fatalf("read-only download = %d", r.Status)
	}

	want := `{"success":false,"message":"This resource does not support download","error_code":"DOWNLOAD_NOT_SUPPORTED"}`
	root := c.item(c.key, "MY_SPACE")
	for _, id := range []string{"MY_SPACE", root.ItemID, dir.ItemID} {
		r := c.binary(c.key, id)
		if r.Status != http.StatusBadRequest || strings.TrimSpace(string(r.Body)) != want {
			t.Fatalf("binary of folder %s = %d %s", id, r.Status, r.Body)
		}
	}
	for _, id := range []string{"no-such-item", "01900000-0000-7000-8000-000000000000"} {
		r := c.binary(c.key, id)
		if r.Status != http.StatusNotFound || len(r.Body) != 0 {
			t.Fatalf("binary of unknown %s = %d %q", id, r.Status, r.Body)
		}
	}
}

// readKey makes a read-only key of the workspace under test.
func (c *tc) readKey() string {
	c.t.Helper()
	ctx := c.env.Context(c.t)
	p, err := c.env.Service.Authenticate(ctx, c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	_, token, err := c.env.Service.CreateKey(ctx, p.WorkspaceID, "read-only", []shelf.Scope{shelf.ScopeRead})
	if err != nil {
		c.t.Fatal(err)
	}
	return token
}

func TestXAttrs(t *testing.T) {
	c := newTC(t, library.Config{})
	// An empty x_attrs map is accepted at creation (lenient).
	ok(t, c.do("POST", "/drives/items", c.key, map[string]any{
		"item_type": "folder", "parent_item_id": "MY_SPACE", "name": "empty", "x_attrs": map[string]string{}}), nil)
	ok(t, c.do("POST", "/drives/items", c.key, map[string]any{
		"item_type": "folder", "parent_item_id": "MY_SPACE", "name": "tagged", "x_attrs": map[string]string{"tenant_id": "acme-corp"}}), nil)
	tagged := c.children(c.key, "MY_SPACE")[1]
	if tagged.Name != "tagged" || tagged.XAttrs["tenant_id"] != "acme-corp" {
		t.Fatalf("tagged = %+v", tagged)
	}
	id, parts := c.createUpload(c.key, 3)
	etags := c.putAll(parts, []byte("abc"))
	body := fileBody("MY_SPACE", "f.txt", id, etags, "")
	body["x_attrs"] = map[string]string{"source": "unit"}
	var file created
	ok(t, c.do("POST", "/drives/items", c.key, body), &file)
	if got := c.item(c.key, file.ItemID).XAttrs; fmt.Sprint(got) != "map[source:unit]" {
		t.Fatalf("file x_attrs = %v", got)
	}

	set := func(id string, attrs any) *shelftest.Response {
		return c.do("PUT", "/drives/items/"+id+"/xattrs", c.key, map[string]any{"x_attrs": attrs})
	}
	attrs := func(id string) string { return fmt.Sprint(c.item(c.key, id).XAttrs) }

	e := ok(t, set(tagged.ItemID, map[string]string{"b": "2"}), nil)
	if e.Message != "Operation completed successfully" {
		t.Fatalf("set answered %+v", e)
	}
	if got := attrs(tagged.ItemID); got != "map[b:2 tenant_id:acme-corp]" {
		t.Fatalf("after merge: %s", got)
	}
	ok(t, set(tagged.ItemID, map[string]string{}), nil) // no-op
	ok(t, set(tagged.ItemID, map[string]string{"b": "3"}), nil)
	if got := attrs(tagged.ItemID); got != "map[b:3 tenant_id:acme-corp]" {
		t.Fatalf("after upsert: %s", got)
	}
	ok(t, set(file.ItemID, map[string]string{"tenant_id": "acme-corp"}), nil)
	if got := attrs(file.ItemID); got != "map[source:unit tenant_id:acme-corp]" {
		t.Fatalf("file after merge: %s", got)
	}
	// Get Item takes with_xattr_keys too.
	var one struct {
		Item wireItem `json:"item"`
	}
	ok(t, c.do("GET", "/drives/items/"+file.ItemID+"?with_xattr_keys=tenant_id", c.key, nil), &one)
	if fmt.Sprint(one.Item.XAttrs) != "map[tenant_id:acme-corp]" {
		t.Fatalf("with_xattr_keys on get: %v", one.Item.XAttrs)
	}

	// Delete: comma-separated, plain or %2C, absent keys ignored.
	e = ok(t, c.do("DELETE", "/drives/items/"+tagged.ItemID+"/xattrs?key=b,absent", c.key, nil), nil)
	if e.Message != "Operation completed successfully" {
		t.Fatalf("delete answered %+v", e)
	}
	if got := attrs(tagged.ItemID); got != "map[tenant_id:acme-corp]" {
		t.Fatalf("after delete: %s", got)
	}
	ok(t, c.do("DELETE", "/drives/items/"+file.ItemID+"/xattrs?key=source%2Ctenant_id", c.key, nil), nil)
	if got := attrs(file.ItemID); got != "map[]" {
		t.Fatalf("file after delete: %s", got)
	}

	before := c.snapshot(c.key)
	for _, path := range []string{"/xattrs", "/xattrs?key=", "/xattrs?key=,", "/xattrs?keys=tenant_id"} {
		fails(t, c.do("DELETE", "/drives/items/"+tagged.ItemID+path, c.key, nil), http.StatusBadRequest, "INVALID_ARGUMENT", "key")
	}
	fails(t, c.do("PUT", "/drives/items/"+tagged.ItemID+"/xattrs", c.key, `{}`), http.StatusBadRequest, "INVALID_ARGUMENT", "x_attrs")
	fails(t, c.do("PUT", "/drives/items/"+tagged.ItemID+"/xattrs", c.key, `{"x_attrs":{"a":1}}`), http.StatusBadRequest, "INVALID_ARGUMENT")
	fails(t, c.do("PUT", "/drives/items/"+tagged.ItemID+"/xattrs", c.key, `{"x_attrs":`), http.StatusBadRequest, "INVALID_ARGUMENT")
	fails(t, set("no-such-item", map[string]string{"a": "b"}), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do("DELETE", "/drives/items/no-such-item/xattrs?key=a", c.key, nil), http.StatusNotFound, "NOT_FOUND")

	// Roots' attributes cannot be changed.
	root := c.item(c.key, "MY_SPACE")
	for _, id := range []string{"MY_SPACE", root.ItemID} {
		fails(t, set(id, map[string]string{"a": "b"}), http.StatusForbidden, "ACCESS_DENIED")
		fails(t, c.do("DELETE", "/drives/items/"+id+"/xattrs?key=a", c.key, nil), http.StatusForbidden, "ACCESS_DENIED")
	}
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("refused x_attrs changes changed the tree:\n%s\n---\n%s", before, after)
	}
	if got := c.item(c.key, "MY_SPACE").XAttrs; len(got) != 0 {
		t.Fatalf("root x_attrs = %v", got)
	}
}

// TestReservedXAttrs: MemoryLake's reserved keys (x_source,
// x_thumbnail_uri) and Shelf's own prefix (shelf.) are silently passed
// over on create (folder and file), set and delete: not stored, not
// refused, and the rest of the request is done.
func TestReservedXAttrs(t *testing.T) {
	c := newTC(t, library.Config{})
	reserved := map[string]string{"x_source": "client", "x_thumbnail_uri": "https://x/t.png", "shelf.internal": "1"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for rk, rv := range reserved {
			m[rk] = rv
		}
		return m
	}
	attrs := func(id string) string { return fmt.Sprint(c.item(c.key, id).XAttrs) }

	var folder created
	ok(t, c.do("POST", "/drives/items", c.key, map[string]any{
		"item_type": "folder", "parent_item_id": "MY_SPACE", "name": "tagged", "x_attrs": with("tenant_id", "acme-corp")}), &folder)
	if got := attrs(folder.ItemID); got != "map[tenant_id:acme-corp]" {
		t.Fatalf("folder x_attrs = %s", got)
	}
	id, parts := c.createUpload(c.key, 3)
	body := fileBody("MY_SPACE", "f.txt", id, c.putAll(parts, []byte("abc")), "")
	body["x_attrs"] = with("source", "unit")
	var file created
	ok(t, c.do("POST", "/drives/items", c.key, body), &file)
	if got := attrs(file.ItemID); got != "map[source:unit]" {
		t.Fatalf("file x_attrs = %s", got)
	}

	set := func(id string, m map[string]string) *shelftest.Response {
		return c.do("PUT", "/drives/items/"+id+"/xattrs", c.key, map[string]any{"x_attrs": m})
	}
	e := ok(t, set(folder.ItemID, with("b", "2")), nil)
	if e.Message != "Operation completed successfully" {
		t.Fatalf("set answered %+v", e)
	}
	if got := attrs(folder.ItemID); got != "map[b:2 tenant_id:acme-corp]" {
		t.Fatalf("after set: %s", got)
	}
	before, _ := json.Marshal(c.item(c.key, folder.ItemID))
	ok(t, set(folder.ItemID, reserved), nil)
	if after, _ := json.Marshal(c.item(c.key, folder.ItemID)); string(after) != string(before) {
		t.Fatalf("a set of reserved keys only changed the item:\n%s\n%s", before, after)
	}

	// Delete: the reserved keys in the list are ignored, the others go.
	ok(t, c.do("DELETE", "/drives/items/"+folder.ItemID+"/xattrs?key=b%2Cx_source%2Cshelf.internal,x_thumbnail_uri", c.key, nil), nil)
	if got := attrs(folder.ItemID); got != "map[tenant_id:acme-corp]" {
		t.Fatalf("after delete: %s", got)
	}
	ok(t, c.do("DELETE", "/drives/items/"+file.ItemID+"/xattrs?key=x_source", c.key, nil), nil)
	if got := attrs(file.ItemID); got != "map[source:unit]" {
		t.Fatalf("file after deleting only a reserved key: %s", got)
	}
}

// TestFinalizeTwice: the same upload finalized again answers the same item
// and makes no second file.
func TestFinalizeTwice(t *testing.T) {
	c := newTC(t, library.Config{})
	data := randomBytes(6*mib, 4)
	id, parts := c.createUpload(c.key, int64(len(data)))
	etags := c.putAll(parts, data)
	body := fileBody("MY_SPACE", "twice.bin", id, etags, "rename")
	var first, second, third created
	ok(t, c.do("POST", "/drives/items", c.key, body), &first)
	ok(t, c.do("POST", "/drives/items", c.key, body), &second)
	// even under another name: the upload is already a file
	ok(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", "other.bin", id, etags, "")), &third)
	if first.ItemID == "" || second != first || third != first {
		t.Fatalf("finalize answers %+v, %+v, %+v", first, second, third)
	}
	if got := c.children(c.key, "MY_SPACE"); len(got) != 1 || got[0].ItemID != first.ItemID || got[0].Name != "twice.bin" {
		t.Fatalf("MY_SPACE = %+v", got)
	}
	c.checkFile(first.ItemID, "twice.bin", data)
}

// clock is a Now func the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestPartUploads(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := newTC(t, library.Config{Now: clk.Now, UploadTTL: time.Hour})
	data := randomBytes(5*mib+10, 5)
	id, parts := c.createUpload(c.key, int64(len(data)))
	if len(parts) != 2 || parts[1].Size != 10 {
		t.Fatalf("layout = %+v", parts)
	}
	put := func(u string, body []byte) *shelftest.Response { return c.env.Do(t, "PUT", u, "", body) }
	refused := func(r *shelftest.Response, status int, what string) {
		t.Helper()
		if r.Status != status || r.Header.Get("ETag") != "" {
			t.Fatalf("%s: status %d ETag %q, want %d: %s", what, r.Status, r.Header.Get("ETag"), status, r.Body)
		}
	}

	refused(put(parts[1].UploadURL, []byte("short")), http.StatusBadRequest, "short body")
	refused(put(parts[1].UploadURL, make([]byte, 11)), http.StatusBadRequest, "long body")
	refused(put(parts[0].UploadURL, data[:mib]), http.StatusBadRequest, "short first part")

	u, _ := url.Parse(parts[1].UploadURL)
	q := u.Query()
	sig := q.Get("sig")
	// Change the first character, which always changes the decoded bytes.
	first := "A"
	if sig[0] == 'A' {
		first = "B"
	}
	q.Set("sig", first+sig[1:])
	tampered := *u
	tampered.RawQuery = q.Encode()
	refused(put(tampered.String(), data[5*mib:]), http.StatusForbidden, "tampered signature")
	q = u.Query()
	q.Set("len", "11")
	tampered.RawQuery = q.Encode()
	refused(put(tampered.String(), make([]byte, 11)), http.StatusForbidden, "tampered length")
	for _, n := range []string{"0", "1", "3"} {
		moved := strings.Replace(parts[1].UploadURL, "/parts/2?", "/parts/"+n+"?", 1)
		if moved == parts[1].UploadURL {
			t.Fatalf("part URL %q has no /parts/2", parts[1].UploadURL)
		}
		refused(put(moved, data[5*mib:]), http.StatusForbidden, "part "+n+" with part 2's signature")
	}
	noSig := *u
	noSig.RawQuery = ""
	refused(put(noSig.String(), data[5*mib:]), http.StatusUnauthorized, "no signature, no key")

	// Nothing above was received: finalizing names part 1 as missing.
	fails(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", "x.bin", id,
		[]partETag{{1, `"` + sha(data[:5*mib]) + `"`}, {2, `"` + sha(data[5*mib:]) + `"`}}, "")),
		http.StatusBadRequest, "INVALID_ARGUMENT", "part 1")

	etags := c.putAll(parts, data)
	// A part PUT again with the same bytes answers the same ETag.
	if again := c.putPart(parts[1], data[5*mib:]); again != etags[1].ETag {
		t.Fatalf("re-PUT ETag %q, want %q", again, etags[1].ETag)
	}

	// An expired URL is refused, and so is the expired session.
	clk.Add(time.Hour + time.Minute)
	refused(put(parts[1].UploadURL, data[5*mib:]), http.StatusForbidden, "expired URL")
	before := c.snapshot(c.key)
	fails(t, c.do("POST", "/drives/items", c.key, fileBody("MY_SPACE", "late.bin", id, etags, "")),
		http.StatusNotFound, "NOT_FOUND")
	if after := c.snapshot(c.key); after != before || after != "" {
		t.Fatalf("expired finalize changed the tree: %q", after)
	}
}

// TestBadInputs sends every bad input; each is a 4xx in MemoryLake's error
// format and changes nothing.
func TestBadInputs(t *testing.T) {
	c := newTC(t, library.Config{MaxFileSize: 8 * mib})
	// A tree to leave alone.
	docs := c.folder("MY_SPACE", "docs", "")
	existing := c.upload(docs.ItemID, "existing.txt", []byte("existing"), "")
	ok(t, c.do("PUT", "/drives/items/"+existing.ItemID+"/xattrs", c.key, map[string]any{"x_attrs": map[string]string{"k": "v"}}), nil)

	// An upload with both parts received, to finalize wrongly.
	data := randomBytes(5*mib+100, 6)
	upID, parts := c.createUpload(c.key, int64(len(data)))
	etags := c.putAll(parts, data)
	// One with only part 1 received.
	halfID, halfParts := c.createUpload(c.key, int64(len(data)))
	halfETag := c.putPart(halfParts[0], data[:5*mib])
	// One of another workspace.
	_, otherKey := c.env.Workspace(t, "other", shelf.ScopeWrite)
	foreign := &tc{t: t, env: c.env, key: otherKey}
	foreignID, foreignParts := foreign.createUpload(otherKey, int64(len(data)))
	foreignETags := foreign.putAll(foreignParts, data)
	foreignDir := foreign.folder("MY_SPACE", "theirs", "")

	ro := c.readKey()
	_, roOther := c.env.Workspace(t, "ro", shelf.ScopeRead)
	// A well-formed key whose secret is wrong.
	forged := forgeKey(t, c.key)

	folderBody := func(mod func(map[string]any)) map[string]any {
		b := map[string]any{"item_type": "folder", "parent_item_id": "MY_SPACE", "name": "new folder"}
		mod(b)
		return b
	}
	fileReq := func(mod func(map[string]any)) map[string]any {
		b := fileBody("MY_SPACE", "new.bin", upID, etags, "")
		mod(b)
		return b
	}
	withETags := func(e ...partETag) func(map[string]any) {
		return func(b map[string]any) { b["from"] = map[string]any{"upload_id": upID, "part_etags": e} }
	}
	quoted := func(b []byte) string { return `"` + sha(b) + `"` }
	badNames := []string{"a/b", "..", ".", "a\x00b", "a\x01b", "tab\tname", "line\nbreak", "del\x7f", strings.Repeat("n", 256), "", "trailing.", `back\slash`}

	type bad struct {
		name          string
		method, path  string
		key           string
		body          any
		status        int
		code          string
		msg           string // a part of the message, when it must name something
		exactMessage  string
		skipEnvelopes bool
	}
	cases := []bad{
		{name: "file_size 0", method: "POST", path: "/drives/items/upload", body: `{"file_size":0}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "file_size negative", method: "POST", path: "/drives/items/upload", body: `{"file_size":-5}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "file_size over max", method: "POST", path: "/drives/items/upload", body: fmt.Sprintf(`{"file_size":%d}`, 8*mib+1), status: 400, code: "INVALID_ARGUMENT", msg: "maximum"},
		{name: "file_size missing", method: "POST", path: "/drives/items/upload", body: `{}`, status: 400, code: "INVALID_ARGUMENT", msg: "file_size"},
		{name: "file_size string", method: "POST", path: "/drives/items/upload", body: `{"file_size":"10"}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "file_size fraction", method: "POST", path: "/drives/items/upload", body: `{"file_size":1.5}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "upload malformed JSON", method: "POST", path: "/drives/items/upload", body: `{"file_size":`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "upload empty body", method: "POST", path: "/drives/items/upload", body: []byte{}, status: 400, code: "INVALID_ARGUMENT"},
		{name: "create malformed JSON", method: "POST", path: "/drives/items", body: `{"item_type":"folder",`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "create trailing data", method: "POST", path: "/drives/items", body: `{"item_type":"folder","parent_item_id":"MY_SPACE","name":"x"} {}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "create array", method: "POST", path: "/drives/items", body: `[]`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "unknown item_type", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["item_type"] = "blob" }), status: 400, code: "INVALID_ARGUMENT", msg: "item_type"},
		{name: "item_type directory", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["item_type"] = "directory" }), status: 400, code: "INVALID_ARGUMENT", msg: "item_type"},
		{name: "missing item_type", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { delete(b, "item_type") }), status: 400, code: "INVALID_ARGUMENT", msg: "item_type"},
		{name: "missing parent", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { delete(b, "parent_item_id") }), status: 400, code: "INVALID_ARGUMENT", msg: "parent_item_id"},
		{name: "missing name", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { delete(b, "name") }), status: 400, code: "INVALID_ARGUMENT", msg: "name"},
		{name: "unknown strategy", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["name_conflict_strategy"] = "merge" }), status: 400, code: "INVALID_ARGUMENT", msg: "merge"},
		{name: "unknown strategy file", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) { b["name_conflict_strategy"] = "keep" }), status: 400, code: "INVALID_ARGUMENT", msg: "keep"},
		{name: "overwrite folder", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["name"] = "docs"; b["name_conflict_strategy"] = "overwrite" }), status: 400, code: "INVALID_ARGUMENT", msg: "overwrite"},
		{name: "replace folder", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["name"] = "docs"; b["name_conflict_strategy"] = "replace" }), status: 400, code: "INVALID_ARGUMENT", msg: "replace"},
		{name: "folder with from", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["from"] = map[string]any{"upload_id": upID, "part_etags": etags} }), status: 400, code: "INVALID_ARGUMENT", msg: "from"},
		{name: "file without from", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) { delete(b, "from") }), status: 400, code: "INVALID_ARGUMENT", msg: "from"},
		{name: "file without upload_id", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) { b["from"] = map[string]any{"part_etags": etags} }), status: 400, code: "INVALID_ARGUMENT", msg: "upload_id"},
		{name: "file without part_etags", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) { b["from"] = map[string]any{"upload_id": upID} }), status: 400, code: "INVALID_ARGUMENT", msg: "part_etags"},
		{name: "empty part_etags", method: "POST", path: "/drives/items", body: fileReq(withETags()), status: 400, code: "INVALID_ARGUMENT", msg: "part_etags"},
		{name: "part number not integer", method: "POST", path: "/drives/items", body: fmt.Sprintf(
			`{"item_type":"file","parent_item_id":"MY_SPACE","name":"n.bin","from":{"upload_id":%q,"part_etags":[{"number":"1","etag":%q}]}}`,
			upID, etags[0].ETag), status: 400, code: "INVALID_ARGUMENT", msg: "number"},
		{name: "unknown upload_id", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) {
			b["from"] = map[string]any{"upload_id": "upl-abc123def456", "part_etags": etags}
		}), status: 404, code: "NOT_FOUND"},
		{name: "foreign upload_id", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) { b["from"] = map[string]any{"upload_id": foreignID, "part_etags": foreignETags} }), status: 404, code: "NOT_FOUND"},
		{name: "part 0", method: "POST", path: "/drives/items", body: fileReq(withETags(partETag{0, etags[0].ETag}, etags[0], etags[1])), status: 400, code: "INVALID_ARGUMENT", msg: "part 0"},
		{name: "part past the last", method: "POST", path: "/drives/items", body: fileReq(withETags(etags[0], etags[1], partETag{3, etags[1].ETag})), status: 400, code: "INVALID_ARGUMENT", msg: "part 3"},
		{name: "wrong ETag", method: "POST", path: "/drives/items", body: fileReq(withETags(etags[0], partETag{2, quoted([]byte("other"))})), status: 400, code: "INVALID_ARGUMENT", msg: "part 2"},
		{name: "missing entry", method: "POST", path: "/drives/items", body: fileReq(withETags(etags[0])), status: 400, code: "INVALID_ARGUMENT", msg: "part 2"},
		{name: "out of order", method: "POST", path: "/drives/items", body: fileReq(withETags(etags[1], etags[0])), status: 400, code: "INVALID_ARGUMENT", msg: "part 2"},
		{name: "duplicate part", method: "POST", path: "/drives/items", body: fileReq(withETags(etags[0], etags[0])), status: 400, code: "INVALID_ARGUMENT", msg: "part 1"},
		{name: "part not uploaded", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) {
			b["from"] = map[string]any{"upload_id": halfID, "part_etags": []partETag{{1, halfETag}, {2, quoted(data[5*mib:])}}}
		}), status: 400, code: "INVALID_ARGUMENT", msg: "part 2"},
		{name: "unknown parent", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["parent_item_id"] = "no-such-folder" }), status: 404, code: "NOT_FOUND"},
		{name: "file as parent", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["parent_item_id"] = existing.ItemID }), status: 400, code: "INVALID_ARGUMENT"},
		{name: "foreign parent folder", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["parent_item_id"] = foreignDir.ItemID }), status: 404, code: "NOT_FOUND"},
		{name: "foreign parent file", method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) { b["parent_item_id"] = foreignDir.ItemID }), status: 404, code: "NOT_FOUND"},
		{name: "deny folder", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["name"] = "docs"; b["name_conflict_strategy"] = "deny" }), status: 409, code: "DRIVE_ITEM_CONFLICT"},
		{name: "x_attrs wrong type", method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["x_attrs"] = []string{"a"} }), status: 400, code: "INVALID_ARGUMENT"},

		{name: "no key", method: "GET", path: "/drives/items/MY_SPACE", status: 401, code: "UNAUTHORIZED", exactMessage: "Invalid or missing API key"},
		{name: "no key write", method: "POST", path: "/drives/items", body: folderBody(func(map[string]any) {}), status: 401, code: "UNAUTHORIZED", exactMessage: "Invalid or missing API key"},
		{name: "no key unknown path", method: "GET", path: "/nowhere", status: 401, code: "UNAUTHORIZED", exactMessage: "Invalid or missing API key"},
		{name: "bogus key", method: "GET", path: "/drives/items/MY_SPACE", key: "sk_xxxxxx", status: 401, code: "UNAUTHORIZED", exactMessage: "Invalid or missing API key"},
		{name: "forged key", method: "DELETE", path: "/drives/items/" + docs.ItemID, key: forged, status: 401, code: "UNAUTHORIZED", exactMessage: "Invalid or missing API key"},

		{name: "read-only upload", method: "POST", path: "/drives/items/upload", key: ro, body: `{"file_size":10}`, status: 403, code: "ACCESS_DENIED"},
		{name: "read-only folder", method: "POST", path: "/drives/items", key: ro, body: folderBody(func(map[string]any) {}), status: 403, code: "ACCESS_DENIED"},
		{name: "read-only finalize", method: "POST", path: "/drives/items", key: ro, body: fileReq(func(map[string]any) {}), status: 403, code: "ACCESS_DENIED"},
		{name: "read-only delete", method: "DELETE", path: "/drives/items/" + docs.ItemID, key: ro, status: 403, code: "ACCESS_DENIED"},
		{name: "read-only set xattrs", method: "PUT", path: "/drives/items/" + existing.ItemID + "/xattrs", key: ro, body: `{"x_attrs":{"k":"w"}}`, status: 403, code: "ACCESS_DENIED"},
		{name: "read-only delete xattrs", method: "DELETE", path: "/drives/items/" + existing.ItemID + "/xattrs?key=k", key: ro, status: 403, code: "ACCESS_DENIED"},
		{name: "read-only other workspace", method: "POST", path: "/drives/items", key: roOther, body: folderBody(func(map[string]any) {}), status: 403, code: "ACCESS_DENIED"},

		{name: "foreign get", method: "GET", path: "/drives/items/" + docs.ItemID, key: otherKey, status: 404, code: "NOT_FOUND"},
		{name: "foreign children", method: "GET", path: "/drives/items/" + docs.ItemID + "/children", key: otherKey, status: 404, code: "NOT_FOUND"},
		{name: "foreign delete", method: "DELETE", path: "/drives/items/" + existing.ItemID, key: otherKey, status: 404, code: "NOT_FOUND"},
		{name: "foreign set xattrs", method: "PUT", path: "/drives/items/" + existing.ItemID + "/xattrs", key: otherKey, body: `{"x_attrs":{"k":"w"}}`, status: 404, code: "NOT_FOUND"},
		{name: "foreign delete xattrs", method: "DELETE", path: "/drives/items/" + existing.ItemID + "/xattrs?key=k", key: otherKey, status: 404, code: "NOT_FOUND"},
		{name: "foreign download", method: "GET", path: "/drives/items/" + existing.ItemID + "/binary", key: otherKey, status: 404, skipEnvelopes: true},
		{name: "foreign finalize into mine", method: "POST", path: "/drives/items", key: otherKey, body: fileBody(docs.ItemID, "x.bin", foreignID, foreignETags, ""), status: 404, code: "NOT_FOUND"},

		{name: "unknown path", method: "GET", path: "/drives/nowhere", status: 404, code: "NOT_FOUND"},
		{name: "wrong method", method: "PATCH", path: "/drives/items/" + docs.ItemID, body: `{"name":"x"}`, status: 404, code: "NOT_FOUND"},
	}
	for _, n := range badNames {
		cases = append(cases,
			bad{name: fmt.Sprintf("folder name %q", n), method: "POST", path: "/drives/items", body: folderBody(func(b map[string]any) { b["name"] = n }), status: 400, code: "INVALID_ARGUMENT", msg: "name"},
			bad{name: fmt.Sprintf("file name %q", n), method: "POST", path: "/drives/items", body: fileReq(func(b map[string]any) { b["name"] = n }), status: 400, code: "INVALID_ARGUMENT", msg: "name"})
	}

	before := c.snapshot(c.key)
	foreignBefore := foreign.snapshot(otherKey)
	if !strings.Contains(before, "existing.txt") || !strings.Contains(before, `"k":"v"`) {
		t.Fatalf("fixture missing from snapshot:\n%s", before)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			if key == "" && tt.status != 401 {
				key = c.key
			}
			r := c.env.Do(t, tt.method, memorylake.Prefix+tt.path, key, tt.body)
			if tt.skipEnvelopes {
				if r.Status != tt.status || len(r.Body) != 0 {
					t.Fatalf("status %d body %q, want %d and no body", r.Status, r.Body, tt.status)
				}
			} else {
				e := fails(t, r, tt.status, tt.code, tt.msg)
				if tt.exactMessage != "" && e.Message != tt.exactMessage {
					t.Fatalf("message = %q, want %q", e.Message, tt.exactMessage)
				}
				if tt.status == 500 || strings.Contains(e.Message, "sqlite") {
					t.Fatalf("internal detail leaked: %s", r.Body)
				}
			}
			if after := c.snapshot(c.key); after != before {
				t.Fatalf("the request changed the tree:\n%s\n---\n%s", before, after)
			}
		})
	}
	if after := foreign.snapshot(otherKey); after != foreignBefore {
		t.Fatalf("the other workspace changed:\n%s\n---\n%s", foreignBefore, after)
	}

	// None of the refused finalizes consumed the uploads: each still works.
	var made, theirs created
	ok(t, c.do("POST", "/drives/items", c.key, fileBody(docs.ItemID, "late.bin", upID, etags, "")), &made)
	if made.Name != "late.bin" {
		t.Fatalf("finalize after refusals = %+v", made)
	}
	if got := c.children(c.key, docs.ItemID); len(got) != 2 || *got[1].ETag != sha(data) {
		t.Fatalf("docs = %+v", got)
	}
	ok(t, foreign.do("POST", "/drives/items", otherKey, fileBody("MY_SPACE", "theirs.bin", foreignID, foreignETags, "")), &theirs)
	if r := foreign.binary(otherKey, theirs.ItemID); !bytes.Equal(r.Body, data) {
		t.Fatalf("foreign upload finalized to %d bytes", len(r.Body))
	}
	// And the read-only key can read what the refusals left.
	if it := c.item(ro, existing.ItemID); it.Name != "existing.txt" || it.XAttrs["k"] != "v" {
		t.Fatalf("existing = %+v", it)
	}
}

// forgeKey returns a key shaped like key (same id, valid checksum) whose
// secret is wrong.
func forgeKey(t *testing.T, key string) string {
	t.Helper()
	// shelf_<16 hex id>_<40 hex secret><8 hex crc32>
	if len(key) != len("shelf_")+16+1+40+8 {
		t.Fatalf("unexpected key shape %q", key)
	}
	body := key[:len(key)-8]
	body = body[:len(body)-40] + strings.Repeat("0", 40)
	return body + fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body)))
}
