package library

import (
	"context"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	shelf "github.com/shelfmem/shelf"
)

// maxMediaType bounds a content type's length in bytes.
const maxMediaType = 255

// CheckMediaType refuses a content type a client gives that is not a
// valid media type (RFC 9110 §8.3.1, as mime.ParseMediaType reads it):
// none of the control characters that would let it break a header line,
// at most maxMediaType bytes. "" (none given) is valid.
func CheckMediaType(ct string) error {
	if ct == "" {
		return nil
	}
	if len(ct) > maxMediaType {
		return shelf.Errorf(shelf.EINVALID, "content type is longer than %d bytes", maxMediaType)
	}
	if strings.ContainsFunc(ct, isControl) {
		return shelf.Errorf(shelf.EINVALID, "content type %q holds a control character", ct)
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return shelf.Errorf(shelf.EINVALID, "content type %q is not a media type", ct)
	}
	return nil
}

// genericTypes say nothing of a file's format: clients send them when
// they do not know it (curl -d sends application/x-www-form-urlencoded).
var genericTypes = map[string]bool{
	"application/octet-stream":          true,
	"application/x-www-form-urlencoded": true,
	"binary/octet-stream":               true,
	"application/binary":                true,
	"application/unknown":               true,
}

// sniffLen is how many leading bytes http.DetectContentType reads.
const sniffLen = 512

// mediaType decides a new version's content type from the one the client
// gave (valid: CheckMediaType), the file's name and, when it comes to
// that, its first bytes (head, read only then):
//
//   - a given type that says what the file is stays as given;
//   - a generic one (genericTypes), none, or application/zip for a name
//     whose extension names a format built on ZIP (.docx, .xlsx, …), is
//     replaced by the type the name's extension names;
//   - failing that, by the type the bytes show (http.DetectContentType),
//     which is application/octet-stream when they show nothing.
//
// An inferred type carries no parameters (bare); a given one is kept
// exactly as given.
func mediaType(name, given string, head func() []byte) string {
	byExt := bare(mime.TypeByExtension(path.Ext(name)))
	if given != "" {
		mt, _, _ := mime.ParseMediaType(given)
		switch {
		case mt == "application/zip" && byExt != "" && !strings.HasPrefix(byExt, "application/zip"):
			return byExt
		case !genericTypes[mt]:
			return given
		}
	}
	if byExt != "" {
		return byExt
	}
	if b := head(); len(b) > 0 {
		return bare(http.DetectContentType(b))
	}
	return "application/octet-stream"
}

// bare is an inferred media type without its parameters: Shelf adds no
// charset a client did not send (Go's tables give "text/plain;
// charset=utf-8" for .txt, and its sniffing the same for text).
func bare(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(mt)
}

// headTx returns up to sniffLen leading bytes of a blob: of inline when
// the bytes are at hand, else of the inline blob the store keeps (in this
// transaction, which may have written it), else of the blob store's. A
// blob that cannot be read gives none.
func (s *Service) headTx(ctx context.Context, tx shelf.Tx, ref shelf.BlobRef, inline []byte) []byte {
	if inline != nil {
		return inline[:min(len(inline), sniffLen)]
	}
	if b, err := tx.InlineBlob(ctx, ref.Hash); err == nil {
		return b[:min(len(b), sniffLen)]
	}
	rc, err := s.blobs.Open(ctx, ref.Hash, 0, sniffLen)
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, sniffLen))
	return b
}

// typeOfTx is mediaType with the head read from the blob through tx.
func (s *Service) typeOfTx(ctx context.Context, tx shelf.Tx, name, given string, ref shelf.BlobRef, inline []byte) string {
	return mediaType(name, given, func() []byte { return s.headTx(ctx, tx, ref, inline) })
}
