package diskspace_test

import (
	"os"
	"path/filepath"
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/diskspace"
	"github.com/shelfmem/shelf/internal/tmpfs"
)

// The reserve takes real room, gives it back when released, cannot be
// made without the room (and leaves nothing then), and is made again once
// the room is there.
func TestReserve(t *testing.T) {
	dir := tmpfs.Mount(t, 8<<20)
	free0 := tmpfs.Free(t, dir)
	r, err := diskspace.Open(dir, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	if size, held := r.Reserve(); size != 2<<20 || !held {
		t.Fatalf("Reserve = %d, %v", size, held)
	}
	if free, err := r.Free(); err != nil || free > free0-(2<<20) {
		t.Fatalf("Free with the reserve = %d, %v; %d before it", free, err, free0)
	}
	// Opening again keeps it.
	if r2, err := diskspace.Open(dir, 2<<20); err != nil {
		t.Fatal(err)
	} else if _, held := r2.Reserve(); !held || tmpfs.Free(t, dir) > free0-(2<<20) {
		t.Fatal("a second Open did not keep the reserve")
	}
	n, err := r.Release()
	if err != nil || n != 2<<20 {
		t.Fatalf("Release = %d, %v", n, err)
	}
	if n, err := r.Release(); err != nil || n != 0 {
		t.Fatalf("a second Release = %d, %v", n, err)
	}
	if free := tmpfs.Free(t, dir); free < free0 {
		t.Fatalf("free after Release %d, %d before the reserve", free, free0)
	}
	// Fill the disk: no room for the reserve.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, free0-(1<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(); shelf.ErrorCode(err) != shelf.EINSUFFICIENT {
		t.Fatalf("Restore on a full disk = %v, want EINSUFFICIENT", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files after a failed Restore: %v", entries)
	}
	if _, held := r.Reserve(); held {
		t.Fatal("the reserve is held after a failed Restore")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	if _, held := r.Reserve(); !held || tmpfs.Free(t, dir) > free0-(2<<20) {
		t.Fatal("Restore did not take the room back")
	}
	// A size of 0 keeps none.
	if _, err := diskspace.Open(dir, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, diskspace.FileName)); !os.IsNotExist(err) {
		t.Fatalf("the reserve file stays with a size of 0: %v", err)
	}
}
