package library

import (
	"context"
	"io"
	"strings"

	shelf "github.com/shelfmem/shelf"
)

// OpenURL opens content a client names by URL: a data: URL, decoded as it
// is read, or an http(s) URL read through the Fetcher, with its checks
// against internal addresses and its caps. Everything that goes wrong is
// the client's URL's fault, so it is a 4xx: EINVALID (a rule broken, or
// the remote failed or took too long), EFORBIDDEN (an internal address),
// ETOOLARGE; reading Body can fail the same way.
func (s *Service) OpenURL(ctx context.Context, rawURL string) (*shelf.Fetched, error) {
	if len(rawURL) >= 5 && strings.EqualFold(rawURL[:5], "data:") {
		mt, r, err := ParseDataURL(strings.NewReader(rawURL))
		if err != nil {
			return nil, err
		}
		return &shelf.Fetched{Body: io.NopCloser(&urlError{r: r, url: "data: URL"}), ContentType: mt, Size: -1}, nil
	}
	if err := s.checkURL(rawURL); err != nil {
		return nil, err
	}
	f, err := s.cfg.Fetcher.Fetch(ctx, rawURL)
	if err != nil {
		return nil, clientURLError(err, rawURL)
	}
	f.Body = &urlBody{urlError{r: f.Body, url: rawURL}, f.Body}
	return f, nil
}

// checkURL refuses a URL that is not http(s) or breaks the Fetcher's rules.
func (s *Service) checkURL(rawURL string) error {
	lower := strings.ToLower(rawURL)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return shelf.Errorf(shelf.EINVALID, "only http and https URLs can be fetched")
	}
	if s.cfg.Fetcher == nil {
		return shelf.Errorf(shelf.ENOTIMPL, "this server does not fetch URLs")
	}
	return s.cfg.Fetcher.Check(rawURL)
}

// clientURLError turns a fetch failure into the client's error.
func clientURLError(err error, rawURL string) error {
	switch shelf.ErrorCode(err) {
	case shelf.EUNAVAILABLE, shelf.ETIMEOUT:
		return &shelf.Error{Code: shelf.EINVALID, Message: "could not fetch " + shortURL(rawURL) + ": " + shelf.ErrorMessage(err), Err: err}
	}
	return err
}

func shortURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i] // query strings carry signatures; keep them out of messages
	}
	if len(u) > 200 {
		u = u[:200] + "…"
	}
	return u
}

// urlError maps the errors of reading a fetched body like clientURLError.
type urlError struct {
	r   io.Reader
	url string
}

func (u *urlError) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		err = clientURLError(err, u.url)
	}
	return n, err
}

type urlBody struct {
	urlError
	c io.Closer
}

func (b *urlBody) Close() error { return b.c.Close() }
