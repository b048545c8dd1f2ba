package isolate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

// DefaultMemory is a child's default memory cap: 256 MiB.
const DefaultMemory = 256 << 20

// Config sets up an Extractor. Zero values take the defaults.
type Config struct {
	// Command starts a child: the program and its arguments. The
	// Extractor appends "--memory" and the cap in bytes; the program must
	// then call Serve(os.Stdin, os.Stdout, cap). Required.
	Command []string
	// Env is added to the children's environment.
	Env []string
	// Memory caps what a child may map beyond what it has at start.
	// Default DefaultMemory.
	Memory int64
	// Uses is how many files a child reads before it is replaced; 1
	// starts a child for every file. Default 1,000.
	Uses int
	// Keep is how many idle children are kept for the next files.
	// Default 4.
	Keep int
	// Idle is how long an idle child is kept. Default 5 minutes.
	Idle time.Duration
	// Grace is how long past an extraction's own time limit a child may
	// run before it is killed. Default 10 seconds.
	Grace time.Duration
	// Logger receives the children's deaths. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Memory <= 0 {
		c.Memory = DefaultMemory
	}
	if c.Uses <= 0 {
		c.Uses = 1000
	}
	if c.Keep <= 0 {
		c.Keep = 4
	}
	if c.Idle <= 0 {
		c.Idle = 5 * time.Minute
	}
	if c.Grace <= 0 {
		c.Grace = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Extractor extracts text in child processes. It is safe for concurrent
// use; each call takes a child of its own.
type Extractor struct {
	cfg     Config
	mu      sync.Mutex
	idle    []*child
	closed  bool
	stop    chan struct{}
	started atomic.Int64
}

// New returns an Extractor and checks that a child starts and extracts a
// small file under the configured cap, so a misconfiguration (a cap too
// small for the runtime, a missing binary) is found at start, not file by
// file.
func New(cfg Config) (*Extractor, error) {
	cfg.setDefaults()
	if len(cfg.Command) == 0 {
		return nil, errors.New("isolate: no command to start a child with")
	}
	e := &Extractor{cfg: cfg, stop: make(chan struct{})}
	probe := "Shelf checks that its extraction worker starts."
	doc, err := e.Extract(context.Background(), func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(probe)), nil
	}, int64(len(probe)), "text/plain", "probe.txt", extract.Limits{Timeout: 10 * time.Second})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("isolate: the extraction worker does not work with a %d MiB cap: %w", cfg.Memory>>20, err)
	}
	if doc.Text != probe {
		e.Close()
		return nil, fmt.Errorf("isolate: the extraction worker answered %q", doc.Text)
	}
	go e.reap()
	return e, nil
}

// Started is how many children have been started.
func (e *Extractor) Started() int64 { return e.started.Load() }

// Close stops the idle children. Children in use stop when their file is
// done.
func (e *Extractor) Close() error {
	e.mu.Lock()
	idle := e.idle
	e.idle = nil
	if !e.closed {
		e.closed = true
		close(e.stop)
	}
	e.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
	return nil
}

// reap closes children idle for longer than cfg.Idle.
func (e *Extractor) reap() {
	t := time.NewTicker(e.cfg.Idle / 2)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		var old []*child
		e.mu.Lock()
		kept := e.idle[:0]
		for _, c := range e.idle {
			if time.Since(c.idleSince) > e.cfg.Idle {
				old = append(old, c)
			} else {
				kept = append(kept, c)
			}
		}
		e.idle = kept
		e.mu.Unlock()
		for _, c := range old {
			c.close()
		}
	}
}

