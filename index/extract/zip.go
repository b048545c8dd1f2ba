package extract

import (
	"archive/zip"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"
)

// zipPackage is an opened OOXML container with its limits.
type zipPackage struct {
	b     *builder
	files map[string]*zip.File
	total int64 // bytes decompressed so far, over all entries
}

// openZip opens the container after checking the entry count the archive
// declares, so a central directory of millions of entries is refused
// before archive/zip allocates for it.
func openZip(b *builder, in *input) (*zipPackage, error) {
	if n, ok := declaredEntries(in.r, in.size); ok && n > int64(b.lim.MaxEntries) {
		return nil, tooLarge("extract: the archive has %d entries, the limit is %d", n, b.lim.MaxEntries)
	}
	zr, err := zip.NewReader(in.r, in.size)
	if err != nil {
		return nil, invalid(err, "extract: not a valid zip archive")
	}
	if len(zr.File) > b.lim.MaxEntries {
		return nil, tooLarge("extract: the archive has %d entries, the limit is %d", len(zr.File), b.lim.MaxEntries)
	}
	p := &zipPackage{b: b, files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		p.files[strings.TrimPrefix(f.Name, "/")] = f
	}
	return p, nil
}

// declaredEntries reads the entry count from the end-of-central-directory
// record. ok is false when it cannot be found or is a ZIP64 placeholder.
func declaredEntries(r io.ReaderAt, size int64) (n int64, ok bool) {
	const eocdLen, maxComment = 22, 65535
	tail := min(size, eocdLen+maxComment)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, false
	}
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == 0x06054b50 {
			total := binary.LittleEndian.Uint16(buf[i+10:])
			if total == 0xFFFF {
				return 0, false
			}
			return int64(total), true
		}
	}
	return 0, false
}

// has reports whether the archive holds the named part.
func (p *zipPackage) has(name string) bool { return p.files[name] != nil }

// open returns a reader of the named part that fails with ETOOLARGE once
// the bytes it really decompresses pass lim.MaxEntryBytes, pass
// lim.MaxRatio times the compressed size (after the first MiB), or the
// total over all parts passes four times lim.MaxEntryBytes. Declared sizes
// are never trusted.
func (p *zipPackage) open(name string) (io.ReadCloser, error) {
	f := p.files[name]
	if f == nil {
		return nil, invalid(nil, "extract: the archive has no part %q", name)
	}
	if f.UncompressedSize64 > uint64(p.b.lim.MaxEntryBytes) {
		return nil, tooLarge("extract: part %q declares %d bytes, the limit is %d", name, f.UncompressedSize64, p.b.lim.MaxEntryBytes)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, invalid(err, "extract: cannot open part %q", name)
	}
	limit := p.b.lim.MaxEntryBytes
	if ratio := int64(f.CompressedSize64) * p.b.lim.MaxRatio; f.Method != zip.Store && ratio >= 0 && max(ratio, 1<<20) < limit {
		limit = max(ratio, 1<<20)
	}
	return &capReader{rc: rc, p: p, name: name, limit: limit}, nil
}

// capReader counts the bytes decompressed from one part.
type capReader struct {
	rc    io.ReadCloser
	p     *zipPackage
	name  string
	n     int64
	limit int64
}

func (c *capReader) Read(b []byte) (int, error) {
	if err := c.p.b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.rc.Read(b)
	c.n += int64(n)
	c.p.total += int64(n)
	if c.n > c.limit {
		return n, tooLarge("extract: part %q decompresses past its limit of %d bytes (a zip bomb?)", c.name, c.limit)
	}
	if c.p.total > 4*c.p.b.lim.MaxEntryBytes {
		return n, tooLarge("extract: the archive decompresses past %d bytes", 4*c.p.b.lim.MaxEntryBytes)
	}
	if err != nil && err != io.EOF {
		return n, invalid(err, "extract: corrupt part %q", c.name)
	}
	return n, err
}

func (c *capReader) Close() error { return c.rc.Close() }

// xmlWalker streams the elements of one XML part with depth and token
// limits. encoding/xml does not expand entities beyond the predefined ones.
type xmlWalker struct {
	b     *builder
	dec   *xml.Decoder
	depth int
}

// walkXML calls fn for every token of the named part.
func (p *zipPackage) walkXML(name string, fn func(tok xml.Token, depth int) error) error {
	rc, err := p.open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	// encoding/xml holds a whole token (a text run, a tag with its
	// attributes, a comment) in memory before it returns it.
	guard := &tokenGuard{r: rc, max: p.b.lim.MaxToken, what: "an XML token in " + strconv.Quote(name)}
	w := &xmlWalker{b: p.b, dec: xml.NewDecoder(guard)}
	for {
		tok, err := w.dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return invalid(err, "extract: malformed XML in %q", name)
			}
			return err // a limit or the context, from capReader or guard
		}
		guard.done(w.dec.InputOffset())
		if err := p.b.item(1); err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			w.depth++
			if w.depth > p.b.lim.MaxDepth {
				return tooLarge("extract: XML in %q nests deeper than %d", name, p.b.lim.MaxDepth)
			}
		case xml.EndElement:
			w.depth--
		}
		if err := fn(tok, w.depth); err != nil {
			return err
		}
	}
}

// rels reads the relationships of a part: id → target part name.
func (p *zipPackage) rels(part string) (map[string]string, error) {
	dir, file := path.Split(part)
	relsName := dir + "_rels/" + file + ".rels"
	out := map[string]string{}
	if !p.has(relsName) {
		return out, nil
	}
	err := p.walkXML(relsName, func(tok xml.Token, _ int) error {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Relationship" {
			if attr(se, "TargetMode") == "External" {
				return nil
			}
			out[attr(se, "Id")] = resolvePart(dir, attr(se, "Target"))
		}
		return nil
	})
	return out, err
}

// resolvePart resolves a relationship target against the source part's
// directory.
func resolvePart(dir, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	return strings.TrimPrefix(path.Clean("/"+dir+target), "/")
}

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// relID returns a relationship id attribute (r:id): an "id" attribute in
// any namespace, unlike the plain "id" some elements also carry.
func relID(se xml.StartElement) string {
	for _, a := range se.Attr {
		if a.Name.Local == "id" && a.Name.Space != "" {
			return a.Value
		}
	}
	return ""
}

// mainPart finds the office document part from the package relationships,
// falling back to the conventional name.
func (p *zipPackage) mainPart(fallback string) (string, error) {
	if p.has("_rels/.rels") {
		var found string
		err := p.walkXML("_rels/.rels", func(tok xml.Token, _ int) error {
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Relationship" &&
				strings.HasSuffix(attr(se, "Type"), "/officeDocument") && found == "" {
				found = resolvePart("", attr(se, "Target"))
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		if found != "" && p.has(found) {
			return found, nil
		}
	}
	if !p.has(fallback) {
		return "", invalid(nil, "extract: the archive has no %s", fallback)
	}
	return fallback, nil
}
