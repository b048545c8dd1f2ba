package bombs

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
)

// The repeated deflate stream inflates to exactly prefix, n bytes of the
// unit and suffix, with the checksums it claims.
func TestDeflateRepeat(t *testing.T) {
	for _, unit := range []string{"a", "1 ", "<row>x</row>", letters(16 << 10)} {
		n := int64(3*repeatBlock + 12345)
		d, err := zlibRepeat([]byte("head"), unit, n, []byte("tail"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(flate.NewReader(bytes.NewReader(d.data)))
		if err != nil {
			t.Fatal(err)
		}
		n -= n % int64(len(unit))
		want := "head" + strings.Repeat(unit, int(n)/len(unit)+1)[:n] + "tail"
		if string(got) != want || d.size != int64(len(want)) || d.crc != crc32.ChecksumIEEE(got) {
			t.Fatalf("unit %.10q: inflated %d bytes, want %d (size %d, crc ok %v)", unit, len(got), len(want), d.size, d.crc == crc32.ChecksumIEEE(got))
		}
		zr, err := zlib.NewReader(bytes.NewReader(d.zlib()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatalf("zlib checksum: %v", err)
		}
	}
}

// Every bomb is written, small ones stay small, and the zip-based ones
// open as zip archives.
func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteAll(dir, Options{Big: 1 << 20, Flate: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range All() {
		st, err := os.Stat(paths[b.Name])
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() == 0 || st.Size() > 64<<20 {
			t.Errorf("%s: %d bytes on disk", b.Name, st.Size())
		}
		if strings.HasSuffix(b.Name, ".docx") || strings.HasSuffix(b.Name, ".xlsx") {
			if zr, err := zip.OpenReader(paths[b.Name]); err != nil {
				t.Errorf("%s: %v", b.Name, err)
			} else {
				zr.Close()
			}
		}
	}
}
