package search

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/keyword"
	"github.com/shelfmem/shelf/index/vector"
)

// The indexes are saved in Config.Dir, one file for the keyword index of
// every workspace (keyword.idx) and one for the vector indexes of the
// model (vector.idx). A file is written whole to a temporary file in the
// same directory, synced, renamed over the old one and the directory
// synced, so a crash leaves the old file or the new one, never a part. A
// file missing, damaged, of another format or version, or of another
// model is not loaded: the index is built from the store as if there
// were no file, and the next save replaces it.
//
// The format, fixed-size integers little-endian:
//
//	magic "SHELFSIX", version uint32 (1), kind byte ('k' or 'v')
//	model: length uint32, bytes ("" for the keyword index)
//	feed: Last int64, LastDel int64 (the keyword index's)
//	entries uint32
//	CRC-32C (Castagnoli) of the header above, uint32
//	each entry: workspace (length uint32, bytes), feed (Last, LastDel
//	  int64: a vector index's), length uint64, then that many bytes of
//	  an index as keyword.Index.WriteTo or vector.Index.WriteTo writes it
//	  (each checks itself: a version and a CRC-32C of its own)
//
// A saved feed may be older than its index (a catch-up that ran while it
// was written): catching up again from it is harmless (see feed.catchUp).
const (
	fileMagic   = "SHELFSIX"
	fileVersion = 1
	keywordFile = "keyword.idx"
	vectorFile  = "vector.idx"
	maxName     = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// entry is one workspace's index in a file.
type entry struct {
	ws    string
	feed  feed
	write func(io.Writer) (int64, error)
}

// Save writes the indexes that changed since they were last saved (or
// loaded). Without a Dir it does nothing.
func (e *Engine) Save() error {
	if e.cfg.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(e.cfg.Dir, 0o700); err != nil {
		return err
	}
	return errors.Join(e.saveKeywords(), e.saveVectors())
}

func (e *Engine) saveKeywords() error {
	k := &e.kw
	k.mu.Lock()
	if !k.built || !k.changed {
		k.mu.Unlock()
		return nil
	}
	f := k.feed
	var entries []entry
	for ws, x := range k.byWS {
		entries = append(entries, entry{ws: ws, write: x.WriteTo})
	}
	k.changed = false
	k.mu.Unlock()
	start := time.Now()
	if err := e.writeFile(keywordFile, 'k', "", f, entries); err != nil {
		k.mu.Lock()
		k.changed = true
		k.mu.Unlock()
		return err
	}
	if n := len(entries); n > 0 {
		e.log.Debug("keyword index saved", "workspaces", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func (e *Engine) saveVectors() error {
	if e.cfg.Model == "" {
		return nil
	}
	e.vecs.mu.Lock()
	all := make([]*wsVectors, 0, len(e.vecs.byWS))
	for _, w := range e.vecs.byWS {
		all = append(all, w)
	}
	e.vecs.mu.Unlock()
	var entries []entry
	changed := false
	var took []*wsVectors
	for _, w := range all {
		w.mu.Lock()
		if w.idx != nil {
			entries = append(entries, entry{ws: w.ws, feed: w.feed, write: w.idx.WriteTo})
		}
		if w.changed {
			changed, w.changed = true, false
			took = append(took, w)
		}
		w.mu.Unlock()
	}
	if !changed {
		return nil
	}
	if err := e.writeFile(vectorFile, 'v', e.cfg.Model, feed{}, entries); err != nil {
		for _, w := range took {
			w.mu.Lock()
			w.changed = true
			w.mu.Unlock()
		}
		return err
	}
	return nil
}

// writeFile writes a file of entries atomically.
func (e *Engine) writeFile(name string, kind byte, model string, f feed, entries []entry) (err error) {
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.ws < b.ws:
			return -1
		case a.ws > b.ws:
			return 1
		}
		return 0
	})
	tmp, err := os.CreateTemp(e.cfg.Dir, name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	h := []byte(fileMagic)
	h = binary.LittleEndian.AppendUint32(h, fileVersion)
	h = append(h, kind)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(model)))
	h = append(h, model...)
	h = binary.LittleEndian.AppendUint64(h, uint64(f.Last))
	h = binary.LittleEndian.AppendUint64(h, uint64(f.LastDel))
	h = binary.LittleEndian.AppendUint32(h, uint32(len(entries)))
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
	if _, err := bw.Write(h); err != nil {
		return err
	}
	for _, en := range entries {
		// The index's length comes before it, but an index can be
		// gigabytes: it is written straight to the file after a
		// placeholder, and its length patched in.
		var eh []byte
		eh = binary.LittleEndian.AppendUint32(eh, uint32(len(en.ws)))
		eh = append(eh, en.ws...)
		eh = binary.LittleEndian.AppendUint64(eh, uint64(en.feed.Last))
		eh = binary.LittleEndian.AppendUint64(eh, uint64(en.feed.LastDel))
		if _, err := bw.Write(eh); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		at, err := tmp.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		if _, err := tmp.Write(make([]byte, 8)); err != nil {
			return err
		}
		n, err := en.write(bw)
		if err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if _, err := tmp.WriteAt(binary.LittleEndian.AppendUint64(nil, uint64(n)), at); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(e.cfg.Dir, name)); err != nil {
		return err
	}
	d, err := os.Open(e.cfg.Dir)
	if err != nil {
		return nil // renamed; the directory's sync is best effort
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// readFile reads a file's entries, calling load with each index's bytes.
func readFile(path string, kind byte, model string, load func(ws string, f feed, r io.Reader) error) (feed, error) {
	file, err := os.Open(path)
	if err != nil {
		return feed{}, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return feed{}, err
	}
	br := bufio.NewReaderSize(file, 1<<20)
	bad := func(why string) error { return fmt.Errorf("%s: %s", path, why) }
	h := make([]byte, len(fileMagic)+4+1+4)
	if _, err := io.ReadFull(br, h); err != nil {
		return feed{}, bad("cut short")
	}
	if string(h[:len(fileMagic)]) != fileMagic {
		return feed{}, bad("not a saved index")
	}
	if v := binary.LittleEndian.Uint32(h[len(fileMagic):]); v != fileVersion {
		return feed{}, bad(fmt.Sprintf("format version %d", v))
	}
	if h[len(fileMagic)+4] != kind {
		return feed{}, bad("another kind of index")
	}
	mlen := binary.LittleEndian.Uint32(h[len(h)-4:])
	if mlen > maxName {
		return feed{}, bad("bad header")
	}
	rest := make([]byte, int(mlen)+8+8+4+4)
	if _, err := io.ReadFull(br, rest); err != nil {
		return feed{}, bad("cut short")
	}
	h = append(h, rest...)
	if crc32.Checksum(h[:len(h)-4], castagnoli) != binary.LittleEndian.Uint32(h[len(h)-4:]) {
		return feed{}, bad("header checksum")
	}
	if string(rest[:mlen]) != model {
		return feed{}, bad("of another model")
	}
	rest = rest[mlen:]
	f := feed{Last: int64(binary.LittleEndian.Uint64(rest)), LastDel: int64(binary.LittleEndian.Uint64(rest[8:]))}
	n := binary.LittleEndian.Uint32(rest[16:])
	for range n {
		var l [4]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return feed{}, bad("cut short")
		}
		wl := binary.LittleEndian.Uint32(l[:])
		if wl > maxName {
			return feed{}, bad("bad entry")
		}
		eh := make([]byte, int(wl)+24)
		if _, err := io.ReadFull(br, eh); err != nil {
			return feed{}, bad("cut short")
		}
		ws := string(eh[:wl])
		ef := feed{Last: int64(binary.LittleEndian.Uint64(eh[wl:])), LastDel: int64(binary.LittleEndian.Uint64(eh[wl+8:]))}
		size := binary.LittleEndian.Uint64(eh[wl+16:])
		if size > uint64(st.Size()) {
			// No entry is larger than its file: a reader may size its
			// buffer by it.
			return feed{}, bad("cut short")
		}
		lr := &io.LimitedReader{R: br, N: int64(size)}
		if err := load(ws, ef, lr); err != nil {
			return feed{}, bad(err.Error())
		}
		if _, err := io.Copy(io.Discard, lr); err != nil {
			return feed{}, bad("cut short")
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return feed{}, bad("trailing bytes")
	}
	return f, nil
}

// load reads the saved indexes, if there are any and they are good; the
// indexes not loaded are built from the store when first needed.
func (e *Engine) load() {
	e.kwLoaded.Do(e.loadKeywords)
	e.vecLoaded.Do(e.loadVectors)
}

func (e *Engine) loadKeywords() {
	if e.cfg.Dir == "" {
		return
	}
	start := time.Now()
	if k := &e.kw; k.limit > 0 {
		byWS := map[string]*keyword.Index{}
		f, err := readFile(filepath.Join(e.cfg.Dir, keywordFile), 'k', "", func(ws string, _ feed, r io.Reader) error {
			x, err := keyword.Read(r)
			byWS[ws] = x
			return err
		})
		switch {
		case err == nil:
			k.mu.Lock()
			if !k.built && !k.over {
				k.byWS, k.feed, k.built, k.grew = byWS, f, true, true
				e.log.Info("keyword index loaded", "chunks", k.len(), "took", time.Since(start).Round(time.Millisecond))
			}
			k.mu.Unlock()
		case !errors.Is(err, os.ErrNotExist):
			e.log.Warn("keyword index: the saved index is not usable; building it from the store", "err", err)
		}
	}
}

func (e *Engine) loadVectors() {
	if e.cfg.Dir == "" || e.cfg.Model == "" {
		return
	}
	start := time.Now()
	loaded := map[string]*wsVectors{}
	_, err := readFile(filepath.Join(e.cfg.Dir, vectorFile), 'v', e.cfg.Model, func(ws string, f feed, r io.Reader) error {
		x, err := vector.Read(r)
		loaded[ws] = &wsVectors{ws: ws, idx: x, feed: f, checkedAt: e.cfg.Now()}
		return err
	})
	switch {
	case err == nil:
		e.vecs.mu.Lock()
		if e.vecs.byWS == nil {
			e.vecs.byWS = map[string]*wsVectors{}
		}
		n := 0
		for ws, w := range loaded {
			if _, ok := e.vecs.byWS[ws]; !ok {
				e.vecs.byWS[ws] = w
				n += w.idx.Len()
			}
		}
		e.vecs.mu.Unlock()
		e.log.Info("vector indexes loaded", "vectors", n, "workspaces", len(loaded), "took", time.Since(start).Round(time.Millisecond))
	case !errors.Is(err, os.ErrNotExist):
		e.log.Warn("vector index: the saved index is not usable; building it from the store", "err", err)
	}
}

// Run catches the keyword index up with the store every FollowEvery,
// saves the indexes every SaveEvery while they change, and, when ctx
// ends, catches up and saves once more; it returns after that save.
func (e *Engine) Run(ctx context.Context) {
	follow := time.NewTicker(e.cfg.FollowEvery)
	defer follow.Stop()
	var save <-chan time.Time
	if e.cfg.Dir != "" {
		t := time.NewTicker(e.cfg.SaveEvery)
		defer t.Stop()
		save = t.C
	}
	for {
		select {
		case <-ctx.Done():
			if e.cfg.Dir == "" {
				return
			}
			// What the store added since the last follow is at most
			// FollowEvery's worth: take it in, so that the next start
			// loads an index that is current.
			e.follow(context.WithoutCancel(ctx))
			if err := e.Save(); err != nil {
				e.log.Warn("search indexes: saving them failed; the next start rebuilds or catches up more", "err", err)
			}
			return
		case <-follow.C:
			e.follow(ctx)
		case <-save:
			if err := e.Save(); err != nil {
				e.log.Warn("search indexes: saving them failed; trying again later", "err", err)
			}
		}
	}
}

// follow catches the keyword index, once built, up with the store, as the
// next search would: done in the background, it spares that search the
// wait after a bulk of writes, and keeps what Save writes current.
func (e *Engine) follow(ctx context.Context) {
	e.kw.mu.Lock()
	built := e.kw.built
	e.kw.mu.Unlock()
	if !built {
		return
	}
	err := e.view(ctx, func(tx shelf.SearchTx) error {
		_, _, err := e.kw.index(ctx, tx, "")
		return err
	})
	if err != nil && ctx.Err() == nil {
		e.log.Warn("search indexes: following the store failed; the next search tries again", "err", err)
	}
}
