package library_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// TestSignedURLIssuer: a signed URL names the key that issued it and works
// only while that key is live and holds the scope the operation needs; a
// URL the master key issued dies when the master key changes; a URL that
// names no key (from before keys were bound), or names another key than the
// one that signed it, is refused; a signed URL cannot issue another.
func TestSignedURLIssuer(t *testing.T) {
	e := newEnv(t, library.Config{})
	key, token, err := e.svc.CreateKey(e.ctx, "", "writer", []shelf.Scope{shelf.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	_, otherToken, err := e.svc.CreateKey(e.ctx, "", "other", []shelf.Scope{shelf.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(tok string) context.Context {
		p, err := e.svc.Authenticate(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		return shelf.NewContext(context.Background(), p)
	}
	ws := shelf.PrincipalFrom(e.ctx).WorkspaceID
	put := library.Signed{Method: "PUT", Path: "/v1/uploads/u1/parts/1", Workspace: ws, Upload: "u1", Part: 1, Length: 5}
	get := library.Signed{Method: "GET", Path: "/v1/items/i1/content", Workspace: ws, Upload: "i1", Extra: "v=1"}
	exp := time.Now().Add(time.Hour)
	sign := func(ctx context.Context, sd library.Signed) url.Values {
		t.Helper()
		q, err := e.svc.Sign(ctx, sd, exp)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	verify := func(sd library.Signed, q url.Values) (*shelf.Principal, error) {
		sd.Workspace, sd.Length = "", 0 // Verify takes them from q
		p, _, err := e.svc.Verify(context.Background(), sd, q)
		return p, err
	}
	refused := func(what string, sd library.Signed, q url.Values, why string) {
		t.Helper()
		_, err := verify(sd, q)
		wantCode(t, err, shelf.EFORBIDDEN)
		if !strings.Contains(shelf.ErrorMessage(err), why) {
			t.Fatalf("%s: %q, want it to say %q", what, shelf.ErrorMessage(err), why)
		}
	}

	q := sign(auth(token), put)
	if q.Get("by") != key.ID {
		t.Fatalf("by = %q, want the key id %q", q.Get("by"), key.ID)
	}
	p, err := verify(put, q)
	if err != nil || !p.Signed || p.IssuedBy != key.ID || p.WorkspaceID != ws || p.Scope != shelf.ScopeWrite || p.Owner() != "" {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	// The issuer cannot be swapped for another live key, or dropped.
	swapped := cloneValues(q)
	swapped.Set("by", shelf.PrincipalFrom(auth(otherToken)).KeyID)
	refused("another issuer", put, swapped, "signature does not match")
	dropped := cloneValues(q)
	dropped.Del("by")
	refused("no issuer", put, dropped, "names no issuing key")

	// A signed URL cannot sign.
	if _, err := e.svc.Sign(shelf.NewContext(context.Background(), p), put, exp); shelf.ErrorCode(err) != shelf.EFORBIDDEN {
		t.Fatalf("a signed principal signed: %v", err)
	}

	// A key that loses the write scope keeps its read links only.
	rq := sign(auth(token), get)
	if err := e.store.Update(e.ctx, func(tx shelf.Tx) error {
		k, err := tx.Key(e.ctx, key.ID)
		if err != nil {
			return err
		}
		k.Scopes = []shelf.Scope{shelf.ScopeRead}
		return tx.UpdateKey(e.ctx, k)
	}); err != nil {
		t.Fatal(err)
	}
	refused("write scope gone", put, q, `no longer holds the "write" scope`)
	if _, err := verify(get, rq); err != nil {
		t.Fatalf("a read link of a key that still reads: %v", err)
	}
	// Rotation keeps the key id, and so its URLs; revocation ends them.
	if _, _, err := e.svc.RotateKey(e.ctx, "", key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(get, rq); err != nil {
		t.Fatalf("a link of a rotated key: %v", err)
	}
	if err := e.svc.RevokeKey(e.ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	refused("revoked", get, rq, "revoked")

	// The master key's URLs bind the master key itself.
	mq := sign(e.ctx, put)
	if mq.Get("by") != "master" {
		t.Fatalf("master by = %q", mq.Get("by"))
	}
	if p, err := verify(put, mq); err != nil || p.IssuedBy != "master" {
		t.Fatalf("master URL: %+v, %v", p, err)
	}
	if _, err := e.svc.EnsureMasterKey(context.Background(), strings.Repeat("n", 40)); err != nil {
		t.Fatal(err)
	}
	refused("master key changed", put, mq, "signature does not match")
	if _, err := e.svc.EnsureMasterKey(context.Background(), testMasterKey); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(put, mq); err != nil {
		t.Fatalf("master URL with the master key back: %v", err)
	}
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}