// Extract reads the text of a file of size bytes, which open reads from
// its start, in a child process, with the limits lim. open may be called
// twice: a file is tried once more in a fresh child when the child that
// read it had read other files before and died.
//
// Errors carry Extract's codes; in addition, a child that dies reading the
// file gives ETOOLARGE when it ran out of memory, ETIMEOUT when it was
// killed at the time limit, and EINVALID when it crashed. A child that
// cannot be started gives EUNAVAILABLE. If ctx ends first, the child is
// killed and ctx's error returned.
func (e *Extractor) Extract(ctx context.Context, open func() (io.ReadCloser, error), size int64, contentType, name string,
	lim extract.Limits) (*extract.Doc, error) {
	lim = lim.WithDefaults()
	if size > lim.MaxInput {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "extract: file is %d bytes, the limit is %d", size, lim.MaxInput)
	}
	for attempt := 0; ; attempt++ {
		c, err := e.get()
		if err != nil {
			e.cfg.Logger.Error("text extraction: cannot start a worker", "err", err)
			return nil, shelf.Errorf(shelf.EUNAVAILABLE, "text extraction is unavailable: its worker process cannot be started")
		}
		fresh := c.uses == 0
		r := e.run(ctx, c, open, size, contentType, name, lim)
		if r.child == nil {
			e.put(c, r.retire)
			return r.doc, r.err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !fresh && attempt == 0 && !r.timedOut {
			// Perhaps the files before this one brought the child to
			// its end: try once more, alone.
			e.cfg.Logger.Warn("text extraction: a worker died; trying the file again in a fresh one",
				"file", name, "reason", shelf.ErrorMessage(r.child))
			continue
		}
		e.cfg.Logger.Warn("text extraction: a worker died reading a file", "file", name, "reason", shelf.ErrorMessage(r.child))
		return nil, r.child
	}
}

// result is what one run gave. child is set when the child died (or was
// killed): the error that explains it.
type result struct {
	doc      *extract.Doc
	err      error
	child    error
	retire   bool // the child lives but should not be reused
	timedOut bool
}

func (e *Extractor) run(ctx context.Context, c *child, open func() (io.ReadCloser, error), size int64, contentType, name string,
	lim extract.Limits) result {
	c.uses++
	c.stderr.reset()
	var timedOut atomic.Bool
	stopCtx := context.AfterFunc(ctx, c.kill)
	defer stopCtx()
	timer := time.AfterFunc(lim.Timeout+e.cfg.Grace, func() {
		timedOut.Store(true)
		c.kill()
	})
	defer timer.Stop()
	dead := func() result {
		c.kill()
		return result{child: e.death(c, lim, timedOut.Load()), timedOut: timedOut.Load()}
	}

	src, err := open()
	if err != nil {
		return result{err: err}
	}
	defer src.Close()
	if err := writeHeader(c.in, request{ContentType: contentType, Name: name, Size: size, Limits: toWire(lim)}); err != nil {
		return dead()
	}
	cr := &countReader{r: src}
	if _, err := io.CopyN(c.in, cr, size); err != nil {
		if cr.err != nil || cr.n < size && err == io.EOF {
			// The content could not be read: not the file's fault, but
			// the child now waits for bytes that will not come.
			c.kill()
			return result{err: fmt.Errorf("isolate: reading the file's content: %w", noEOF(errors.Join(cr.err, err))), retire: true}
		}
		return dead()
	}
	if err := c.in.Flush(); err != nil {
		return dead()
	}
	var a answer
	if err := readHeader(c.out, &a); err != nil {
		return dead()
	}
	if a.Code != "" {
		// A child that gave up at its own deadline may still have a
		// goroutine running the parser: it is not reused.
		return result{err: failure(a), retire: a.Code == shelf.ETIMEOUT}
	}
	doc, err := readDoc(c.out, a, lim)
	if errors.Is(err, errBadAnswer) {
		c.kill()
		return result{child: shelf.Errorf(shelf.EINVALID, "text extraction failed on this file: its worker's answer was malformed")}
	} else if err != nil {
		return dead()
	}
	return result{doc: doc}
}

