package memorylake

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// AdminPrefix is where MemoryLake's Management API is mounted.
const AdminPrefix = "/openapi/memorylake/admin/v1"

// Limits of the Management API's inputs, as MemoryLake documents them.
const (
	maxKeyNameChars    = 100 // a key's name, in characters
	defaultKeyPageSize = 20
)

// keyErrors is wireErrors for the Management API, whose one 409 is
// STATE_NOT_READY (revoking the calling key; a busy or reused
// Idempotency-Key; rotating an expired key).
var keyErrors = func() shelfhttp.ErrorTable {
	t := maps.Clone(wireErrors)
	t[shelf.ECONFLICT] = shelfhttp.WireError{Status: http.StatusConflict, Code: "STATE_NOT_READY"}
	return t
}()

// keyHandler serves the Management API's key routes (K1–K5).
type keyHandler struct {
	*handler
	d *shelfhttp.Dialect
}

// keyRoutes mounts K1–K5. Every route needs the admin scope; the writes
// take Idempotency-Key.
func (h *handler) keyRoutes() {
	k := &keyHandler{handler: h}
	k.d = &shelfhttp.Dialect{Name: "memorylake", WriteError: k.writeError}
	admin := shelf.ScopeAdmin
	const p = AdminPrefix + "/api-keys"
	h.srv.Handle("GET "+p, admin, k.d, k.listKeys)
	h.srv.Handle("POST "+p, admin, k.d, h.srv.Idempotent(k.d, k.createKey))
	h.srv.Handle("GET "+p+"/{id}", admin, k.d, k.getKey)
	h.srv.Handle("DELETE "+p+"/{id}", admin, k.d, h.srv.Idempotent(k.d, k.revokeKey))
	h.srv.Handle("POST "+p+"/{id}/rotate", admin, k.d, h.srv.Idempotent(k.d, k.rotateKey))
}

func (k *keyHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	we, msg := keyErrors.Resolve(k.srv, w, r, err, "memorylake", msgInternal)
	if shelf.ErrorCode(err) == shelf.EUNAUTHORIZED {
		msg = msgUnauthorized
	}
	writeFailure(w, we.Status, we.Code, msg)
}

// apiKey is a key as List and Get show it: never its secret. Times are
// Unix seconds. scopes is Shelf's addition.
type apiKey struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	KeyPrefix  string        `json:"key_prefix"`
	Status     string        `json:"status"`
	CreatedAt  int64         `json:"created_at"`
	ExpiresAt  *int64        `json:"expires_at,omitempty"`
	LastUsedAt *int64        `json:"last_used_at,omitempty"`
	Scopes     []shelf.Scope `json:"scopes"`
}

func (k *keyHandler) toAPIKey(key *shelf.Key) apiKey {
	out := apiKey{ID: key.ID, Name: key.Name, KeyPrefix: library.KeyPrefix(key), Status: k.svc.KeyStatus(key),
		CreatedAt: key.CreatedAt.Unix(), ExpiresAt: unixOrNil(key.ExpiresAt), LastUsedAt: unixOrNil(key.LastUsedAt),
		Scopes: key.Scopes}
	if out.Scopes == nil {
		out.Scopes = []shelf.Scope{}
	}
	return out
}

func unixOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

// issuedKey is the answer of Create and Rotate: the only times the key
// itself is shown.
type issuedKey struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	KeyPrefix string `json:"key_prefix"`
	Key       string `json:"key"`
}

