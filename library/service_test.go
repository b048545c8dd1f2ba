package library_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testMasterKey is the master key of the test services.
const testMasterKey = "library-test-master-key-0123456789abcdef"

type env struct {
	svc   *library.Service
	store shelf.Store
	blobs *fsblob.Store
	clock *clock
	dir   string          // the data directory: shelf.db and blobs/
	ctx   context.Context // the master key in the default workspace
}

func newEnv(t testing.TB, cfg library.Config) *env {
	t.Helper()
	return newEnvWith(t, cfg, nil)
}

// newEnvWith is newEnv with the store and blob store the core is given
// wrapped by wrap (fault injection); env keeps the unwrapped ones.
func newEnvWith(t testing.TB, cfg library.Config, wrap func(shelf.Store, shelf.BlobStore) (shelf.Store, shelf.BlobStore)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	c := &clock{t: time.Now()}
	cfg.Now = c.Now
	cfg.MinPartSize = max(cfg.MinPartSize, 1024) // small parts keep tests fast
	var coreStore shelf.Store = st
	var coreBlobs shelf.BlobStore = bs
	if wrap != nil {
		coreStore, coreBlobs = wrap(st, bs)
	}
	svc, err := library.Open(context.Background(), coreStore, coreBlobs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnsureMasterKey(context.Background(), testMasterKey); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(context.Background(), testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, store: st, blobs: bs, clock: c, dir: dir, ctx: shelf.NewContext(context.Background(), p)}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := shelf.ErrorCode(err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
}

// upload makes a file from data through a chunked upload.
func (e *env) upload(t *testing.T, ctx context.Context, parent, name string, c library.Conflict, data []byte) (*shelf.Item, error) {
	t.Helper()
	u, err := e.svc.CreateUpload(ctx, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var etags []library.PartETag
	for n := 1; n <= u.PartCount(); n++ {
		off, l, _ := u.PartRange(n)
		etag, err := e.svc.WritePart(ctx, u.ID, n, bytes.NewReader(data[off:off+l]), l)
		if err != nil {
			t.Fatal(err)
		}
		etags = append(etags, library.PartETag{Number: n, ETag: `"` + etag + `"`})
	}
	return e.svc.Finalize(ctx, u.ID, etags, library.FileTarget{ParentID: parent, Name: name, Conflict: c})
}

func (e *env) read(t *testing.T, ctx context.Context, id string) []byte {
	t.Helper()
	_, v, err := e.svc.Content(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.Read(ctx, v, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) names(t *testing.T, ctx context.Context, folder string) []string {
	t.Helper()
	var out []string
	tok := ""
	for {
		items, next, err := e.svc.Children(ctx, folder, tok, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			out = append(out, it.Name)
		}
		if next == "" {
			return out
		}
		tok = next
	}
}

func TestKeysAndScopes(t *testing.T) {
	e := newEnv(t, library.Config{})
	ws, err := e.svc.CreateWorkspace(e.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k, token, err := e.svc.CreateKey(e.ctx, ws.ID, "ci", []shelf.Scope{shelf.ScopeRead, shelf.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(k.Hash, []byte(token)) || len(k.Hash) != 32 {
		t.Fatalf("key hash looks wrong: %x", k.Hash)
	}
	p, err := e.svc.Authenticate(context.Background(), token)
	if err != nil || p.WorkspaceID != ws.ID || p.Scope != shelf.ScopeWrite || p.Master {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	wctx := shelf.NewContext(context.Background(), p)
	// A write key is not an admin: no keys, no workspaces.
	_, _, err = e.svc.CreateKey(wctx, "", "x", []shelf.Scope{shelf.ScopeRead})
	wantCode(t, err, shelf.EFORBIDDEN)
	_, err = e.svc.CreateWorkspace(wctx, "evil")
	wantCode(t, err, shelf.EFORBIDDEN)
	// An admin key of a workspace cannot reach another workspace.
	_, admin, _ := e.svc.CreateKey(e.ctx, ws.ID, "admin", []shelf.Scope{shelf.ScopeAdmin})
	ap, _ := e.svc.Authenticate(context.Background(), admin)
	actx := shelf.NewContext(context.Background(), ap)
	def, _ := e.svc.AdminPrincipal(context.Background())
	_, _, err = e.svc.CreateKey(actx, def.WorkspaceID, "x", []shelf.Scope{shelf.ScopeRead})
	wantCode(t, err, shelf.ENOTFOUND)
	if _, err := e.svc.CreateWorkspace(actx, "no"); shelf.ErrorCode(err) != shelf.EFORBIDDEN {
		t.Fatalf("workspace admin created a workspace: %v", err)
	}
	// Bad scopes.
	_, _, err = e.svc.CreateKey(e.ctx, ws.ID, "x", []shelf.Scope{"root"})
	wantCode(t, err, shelf.EINVALID)
	_, _, err = e.svc.CreateKey(e.ctx, ws.ID, "x", nil)
	wantCode(t, err, shelf.EINVALID)
	// Listing and revocation.
	keys, err := e.svc.Keys(actx, "")
	if err != nil || len(keys) != 2 {
		t.Fatalf("Keys = %d keys, %v; want 2", len(keys), err)
	}
	if err := e.svc.RevokeKey(actx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(context.Background(), token)
	wantCode(t, err, shelf.EUNAUTHORIZED)
	wantCode(t, e.svc.RevokeKey(actx, k.ID), shelf.ENOTFOUND)
	// Unknown and malformed keys.
	for _, bad := range []string{"", "nope", token + "x", "master "} {
		_, err := e.svc.Authenticate(context.Background(), bad)
		wantCode(t, err, shelf.EUNAUTHORIZED)
	}
}

// TestMasterKeyLength: a master key of fewer than 32 characters (not
// bytes) is refused and sets nothing; 32 are enough.
func TestMasterKeyLength(t *testing.T) {
	e := newEnv(t, library.Config{})
	for _, short := range []string{"k", strings.Repeat("k", 31), strings.Repeat("é", 31)} {
		_, err := e.svc.EnsureMasterKey(context.Background(), short)
		wantCode(t, err, shelf.EINVALID)
		if _, err := e.svc.Authenticate(context.Background(), short); shelf.ErrorCode(err) != shelf.EUNAUTHORIZED {
			t.Fatalf("a refused master key authenticates: %v", err)
		}
	}
	if _, err := e.svc.Authenticate(context.Background(), testMasterKey); err != nil {
		t.Fatalf("the master key before the refusals stopped working: %v", err)
	}
	for _, ok := range []string{strings.Repeat("k", 32), strings.Repeat("é", 32)} {
		if _, err := e.svc.EnsureMasterKey(context.Background(), ok); err != nil {
			t.Fatalf("a 32-character master key: %v", err)
		}
		if p, err := e.svc.Authenticate(context.Background(), ok); err != nil || !p.Master {
			t.Fatalf("a 32-character master key does not authenticate: %v", err)
		}
	}
}

func TestMasterKeyGenerated(t *testing.T) {
	dir := t.TempDir()
	open := func() *library.Service {
		st, err := sqlite.Open(filepath.Join(dir, "db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		bs, _ := fsblob.Open(filepath.Join(dir, "blobs"))
		t.Cleanup(func() { bs.Close() })
		svc, err := library.Open(context.Background(), st, bs, library.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := open()
	gen, err := svc.EnsureMasterKey(context.Background(), "")
	if err != nil || gen == "" {
		t.Fatalf("first start generated %q, %v", gen, err)
	}
	if p, err := svc.Authenticate(context.Background(), gen); err != nil || !p.Master {
		t.Fatalf("generated key does not authenticate: %v", err)
	}
	// The second start generates nothing and keeps accepting the key.
	svc2 := open()
	again, err := svc2.EnsureMasterKey(context.Background(), "")
	if err != nil || again != "" {
		t.Fatalf("second start generated %q, %v", again, err)
	}
	if _, err := svc2.Authenticate(context.Background(), gen); err != nil {
		t.Fatalf("generated key no longer works: %v", err)
	}
	var stored string
	// Only the hash is kept.
	st, _ := sqlite.Open(filepath.Join(dir, "db"))
	defer st.Close()
	_ = st.View(context.Background(), func(tx shelf.Tx) error {
		stored, _ = tx.Setting(context.Background(), "master_key_sha256")
		return nil
	})
	sum := sha256.Sum256([]byte(gen))
	if stored != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored %q, want the key's sha256", stored)
	}
}

func TestTree(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, err := e.svc.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.CreateFolder(ctx, root.ID, "a", "", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := e.svc.CreateFolder(ctx, a.ID, "b", "", nil)
	f, err := e.upload(t, ctx, b.ID, "f.txt", "", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != "a/b/f.txt" || f.Size != 5 || f.ContentType != "text/plain" {
		t.Fatalf("file = %+v", f)
	}
	// Rename strategy, for folders and files.
	a1, _ := e.svc.CreateFolder(ctx, root.ID, "a", library.ConflictRename, nil)
	if a1.Name != "a_1" {
		t.Fatalf("renamed folder = %q, want a_1", a1.Name)
	}
	q, _ := e.svc.CreateFolder(ctx, root.ID, "Q2 Reports", "", nil)
	q1, _ := e.svc.CreateFolder(ctx, root.ID, "Q2 Reports", "", nil)
	if q.Name != "Q2 Reports" || q1.Name != "Q2 Reports_1" {
		t.Fatalf("folder names %q, %q", q.Name, q1.Name)
	}
	_, err = e.svc.CreateFolder(ctx, root.ID, "a", library.ConflictDeny, nil)
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.CreateFolder(ctx, root.ID, "a", library.ConflictOverwrite, nil)
	wantCode(t, err, shelf.EINVALID)
	// Move into own subtree, and onto itself.
	bid := b.ID
	_, err = e.svc.UpdateItem(ctx, a.ID, library.ItemUpdate{ParentID: &bid})
	wantCode(t, err, shelf.EINVALID)
	aid := a.ID
	_, err = e.svc.UpdateItem(ctx, a.ID, library.ItemUpdate{ParentID: &aid})
	wantCode(t, err, shelf.EINVALID)
	// Moving a folder rewrites the paths below it.
	a1id := a1.ID
	moved, err := e.svc.UpdateItem(ctx, b.ID, library.ItemUpdate{ParentID: &a1id})
	if err != nil || moved.Path != "a_1/b" {
		t.Fatalf("moved = %+v, %v", moved, err)
	}
	if got, _ := e.svc.Item(ctx, f.ID); got.Path != "a_1/b/f.txt" {
		t.Fatalf("file path after move = %q", got.Path)
	}
	// Rename onto a taken name is denied by default; with rename it gets _N.
	name := "a"
	_, err = e.svc.UpdateItem(ctx, a1.ID, library.ItemUpdate{Name: &name})
	wantCode(t, err, shelf.ECONFLICT)
	ren, err := e.svc.UpdateItem(ctx, a1.ID, library.ItemUpdate{Name: &name, Conflict: library.ConflictRename})
	if err != nil || ren.Name != "a_2" {
		t.Fatalf("rename = %+v, %v", ren, err)
	}
	// x_attrs merge and delete; roots refuse them.
	it, err := e.svc.SetXAttrs(ctx, a.ID, map[string]string{"x": "1"})
	if err != nil || it.XAttrs["k"] != "v" || it.XAttrs["x"] != "1" {
		t.Fatalf("merge = %v, %v", it.XAttrs, err)
	}
	it, _ = e.svc.DeleteXAttrs(ctx, a.ID, []string{"k", "absent"})
	if len(it.XAttrs) != 1 || it.XAttrs["x"] != "1" {
		t.Fatalf("after delete = %v", it.XAttrs)
	}
	_, err = e.svc.SetXAttrs(ctx, root.ID, map[string]string{"x": "1"})
	wantCode(t, err, shelf.EFORBIDDEN)
	// Recursive delete.
	n, err := e.svc.Delete(ctx, ren.ID)
	if err != nil || n != 3 {
		t.Fatalf("delete = %d, %v; want 3 items", n, err)
	}
	for _, id := range []string{ren.ID, b.ID, f.ID} {
		_, err := e.svc.Item(ctx, id)
		wantCode(t, err, shelf.ENOTFOUND)
	}
	_, err = e.svc.Delete(ctx, root.ID)
	wantCode(t, err, shelf.EFORBIDDEN)
	if got := e.names(t, ctx, root.ID); fmt.Sprint(got) != "[Q2 Reports Q2 Reports_1 a]" {
		t.Fatalf("root = %v", got)
	}
}

func TestFileConflicts(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	first, _ := e.upload(t, ctx, root.ID, "report.pdf", "", []byte("v1"))
	second, _ := e.upload(t, ctx, root.ID, "report.pdf", "", []byte("v2"))
	if second.Name != "report_1.pdf" || second.ID == first.ID {
		t.Fatalf("rename gave %+v", second)
	}
	_, err := e.upload(t, ctx, root.ID, "report.pdf", library.ConflictDeny, []byte("v3"))
	wantCode(t, err, shelf.ECONFLICT)
	over, err := e.upload(t, ctx, root.ID, "report.pdf", library.ConflictOverwrite, []byte("v4"))
	if err != nil || over.ID != first.ID || over.Head != 2 || string(e.read(t, ctx, over.ID)) != "v4" {
		t.Fatalf("overwrite = %+v, %v", over, err)
	}
	same, _ := e.upload(t, ctx, root.ID, "report.pdf", library.ConflictOverwrite, []byte("v4"))
	if same.Head != 2 {
		t.Fatalf("overwrite with the same bytes made version %d, want 2 (unchanged)", same.Head)
	}
	rep, err := e.upload(t, ctx, root.ID, "report.pdf", library.ConflictReplace, []byte("v5"))
	if err != nil || rep.ID == first.ID || rep.Head != 1 {
		t.Fatalf("replace = %+v, %v", rep, err)
	}
	_, err = e.svc.Item(ctx, first.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	// A folder in the way of overwrite or replace is a conflict.
	e.svc.CreateFolder(ctx, root.ID, "dir.pdf", "", nil)
	for _, c := range []library.Conflict{library.ConflictOverwrite, library.ConflictReplace} {
		_, err := e.upload(t, ctx, root.ID, "dir.pdf", c, []byte("x"))
		wantCode(t, err, shelf.ECONFLICT)
	}
	if got := e.names(t, ctx, root.ID); fmt.Sprint(got) != "[dir.pdf report.pdf report_1.pdf]" {
		t.Fatalf("root = %v", got)
	}
}

func TestUploadRules(t *testing.T) {
	e := newEnv(t, library.Config{MaxFileSize: 1 << 20})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	for _, size := range []int64{0, -1, 1<<20 + 1} {
		if _, err := e.svc.CreateUpload(ctx, size); err == nil {
			t.Fatalf("CreateUpload(%d) accepted", size)
		}
	}
	data := bytes.Repeat([]byte("0123456789"), 300) // 3000 bytes: parts of 1024, 1024, 952
	u, err := e.svc.CreateUpload(ctx, int64(len(data)))
	if err != nil || u.PartCount() != 3 {
		t.Fatalf("upload = %+v, %v", u, err)
	}
	_, err = e.svc.WritePart(ctx, u.ID, 0, bytes.NewReader(nil), 0)
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.WritePart(ctx, u.ID, 4, bytes.NewReader(data[:10]), 10)
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.WritePart(ctx, u.ID, 1, bytes.NewReader(data[:10]), 10)
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.WritePart(ctx, u.ID, 1, bytes.NewReader(data[:1000]), 1024) // short body
	wantCode(t, err, shelf.EINVALID)
	etags := make([]library.PartETag, 3)
	for n := 3; n >= 1; n-- { // out of order is fine
		off, l, _ := u.PartRange(n)
		tag, err := e.svc.WritePart(ctx, u.ID, n, bytes.NewReader(data[off:off+l]), l)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%08x", crc32.Checksum(data[off:off+l], crc32.MakeTable(crc32.Castagnoli))); tag != want {
			t.Fatalf("ETag of part %d = %s, want its CRC-32C %s", n, tag, want)
		}
		etags[n-1] = library.PartETag{Number: n, ETag: tag}
	}
	target := library.FileTarget{ParentID: root.ID, Name: "f.bin"}
	bad := map[string][]library.PartETag{
		"missing": etags[:2],
		"order":   {etags[1], etags[0], etags[2]},
		"etag":    {etags[0], {Number: 2, ETag: "0000"}, etags[2]},
		"zero":    {{Number: 0, ETag: etags[0].ETag}, etags[1], etags[2]},
		"past":    {etags[0], etags[1], etags[2], {Number: 4, ETag: "x"}},
	}
	for what, tags := range bad {
		_, err := e.svc.Finalize(ctx, u.ID, tags, target)
		wantCode(t, err, shelf.EINVALID)
		if what != "past" && !bytes.Contains([]byte(shelf.ErrorMessage(err)), []byte("part ")) {
			t.Fatalf("%s: message %q does not name the part", what, shelf.ErrorMessage(err))
		}
	}
	if got := e.names(t, ctx, root.ID); len(got) != 0 {
		t.Fatalf("failed finalizes created %v", got)
	}
	it, err := e.svc.Finalize(ctx, u.ID, etags, target)
	if err != nil || !bytes.Equal(e.read(t, ctx, it.ID), data) {
		t.Fatalf("finalize = %+v, %v", it, err)
	}
	again, err := e.svc.Finalize(ctx, u.ID, etags, library.FileTarget{ParentID: root.ID, Name: "other.bin"})
	if err != nil || again.ID != it.ID {
		t.Fatalf("second finalize = %+v, %v; want the same item", again, err)
	}
	if got := e.names(t, ctx, root.ID); fmt.Sprint(got) != "[f.bin]" {
		t.Fatalf("root = %v", got)
	}
	// Parts after finalize are refused.
	_, err = e.svc.WritePart(ctx, u.ID, 1, bytes.NewReader(data[:1024]), 1024)
	wantCode(t, err, shelf.ECONFLICT)
}

// TestUploadLostPart: parts are synced at finalize, not at their PUT, so
// a power cut can lose an acknowledged part's bytes (here: zeroed in the
// staging file, as unsynced pages of a sparse file come back). Finalize
// finds it by its CRC-32C, names it, creates nothing and forgets the part,
// so the upload lists it missing; uploading it again and finalizing again
// makes the file.
func TestUploadLostPart(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	data := bytes.Repeat([]byte("abcdefghij"), 300) // parts of 1024, 1024, 952
	u, err := e.svc.CreateUpload(ctx, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var etags []library.PartETag
	for n := 1; n <= 3; n++ {
		off, l, _ := u.PartRange(n)
		tag, err := e.svc.WritePart(ctx, u.ID, n, bytes.NewReader(data[off:off+l]), l)
		if err != nil {
			t.Fatal(err)
		}
		etags = append(etags, library.PartETag{Number: n, ETag: tag})
	}
	staging := filepath.Join(e.dir, "blobs", "staging", u.ID)
	f, err := os.OpenFile(staging, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 100), 1024+500); err != nil { // inside part 2
		t.Fatal(err)
	}
	f.Close()

	target := library.FileTarget{ParentID: root.ID, Name: "lost.txt"}
	_, err = e.svc.Finalize(ctx, u.ID, etags, target)
	wantCode(t, err, shelf.EINVALID)
	if msg := shelf.ErrorMessage(err); !strings.Contains(msg, "part 2 was lost") {
		t.Fatalf("finalize: %q does not name part 2 as lost", msg)
	}
	if got := e.names(t, ctx, root.ID); len(got) != 0 {
		t.Fatalf("a finalize over a lost part created %v", got)
	}
	got, parts, err := e.svc.GetUpload(ctx, u.ID)
	if err != nil || got.State != shelf.UploadOpen || len(parts) != 2 || parts[0].Number != 1 || parts[1].Number != 3 {
		t.Fatalf("GetUpload = %+v, %+v, %v; want open with parts 1 and 3", got, parts, err)
	}
	_, err = e.svc.Finalize(ctx, u.ID, etags, target)
	wantCode(t, err, shelf.EINVALID) // part 2 has not been uploaded
	off, l, _ := u.PartRange(2)
	if _, err := e.svc.WritePart(ctx, u.ID, 2, bytes.NewReader(data[off:off+l]), l); err != nil {
		t.Fatal(err)
	}
	it, err := e.svc.Finalize(ctx, u.ID, etags, target)
	if err != nil || !bytes.Equal(e.read(t, ctx, it.ID), data) {
		t.Fatalf("finalize after the part was sent again = %+v, %v", it, err)
	}
	if problems, err := e.svc.Fsck(context.Background(), true); err != nil || len(problems) != 0 {
		t.Fatalf("fsck = %v, %v", problems, err)
	}
}

func TestUploadExpiryAndSweep(t *testing.T) {
	e := newEnv(t, library.Config{UploadTTL: time.Minute})
	ctx := e.ctx
	u, _ := e.svc.CreateUpload(ctx, 2000)
	if _, err := e.svc.WritePart(ctx, u.ID, 1, bytes.NewReader(make([]byte, 1024)), 1024); err != nil {
		t.Fatal(err)
	}
	// Activity keeps it alive.
	e.clock.Add(50 * time.Second)
	if _, _, err := e.svc.GetUpload(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(50 * time.Second)
	if _, _, err := e.svc.GetUpload(ctx, u.ID); err != nil {
		t.Fatalf("upload expired despite activity: %v", err)
	}
	e.clock.Add(61 * time.Second)
	_, _, err := e.svc.GetUpload(ctx, u.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.WritePart(ctx, u.ID, 2, bytes.NewReader(make([]byte, 976)), 976)
	wantCode(t, err, shelf.ENOTFOUND)
	n, err := e.svc.Sweep(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	staged := 0
	e.blobs.WalkStaging(context.Background(), func(shelf.BlobInfo) error { staged++; return nil })
	if staged != 0 {
		t.Fatalf("%d staging areas left after the sweep", staged)
	}
	problems, err := e.svc.Fsck(context.Background(), true)
	if err != nil || len(problems) != 0 {
		t.Fatalf("fsck = %v, %v", problems, err)
	}
}

func TestGCKeepsReferencedBlobs(t *testing.T) {
	e := newEnv(t, library.Config{UploadTTL: time.Minute, BlobGrace: time.Hour})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	kept, _ := e.upload(t, ctx, root.ID, "kept", "", []byte("kept bytes"))
	gone, _ := e.upload(t, ctx, root.ID, "gone", "", []byte("gone bytes"))
	if _, err := e.svc.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	// Within the grace period nothing is collected, referenced or not.
	if n, err := e.svc.GC(context.Background()); err != nil || n != 0 {
		t.Fatalf("GC within grace = %d, %v", n, err)
	}
	// Blob mtimes are real time; move the clock past the grace period.
	e.clock.Add(2 * time.Hour)
	n, err := e.svc.GC(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("GC = %d, %v; want 1", n, err)
	}
	if _, err := e.blobs.Stat(context.Background(), gone.Hash); shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("unreferenced blob survived: %v", err)
	}
	if string(e.read(t, ctx, kept.ID)) != "kept bytes" {
		t.Fatal("referenced blob was collected")
	}
	problems, _ := e.svc.Fsck(context.Background(), true)
	if len(problems) != 0 {
		t.Fatalf("fsck = %v", problems)
	}
}

func TestFsckFindsMissingBlob(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	it, _ := e.upload(t, ctx, root.ID, "x", "", []byte("bytes that vanish"))
	// Force the blob out from under its version.
	if err := e.blobs.Delete(context.Background(), it.Hash, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	problems, err := e.svc.Fsck(context.Background(), false)
	if err != nil || len(problems) != 1 || problems[0].Kind != "missing_blob" {
		t.Fatalf("fsck = %+v, %v; want one missing_blob", problems, err)
	}
}

func TestWorkspaceIsolation(t *testing.T) {
	e := newEnv(t, library.Config{})
	root, _ := e.svc.Root(e.ctx)
	it, _ := e.upload(t, e.ctx, root.ID, "secret.txt", "", []byte("secret"))
	u, _ := e.svc.CreateUpload(e.ctx, 10)
	ws, _ := e.svc.CreateWorkspace(e.ctx, "other")
	_, token, _ := e.svc.CreateKey(e.ctx, ws.ID, "k", []shelf.Scope{shelf.ScopeAdmin})
	p, _ := e.svc.Authenticate(context.Background(), token)
	other := shelf.NewContext(context.Background(), p)
	_, err := e.svc.Item(other, it.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	_, _, err = e.svc.Content(other, it.ID, 0)
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.Delete(other, it.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	_, _, err = e.svc.Children(other, root.ID, "", 10)
	wantCode(t, err, shelf.ENOTFOUND)
	_, _, err = e.svc.GetUpload(other, u.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.WritePart(other, u.ID, 1, bytes.NewReader(make([]byte, 10)), 10)
	wantCode(t, err, shelf.ENOTFOUND)
	oroot, _ := e.svc.Root(other)
	_, err = e.svc.Finalize(other, u.ID, nil, library.FileTarget{ParentID: oroot.ID, Name: "x"})
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.CreateFolder(other, root.ID, "x", "", nil)
	wantCode(t, err, shelf.ENOTFOUND)
	if got := e.names(t, other, oroot.ID); len(got) != 0 {
		t.Fatalf("the other workspace sees %v", got)
	}
}

func TestConcurrentPartsAndFinalize(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	data := make([]byte, 64*1024+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	u, _ := e.svc.CreateUpload(ctx, int64(len(data)))
	etags := make([]library.PartETag, u.PartCount())
	var mu sync.Mutex
	var wg sync.WaitGroup
	for n := 1; n <= u.PartCount(); n++ {
		for range 2 { // every part twice, at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				off, l, _ := u.PartRange(n)
				tag, err := e.svc.WritePart(ctx, u.ID, n, bytes.NewReader(data[off:off+l]), l)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				etags[n-1] = library.PartETag{Number: n, ETag: tag}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	items := make([]*shelf.Item, 8)
	for i := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it, err := e.svc.Finalize(ctx, u.ID, etags, library.FileTarget{ParentID: root.ID, Name: "c.bin"})
			if err != nil {
				t.Error(err)
			}
			items[i] = it
		}()
	}
	wg.Wait()
	for _, it := range items {
		if it == nil || it.ID != items[0].ID {
			t.Fatalf("concurrent finalizes made different items")
		}
	}
	if got := e.names(t, ctx, root.ID); fmt.Sprint(got) != "[c.bin]" {
		t.Fatalf("root = %v", got)
	}
	if !bytes.Equal(e.read(t, ctx, items[0].ID), data) {
		t.Fatal("bytes differ")
	}
}