// death waits for a killed or dead child and explains its end.
func (e *Extractor) death(c *child, lim extract.Limits, timedOut bool) error {
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
	}
	said := c.stderr.String()
	status := "still running"
	if c.state != nil {
		status = c.state.String()
	}
	e.cfg.Logger.Debug("text extraction: worker ended", "status", status, "stderr", said)
	switch {
	case timedOut:
		return shelf.Errorf(shelf.ETIMEOUT, "text extraction took longer than %s and was stopped", lim.Timeout+e.cfg.Grace)
	case outOfMemory(said), c.signaled(syscall.SIGKILL) && !c.killed.Load():
		return shelf.Errorf(shelf.ETOOLARGE, "reading this file needs more memory than the %d MiB text extraction may use", e.cfg.Memory>>20)
	case strings.Contains(said, "stack exceeds"):
		return shelf.Errorf(shelf.EINVALID, "the file is nested too deeply to read (text extraction overflowed its stack)")
	}
	return shelf.Errorf(shelf.EINVALID, "text extraction crashed reading this file (%s)", crashLine(said, status))
}

// outOfMemory reports whether a child's last words say it could not get
// memory: the Go runtime's own messages when an allocation, a stack or a
// thread fails under the cap.
func outOfMemory(stderr string) bool {
	for _, s := range []string{"out of memory", "cannot allocate memory", "failed to reserve", "failed to create new OS thread",
		"pthread_create failed", "runtime: program exceeds"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// crashLine picks the line of a child's stderr that says why it ended.
func crashLine(stderr, status string) string {
	for line := range strings.SplitSeq(stderr, "\n") {
		if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "panic:") {
			return strings.TrimSpace(line)
		}
	}
	return status
}

// get takes an idle child or starts one.
func (e *Extractor) get() (*child, error) {
	e.mu.Lock()
	for len(e.idle) > 0 {
		c := e.idle[len(e.idle)-1]
		e.idle = e.idle[:len(e.idle)-1]
		select {
		case <-c.exited:
			continue
		default:
		}
		e.mu.Unlock()
		return c, nil
	}
	e.mu.Unlock()
	return e.start()
}

// put keeps a child for the next file, or stops it.
func (e *Extractor) put(c *child, retire bool) {
	if !retire && c.uses < e.cfg.Uses {
		e.mu.Lock()
		if !e.closed && len(e.idle) < e.cfg.Keep {
			c.idleSince = time.Now()
			e.idle = append(e.idle, c)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
	}
	c.close()
}

// child is a running worker process.
type child struct {
	cmd       *exec.Cmd
	pipe      io.WriteCloser
	in        *bufio.Writer
	out       *bufio.Reader
	stderr    *head
	uses      int
	idleSince time.Time
	exited    chan struct{}
	state     *os.ProcessState // set once exited is closed
	killed    atomic.Bool      // this process killed it
}

func (e *Extractor) start() (*child, error) {
	args := append(append([]string(nil), e.cfg.Command[1:]...), "--memory", strconv.FormatInt(e.cfg.Memory, 10))
	cmd := exec.Command(e.cfg.Command[0], args...)
	cmd.SysProcAttr = sysProcAttr()
	if len(e.cfg.Env) > 0 {
		cmd.Env = append(os.Environ(), e.cfg.Env...)
	}
	c := &child{cmd: cmd, stderr: &head{max: 16 << 10}, exited: make(chan struct{})}
	cmd.Stderr = c.stderr
	var err error
	if c.pipe, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e.started.Add(1)
	c.in = bufio.NewWriterSize(c.pipe, 64<<10)
	c.out = bufio.NewReaderSize(stdout, 64<<10)
	go func() {
		_ = cmd.Wait()
		c.state = cmd.ProcessState
		close(c.exited)
	}()
	return c, nil
}

// kill ends the child at once.
func (c *child) kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.killed.Store(true)
	_ = c.cmd.Process.Kill()
}

// close asks the child to end (its input ends) and kills it if it has not
// within a second.
func (c *child) close() {
	_ = c.pipe.Close()
	select {
	case <-c.exited:
	case <-time.After(time.Second):
		c.kill()
		<-c.exited
	}
}

// signaled reports whether the child was ended by sig.
func (c *child) signaled(sig syscall.Signal) bool {
	if c.state == nil {
		return false
	}
	ws, ok := c.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// head keeps the first max bytes written to it since its last reset: a
// Go runtime that dies says why in its first line.
type head struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (h *head) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *head) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.b = h.b[:0]
}

func (h *head) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.b)
}
