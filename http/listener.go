package http

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConnections is how many connections a server holds at once
// unless told otherwise: far above the clients of a busy deployment (the
// 256-client load of docs/PERFORMANCE.md), far below what exhausts file
// descriptors or memory.
const DefaultMaxConnections = 4096

// refusal is what a connection beyond the cap reads: a complete HTTP/1.1
// answer, sent before its request is read, after which the server closes.
var refusal = func() []byte {
	body := `{"error":{"code":"unavailable","message":"the server is at its connection limit; retry shortly"}}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\n" +
		"Content-Type: application/json; charset=utf-8\r\n" +
		"Retry-After: 1\r\n" +
		"Connection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// maxRefusing bounds the connections being refused at once; beyond it a
// connection is closed without an answer, so a flood costs no more than
// the cap.
const maxRefusing = 64

// refuseTimeout bounds the time spent on one refused connection.
const refuseTimeout = time.Second

// LimitListener returns a listener that holds at most limit connections
// (limit < 1: DefaultMaxConnections). A connection accepted beyond that is
// answered at once with a 503 (Retry-After: 1) and closed, never left to
// wait; a connection's slot is freed when the server closes it (idle
// keep-alive connections hold theirs, until IdleTimeout).
func LimitListener(l net.Listener, limit int) *CappedListener {
	if limit < 1 {
		limit = DefaultMaxConnections
	}
	return &CappedListener{Listener: l, slots: make(chan struct{}, limit), refusing: make(chan struct{}, maxRefusing)}
}

// CappedListener is the listener LimitListener returns.
type CappedListener struct {
	net.Listener
	slots    chan struct{}
	refusing chan struct{}
	refused  atomic.Int64
}

// Accept returns the next connection that fits under the cap, refusing
// those that do not.
func (l *CappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &cappedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			l.refused.Add(1)
			l.refuse(c)
		}
	}
}

// Refused is how many connections were refused so far.
func (l *CappedListener) Refused() int64 { return l.refused.Load() }

// Open is how many connections hold a slot now.
func (l *CappedListener) Open() int { return len(l.slots) }

// refuse answers c with the 503 and closes it, off the accept loop. It
// reads the request's head first (clients take an answer that comes before
// their request for a broken connection), then half-closes and reads what
// else the client sends until it closes, so its unread body does not turn
// the close into a reset that could destroy the answer. All of it within
// refuseTimeout; a client that sends no request head in that time is
// closed without an answer.
func (l *CappedListener) refuse(c net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(refuseTimeout))
		buf := make([]byte, 4096)
		var tail []byte // the last bytes read, to find the head's end across reads
		for n := 0; ; {
			m, err := c.Read(buf)
			if m > 0 {
				tail = append(tail, buf[:m]...)
				if bytes.Contains(tail, []byte("\r\n\r\n")) {
					break
				}
				tail = tail[max(0, len(tail)-3):]
			}
			if n += m; err != nil || n > maxHeaderBytes {
				return
			}
		}
		if _, err := c.Write(refusal); err != nil {
			return
		}
		if tc, ok := c.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		for n := 0; n < 1<<20; {
			m, err := c.Read(buf)
			n += m
			if err != nil {
				return
			}
		}
	}()
}

// cappedConn frees its slot once, when closed.
type cappedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite and ReadFrom pass through what net/http looks for on a TCP
// connection (a graceful close, sendfile).
func (c *cappedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *cappedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}
