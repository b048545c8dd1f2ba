package library

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Signed URLs let a client PUT a part (or, later, GET a download) without
// an Authorization header. The HMAC-SHA256 covers the method, the path, the
// workspace, the upload id, the part number, the exact length, the expiry
// and the key id, so no field can be changed. Keys live in the store (every
// replica shares them) and are named by a kid so they can be rotated.

const (
	settingSignKeyCurrent = "signing_key_current"
	settingSignKeyPrefix  = "signing_key."
	// MaxSignedTTL is the longest a signed URL may live (SigV4's limit).
	MaxSignedTTL = 7 * 24 * time.Hour
)

type signer struct {
	kid  string
	keys map[string][]byte
}

// loadSigner reads the signing keys, making the first one on a first start.
func loadSigner(ctx context.Context, store shelf.Store) (*signer, error) {
	sg := &signer{keys: map[string][]byte{}}
	err := store.Update(ctx, func(tx shelf.Tx) error {
		kid, err := tx.Setting(ctx, settingSignKeyCurrent)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			kid = randomHex(4)
			if err := tx.SetSetting(ctx, settingSignKeyPrefix+kid, randomHex(32)); err != nil {
				return err
			}
			if err := tx.SetSetting(ctx, settingSignKeyCurrent, kid); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		v, err := tx.Setting(ctx, settingSignKeyPrefix+kid)
		if err != nil {
			return err
		}
		key, err := hex.DecodeString(v)
		if err != nil || len(key) < 16 {
			return shelf.Errorf(shelf.EINTERNAL, "signing key %q is corrupt", kid)
		}
		sg.kid, sg.keys[kid] = kid, key
		return nil
	})
	return sg, err
}

// Signed names one operation a URL allows.
type Signed struct {
	Method    string
	Path      string // the URL path, as the server routes it
	Workspace string
	Upload    string
	Part      int
	Length    int64
	// Extra binds anything else the URL carries (a target path, a content
	// type, a version); "" for none.
	Extra string
}

func (sd Signed) canonical(exp int64, kid string) string {
	c := strings.Join([]string{sd.Method, sd.Path, sd.Workspace, sd.Upload,
		strconv.Itoa(sd.Part), strconv.FormatInt(sd.Length, 10), strconv.FormatInt(exp, 10), kid}, "\n")
	if sd.Extra != "" {
		c += "\n" + sd.Extra
	}
	return c
}

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Sign returns the query parameters that authorize sd until exp.
func (s *Service) Sign(sd Signed, exp time.Time) url.Values {
	e := exp.Unix()
	q := url.Values{}
	q.Set("w", sd.Workspace)
	q.Set("len", strconv.FormatInt(sd.Length, 10))
	q.Set("exp", strconv.FormatInt(e, 10))
	q.Set("kid", s.signer.kid)
	q.Set("sig", base64.RawURLEncoding.EncodeToString(mac(s.signer.keys[s.signer.kid], sd.canonical(e, s.signer.kid))))
	return q
}

// SignDownload returns the signing input and expiry of a link that reads
// version v of item id at path (the URL path that serves it), for the
// caller's workspace.
func (s *Service) SignDownload(ctx context.Context, id string, v int64, path string) (Signed, time.Time, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return Signed{}, time.Time{}, err
	}
	sd := Signed{Method: "GET", Path: path, Workspace: p.WorkspaceID, Upload: id, Extra: "v=" + strconv.FormatInt(v, 10)}
	return sd, s.now().Add(s.cfg.DownloadTTL), nil
}

// Verify checks that q authorizes sd now, with sd.Workspace and sd.Length
// taken from q. It returns the principal the URL stands for: write access
// to that one operation. Any failure is EFORBIDDEN.
func (s *Service) Verify(sd Signed, q url.Values) (*shelf.Principal, Signed, error) {
	deny := func(why string) (*shelf.Principal, Signed, error) {
		return nil, sd, shelf.Errorf(shelf.EFORBIDDEN, "signed URL %s", why)
	}
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil {
		return deny("has no valid expiry")
	}
	now := s.now()
	if exp <= now.Unix() {
		return deny("has expired")
	}
	if exp > now.Add(MaxSignedTTL).Unix() {
		return deny("expires too far in the future")
	}
	if sd.Length, err = strconv.ParseInt(q.Get("len"), 10, 64); err != nil || sd.Length < 0 {
		return deny("has no valid length")
	}
	sd.Workspace = q.Get("w")
	kid := q.Get("kid")
	key, ok := s.signer.keys[kid]
	if !ok {
		return deny("names an unknown key")
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if err != nil || !hmac.Equal(sig, mac(key, sd.canonical(exp, kid))) {
		return deny("signature does not match")
	}
	scope := shelf.ScopeWrite
	if sd.Method == "GET" || sd.Method == "HEAD" {
		scope = shelf.ScopeRead
	}
	return &shelf.Principal{WorkspaceID: sd.Workspace, Scope: scope, Signed: true}, sd, nil
}