// listKeys is K1: GET /api-keys?page_size&continuation_token&name_fuzzy.
func (k *keyHandler) listKeys(w http.ResponseWriter, r *http.Request) {
	size, err := shelfhttp.QueryInt(r, "page_size", defaultKeyPageSize)
	if err == nil && (size < 1 || size > library.MaxKeyPage) {
		err = shelf.Errorf(shelf.EINVALID, "page_size must be between 1 and %d", library.MaxKeyPage)
	}
	if err != nil {
		k.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	page, err := k.svc.ListKeys(r.Context(), "", q.Get("name_fuzzy"), q.Get("continuation_token"), size)
	if err != nil {
		k.writeError(w, r, err)
		return
	}
	items := make([]apiKey, len(page.Keys))
	for i, key := range page.Keys {
		items[i] = k.toAPIKey(key)
	}
	data := struct {
		Items             []apiKey `json:"items"`
		Total             int      `json:"total"`
		ContinuationToken string   `json:"continuation_token,omitempty"`
	}{items, page.Total, page.Next}
	writeData(w, data)
}

// createKeyRequest is K2's body; member_principal_id names a member, and
// Shelf has none. scopes is Shelf's addition.
type createKeyRequest struct {
	Name              *string       `json:"name"`
	ExpiresAt         *int64        `json:"expires_at"`
	MemberPrincipalID *string       `json:"member_principal_id"`
	Scopes            []shelf.Scope `json:"scopes"`
}

// createKey is K2: POST /api-keys {name, expires_at?, member_principal_id?}.
func (k *keyHandler) createKey(w http.ResponseWriter, r *http.Request) {
	var req createKeyRequest
	if err := k.decodeStrict(w, r, &req); err != nil {
		k.writeError(w, r, err)
		return
	}
	spec, err := req.spec()
	if err != nil {
		k.writeError(w, r, err)
		return
	}
	if req.MemberPrincipalID != nil && *req.MemberPrincipalID != "" {
		k.writeError(w, r, shelf.Errorf(shelf.ENOTFOUND, "member not found: Shelf keys belong to the workspace, which has no members"))
		return
	}
	key, token, err := k.svc.IssueKey(r.Context(), "", spec)
	if err != nil {
		k.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusCreated, success{Success: true,
		Data: issuedKey{ID: key.ID, Name: key.Name, KeyPrefix: library.KeyPrefix(key), Key: token}})
}

// spec checks the request's shape and turns it into the core's KeySpec.
func (req *createKeyRequest) spec() (library.KeySpec, error) {
	var spec library.KeySpec
	if req.Name == nil {
		return spec, shelf.Errorf(shelf.EINVALID, "name is required")
	}
	if n := utf8.RuneCountInString(*req.Name); n < 1 || n > maxKeyNameChars {
		return spec, shelf.Errorf(shelf.EINVALID, "name must be 1 to %d characters", maxKeyNameChars)
	}
	spec.Name = *req.Name
	if req.ExpiresAt != nil {
		switch e := *req.ExpiresAt; {
		case e < 0:
			return spec, shelf.Errorf(shelf.EINVALID, "expires_at must be a Unix time in seconds, or 0 for never")
		case e > 0:
			spec.ExpiresAt = time.Unix(e, 0).UTC()
		}
	}
	if req.Scopes != nil {
		if len(req.Scopes) == 0 {
			return spec, shelf.Errorf(shelf.EINVALID, "scopes, when given, must name at least one of read, write, admin")
		}
		spec.Scopes = req.Scopes
	}
	return spec, nil
}

// getKey is K3: GET /api-keys/{id}.
func (k *keyHandler) getKey(w http.ResponseWriter, r *http.Request) {
	key, err := k.svc.Key(r.Context(), "", r.PathValue("id"))
	if err != nil {
		k.writeError(w, r, err)
		return
	}
	writeData(w, k.toAPIKey(key))
}

// revokeKey is K4: DELETE /api-keys/{id}, answering data {}.
func (k *keyHandler) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := k.svc.RevokeKeyIn(r.Context(), "", r.PathValue("id")); err != nil {
		k.writeError(w, r, err)
		return
	}
	writeData(w, struct{}{})
}

// rotateKey is K5: POST /api-keys/{id}/rotate, answering the new key.
func (k *keyHandler) rotateKey(w http.ResponseWriter, r *http.Request) {
	key, token, err := k.svc.RotateKey(r.Context(), "", r.PathValue("id"))
	if err != nil {
		k.writeError(w, r, err)
		return
	}
	writeData(w, issuedKey{ID: key.ID, Name: key.Name, KeyPrefix: library.KeyPrefix(key), Key: token})
}

// decodeStrict reads a JSON object body refusing unknown fields: a
// misspelt expires_at must not make a key that never expires.
func (k *keyHandler) decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	var raw json.RawMessage
	if err := shelfhttp.DecodeJSON(w, r, k.srv.MaxJSONBytes(), &raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return shelf.Errorf(shelf.EINVALID, "field %q has the wrong type (%s)", te.Field, te.Value)
		}
		return shelf.Errorf(shelf.EINVALID, "invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
