package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"

	"github.com/shelfmem/shelf/blob/fsblob"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

// self is this process as a server, for a Shelf served in-process.
type self struct{}

func (self) PID() int       { return os.Getpid() }
func (self) Log() string    { return "" }
func (self) String() string { return "in-process" }

// profileShelf uploads the file once to a Shelf served inside this process
// (wired as cmd/shelf wires it: SQLite, fsblob, the core, the HTTP server),
// with a CPU profile, a block and mutex profile and an execution trace
// written to dir. CPU and memory figures include the client, so it prints
// times only. Read the results with
//
//	go tool pprof -top DIR/cpu.pprof
//	go tool trace -pprof=syscall DIR/trace.out > DIR/syscall.pprof   (also sync, net, sched)
func (b *bench) profileShelf(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data := filepath.Join(b.cfg.dir, "inprocess")
	defer os.RemoveAll(data)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	st, err := sqlite.Open(filepath.Join(data, "shelf.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := fsblob.Open(filepath.Join(data, "blobs"))
	if err != nil {
		return err
	}
	defer blobs.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := library.Open(ctx, st, blobs, library.Config{MaxFileSize: max(b.cfg.size, 5<<30), Logger: log})
	if err != nil {
		return err
	}
	if _, err := svc.EnsureMasterKey(ctx, masterKey); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := shelfhttp.NewHTTPServer(ln.Addr().String(), shelfhttp.New(svc, shelfhttp.Options{Logger: log}), log)
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return err
	}
	defer cpu.Close()
	tr, err := os.Create(filepath.Join(dir, "trace.out"))
	if err != nil {
		return err
	}
	defer tr.Close()
	runtime.SetBlockProfileRate(10_000) // one event per 10 µs blocked
	runtime.SetMutexProfileFraction(10)
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return err
	}
	if err := trace.Start(tr); err != nil {
		pprof.StopCPUProfile()
		return err
	}
	r, _, err := b.uploadToShelf(ctx, self{}, "http://"+ln.Addr().String(), data, 0)
	trace.Stop()
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	for _, name := range []string{"block", "mutex"} {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			return err
		}
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	fmt.Printf("in-process Shelf: create %s, parts %s (%.0f MB/s), finalize %s; profiles in %s\n",
		secs(r.create), secs(r.parts), mbps(b.cfg.size, r.parts), secs(r.finalize), dir)
	return nil
}
