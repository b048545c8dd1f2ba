package jsonfield_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/jsonfield"
)

func TestString(t *testing.T) {
	long := strings.Repeat("abcdefgh", 10000)
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{`{"url":"x"}`, "x", true},
		{" \t\r\n{ \"url\" : \"x\" } \n", "x", true},
		{`{"url":""}`, "", true},
		{`{"a":1,"b":[true,false,null,{"c":[]}],"url":"x","d":-0.5E+2,"e":{}}`, "x", true},
		{`{"URL":"no","url":"x"}`, "x", true},
		{`{"urls":"no","ur":"no","url":"x"}`, "x", true},
		{`{"\u0075\u0072\u006c":"x"}`, "x", true},
		{`{"url":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac"}`, "\"\\/\b\f\n\r\tAé€", true},
		{`{"url":"\ud83d\ude00 \uD83D\uDE00"}`, "😀 😀", true},
		{`{"url":"\ud83d x"}`, "\uFFFD x", true},
		{`{"url":"\ude00\ud83d"}`, "\uFFFD\uFFFD", true},
		{`{"url":"\ud83d\u0041"}`, "\uFFFDA", true},
		{`{"url":"\ud83d\ud83d\ude00"}`, "\uFFFD😀", true},
		{`{"url":"` + long + `"}`, long, true},
		{`{"url":"héllo ✓ 😀"}`, "héllo ✓ 😀", true},
		{`{"url":"\u0000"}`, "\x00", true},
		{``, "", false},
		{`[]`, "", false},
		{`{}`, "", false},
		{`{"a":"url"}`, "", false},
		{`{"url":null}`, "", false},
		{`{"url":1}`, "", false},
		{`{"url":"x"`, "", false},
		{`{"url":"x",}`, "", false},
		{`{"url":"x"}x`, "", false},
		{`{"url":"x","url":"y"}`, "", false},
		{`{"url":"x","u\u0072l":"y"}`, "", false},
		{`{"url":"\x"}`, "", false},
		{`{"url":"\u00zz"}`, "", false},
		{`{"url":"\u00"}`, "", false},
		{"{\"url\":\"a\tb\"}", "", false},
		{"{\"url\":\"\xc3\"}", "", false},
		{"{\"url\":\"\xed\xa0\x80\"}", "", false},
		{`{"a":01,"url":"x"}`, "", false},
		{`{"url":"x","a":1.}`, "", false},
		{`{"url":"x","a":-}`, "", false},
		{`{"url":"x","a":.5}`, "", false},
		{`{"url":"x","a":tru}`, "", false},
		{`{"url":"x","a":[1,]}`, "", false},
		{`{"url":"x","a":{"b"}}`, "", false},
		{`{"url":"x" "a":1}`, "", false},
		{`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"url":"x"}`, "", false},
	} {
		for name, wrap := range map[string]func(io.Reader) io.Reader{"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader} {
			got, err := readField(wrap(strings.NewReader(c.in)), "url")
			if c.ok && (err != nil || got != c.want) {
				t.Errorf("%s %q = %q, %v; want %q", name, c.in, got, err, c.want)
			}
			if !c.ok && (err == nil || shelf.ErrorCode(err) != shelf.EINVALID) {
				t.Errorf("%s %q = %q, %v; want an invalid error", name, c.in, got, err)
			}
		}
	}
	// The body's own errors pass through.
	boom := errors.New("boom")
	if _, err := readField(iotest.DataErrReader(io.MultiReader(strings.NewReader(`{"url":"abc`), iotest.ErrReader(boom))), "url"); !errors.Is(err, boom) {
		t.Errorf("body error = %v", err)
	}
}

func readField(r io.Reader, field string) (string, error) {
	v, err := jsonfield.String(r, field)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(v)
	return string(b), err
}

// FuzzString checks the streaming reader against encoding/json:
// whatever it accepts, encoding/json accepts with the same value; whatever
// encoding/json accepts as an object with one string "url" (in valid
// UTF-8, nested at most 64 deep), it accepts too.
func FuzzString(f *testing.F) {
	for _, s := range []string{`{"url":"x"}`, `{"a":[1,{"b":null}],"url":"\ud83d\ude00\n","c":-1.5e3}`, `{"url":"\ud83dx"}`,
		`{"url":"a","url":"b"}`, `{"u\u0072l":"é"}`, `{"url":1}`, `[]`, `{"url":"\u00e9\/"}  `, "{\"url\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readField(bytes.NewReader(data), "url")
		want, urls, jerr := decodeURLField(data)
		jsonOK := jerr == nil && urls == 1
		if err == nil {
			if !jsonOK {
				t.Fatalf("accepted %q, which encoding/json refuses (%v, %d url fields)", data, jerr, urls)
			}
			if got != want {
				t.Fatalf("%q: got %q, encoding/json %q", data, got, want)
			}
			return
		}
		if shelf.ErrorCode(err) != shelf.EINVALID {
			t.Fatalf("%q: error %v is not invalid", data, err)
		}
		if jsonOK && utf8.Valid(data) && !strings.Contains(err.Error(), "nested deeper") {
			t.Fatalf("refused %q (%v), which encoding/json accepts as %q", data, err, want)
		}
	})
}

// decodeURLField decodes data as an object with encoding/json and returns
// its "url" string and how many times the field appears.
func decodeURLField(data []byte) (string, int, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return "", 0, err
	}
	if m == nil {
		return "", 0, errors.New("null")
	}
	raw, ok := m["url"]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", 0, errors.New("no url string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", 0, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.Token() // {
	n := 0
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", 0, err
		}
		if k == "url" {
			n++
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", 0, err
		}
	}
	return s, n, nil
}
