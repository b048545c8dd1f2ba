package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/http/memoryinc"
	"github.com/shelfmem/shelf/http/memorylake"
	"github.com/shelfmem/shelf/internal/diskspace"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/internal/tmpfs"
	"github.com/shelfmem/shelf/library"
)

// putDiskFile writes body at path through the native API and returns the
// answer.
func putDiskFile(t *testing.T, e *shelftest.Env, path string, body []byte) *shelftest.Response {
	t.Helper()
	return e.Do(t, "PUT", "/v1/files/"+path, master, body)
}

func itemIDOf(t *testing.T, r *shelftest.Response) string {
	t.Helper()
	var w struct {
		Item struct{ ID string } `json:"item"`
	}
	r.JSON(t, &w)
	return w.Item.ID
}

// waitFor polls cond every 20 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A full disk, injected: a delete still commits (the reserve is given back
// and the transaction runs again), every API refuses new content at once
// with its own shape of 507 (MemoryLake's 402 QUOTA_EXCEEDED) while the disk
// is short, the deleted file's blob is reclaimed without the 24 h grace,
// and once space is back the reserve is made again and uploads work.
func TestFullDiskRecoversThroughTheAPI(t *testing.T) {
	disk := &shelftest.Disk{}
	space := shelftest.NewSpace(disk, 1<<20, 1<<40)
	e := shelftest.NewWith(t, t.TempDir(), library.Config{Space: space, SpaceLow: 1 << 20, SpaceCheck: 50 * time.Millisecond},
		shelftest.Options{Wrap: disk.Wrap})
	big := func(word string) []byte { return bytes.Repeat([]byte(word+" "), 40<<10/(len(word)+1)) }
	r := putDiskFile(t, e, "old.txt", big("old"))
	if r.Status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	oldID := itemIDOf(t, r)
	keep := putDiskFile(t, e, "keep.txt", big("keep"))
	keepID := itemIDOf(t, keep)
	e.WaitIndexed(t, master)
	var sp struct{ ID string }
	if r := e.Do(t, "POST", "/api/v1/space/create", master, map[string]any{"name": "s"}); r.Status != http.StatusOK {
		t.Fatalf("create space: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &sp)
	}
	if r := e.Do(t, "POST", "/api/libraries", master, map[string]any{"name": "L", "slug": "lib"}); r.Status != http.StatusCreated {
		t.Fatalf("create library: %d %s", r.Status, r.Body)
	}
	var oldHash string
	err := e.Store.View(t.Context(), func(tx shelf.Tx) error {
		v, err := tx.Version(t.Context(), shelftestWorkspace(t, e), oldID, 1)
		if err == nil {
			oldHash = v.Hash
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// The disk fills up.
	disk.StoreFull.Store(true)
	disk.BlobsFull.Store(true)
	space.SetFree(0)
	if r := e.Do(t, "DELETE", "/v1/items/"+oldID, master, nil); r.Status != http.StatusOK {
		t.Fatalf("DELETE on a full disk: %d %s; want it to commit", r.Status, r.Body)
	}
	if space.Releases() != 1 {
		t.Fatalf("the reserve was released %d times", space.Releases())
	}
	writes := disk.BlobWrites.Load()
	small := []byte("tiny")
	for _, c := range []struct {
		what, method, path string
		body               any
		status             int
		want               string
	}{
		{"native", "PUT", "/v1/files/new.txt", small, 507, `"code":"insufficient"`},
		{"native upload", "POST", "/v1/uploads", map[string]any{"size": 10}, 507, `"code":"insufficient"`},
		{"memory.inc", "POST", memoryinc.IngestPath, map[string]any{"source_name": "s", "external_id": "x", "content": "tiny"},
			507, `"code":"insufficient_storage"`},
		{"ChatBotKit", "POST", "/api/v1/space/" + sp.ID + "/storage/upload/a.txt", small, 507, `"code":"INSUFFICIENT_STORAGE"`},
		{"Informer", "PUT", "/api/libraries/lib/contents/a.txt", small, 507, `"error":"Insufficient Storage"`},
		{"MemoryLake", "POST", memorylake.Prefix + "/drives/items/upload", map[string]any{"file_size": 10}, 402, `"error_code":"QUOTA_EXCEEDED"`},
	} {
		var r *shelftest.Response
		if b, ok := c.body.([]byte); ok {
			r = e.DoWith(t, c.method, c.path, master, http.Header{"Content-Type": {"text/plain"}}, b)
		} else {
			r = e.Do(t, c.method, c.path, master, c.body)
		}
		if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%s on a short disk: %d %s; want %d with %s", c.what, r.Status, r.Body, c.status, c.want)
		}
	}
	if n := disk.BlobWrites.Load(); n != writes {
		t.Fatalf("%d blob writes tried on a short disk; content must be refused before it is written", n-writes)
	}
	// Renames and other deletes go on.
	if r := e.Do(t, "PATCH", "/v1/items/"+keepID, master, map[string]any{"name": "kept.txt"}); r.Status != http.StatusOK {
		t.Fatalf("rename on a short disk: %d %s", r.Status, r.Body)
	}
	// The deleted file's blob goes without waiting 24 h; the kept one stays.
	waitFor(t, "the deleted file's blob to be reclaimed", func() bool {
		_, err := e.Blobs.Stat(t.Context(), oldHash)
		return shelf.ErrorCode(err) == shelf.ENOTFOUND
	})

	// Space comes back.
	disk.BlobsFull.Store(false)
	space.SetFree(1 << 40)
	waitFor(t, "the disk to be no longer short", func() bool { return !e.Service.SpaceShort() })
	if _, held := space.Reserve(); !held {
		t.Fatal("the reserve was not made again")
	}
	if r := putDiskFile(t, e, "new.txt", small); r.Status != http.StatusCreated {
		t.Fatalf("PUT once space is back: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/items/"+keepID+"/content", master, nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, big("keep")) {
		t.Fatalf("the kept file: %d, %d bytes", r.Status, len(r.Body))
	}
}

// shelftestWorkspace is the default workspace's id.
func shelftestWorkspace(t *testing.T, e *shelftest.Env) string {
	t.Helper()
	return shelf.PrincipalFrom(e.Context(t)).WorkspaceID
}

// A real full disk (a small tmpfs): uploads fill it until one is refused
// with 507 and leaves nothing behind; a part that does not fit is refused
// and gives its bytes back; deletes commit; their blobs are reclaimed at
// once; the reserve comes back; uploads work again; nothing acknowledged
// is lost.
func TestRealFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 24<<20)
	reserve, err := diskspace.Open(dir, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	e := shelftest.NewAt(t, dir, library.Config{Space: reserve, SpaceLow: 1 << 20, SpaceCheck: 50 * time.Millisecond,
		MinPartSize: 1 << 20, Index: library.IndexConfig{Workers: -1}})
	file := func(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("file %d ", i)), (1<<20)/8) }
	var ids []string
	for i := 0; ; i++ {
		if i == 40 {
			t.Fatal("40 MiB fitted on a 24 MiB disk")
		}
		r := putDiskFile(t, e, fmt.Sprintf("f%02d.bin", i), file(i))
		if r.Status == http.StatusInsufficientStorage {
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			if json.Unmarshal(r.Body, &body); body.Error.Code != "insufficient" {
				t.Fatalf("507 body %s", r.Body)
			}
			break
		}
		if r.Status != http.StatusCreated {
			t.Fatalf("PUT %d: %d %s", i, r.Status, r.Body)
		}
		ids = append(ids, itemIDOf(t, r))
	}
	if len(ids) < 4 {
		t.Fatalf("only %d files fitted", len(ids))
	}
	if tmp, err := os.ReadDir(filepath.Join(dir, "blobs", "tmp")); err != nil || len(tmp) != 0 {
		t.Fatalf("temp files after the refused upload: %v, %v", tmp, err)
	}
	if !e.Service.SpaceShort() {
		t.Fatal("the disk is not short after a write failed for lack of space")
	}
	// New content is refused at once, parts included.
	if r := e.Do(t, "POST", "/v1/uploads", master, map[string]any{"size": 3 << 20}); r.Status != http.StatusInsufficientStorage {
		t.Fatalf("an upload session on a short disk: %d %s", r.Status, r.Body)
	}
	// Deletes commit, and their blobs go at once. (The files were written
	// within the last second, and a blob touched in the 2 s before the
	// oldest write in flight is spared: let those pass.)
	time.Sleep(2100 * time.Millisecond)
	before := tmpfs.Free(t, dir)
	for _, id := range ids[:len(ids)/2] {
		if r := e.Do(t, "DELETE", "/v1/items/"+id, master, nil); r.Status != http.StatusOK {
			t.Fatalf("DELETE on a full disk: %d %s", r.Status, r.Body)
		}
	}
	waitFor(t, "the space of the deleted files to come back and the reserve to be made again", func() bool {
		_, held := reserve.Reserve()
		// Blobs are reclaimed without the grace only while the disk is
		// short: enough of them to make the reserve and leave --disk-low.
		return !e.Service.SpaceShort() && held && tmpfs.Free(t, dir) >= before-(2<<20)+(1<<20)
	})
	// A part bigger than what is left is refused and gives its bytes back.
	free := tmpfs.Free(t, dir)
	r := e.Do(t, "POST", "/v1/uploads", master, map[string]any{"size": free + 4<<20})
	if r.Status != http.StatusCreated {
		t.Fatalf("create upload: %d %s", r.Status, r.Body)
	}
	var up struct {
		Upload struct {
			ID string `json:"id"`
		} `json:"upload"`
		Parts []struct {
			Number int    `json:"number"`
			URL    string `json:"upload_url"`
			Size   int64  `json:"size"`
		} `json:"parts"`
	}
	r.JSON(t, &up)
	var failed bool
	for _, p := range up.Parts {
		r := e.Do(t, "PUT", p.URL, "", bytes.Repeat([]byte{'x'}, int(p.Size)))
		if r.Status == http.StatusInsufficientStorage {
			failed = true
			break
		}
		if r.Status != http.StatusOK {
			t.Fatalf("part %d: %d %s", p.Number, r.Status, r.Body)
		}
	}
	if !failed {
		t.Fatal("every part of an upload larger than the disk was taken")
	}
	if r := e.Do(t, "DELETE", "/v1/uploads/"+up.Upload.ID, master, nil); r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("abort the upload: %d %s", r.Status, r.Body)
	}
	waitFor(t, "the space of the aborted upload to come back", func() bool {
		return !e.Service.SpaceShort() && tmpfs.Free(t, dir) >= free-(512<<10)
	})
	if r := putDiskFile(t, e, "after.bin", file(99)); r.Status != http.StatusCreated {
		t.Fatalf("PUT once space is back: %d %s", r.Status, r.Body)
	}
	for i, id := range ids[len(ids)/2:] {
		r := e.Do(t, "GET", "/v1/items/"+id+"/content", master, nil)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, file(len(ids)/2+i)) {
			t.Fatalf("file %s after the full disk: %d, %d bytes", id, r.Status, len(r.Body))
		}
	}
	problems, err := e.Service.Fsck(t.Context(), true)
	if err != nil || len(problems) != 0 {
		t.Fatalf("fsck after the full disk: %+v, %v", problems, err)
	}
}
