package shelf_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the import rules of DESIGN §2: the root package imports
// only the standard library; adapters never import each other, the core or
// a transport; the core never imports an adapter or a transport; and
// transports reach storage only through the core.
func TestLayers(t *testing.T) {
	const mod = "github.com/shelfmem/shelf"
	out, err := exec.Command("go", "list", "-json=ImportPath,Deps,Standard", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Deps       []string
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	std := map[string]bool{}
	stdOut, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(stdOut)) {
		std[p] = true
	}
	isAdapter := func(p string) bool {
		for _, a := range []string{"/store/", "/blob/", "/fetch"} {
			if strings.HasPrefix(strings.TrimPrefix(p, mod), a) {
				return !strings.HasSuffix(p, "test") // conformance suites are for tests
			}
		}
		return false
	}
	isTransport := func(p string) bool {
		rest := strings.TrimPrefix(p, mod)
		return strings.HasPrefix(rest, "/http") || strings.HasPrefix(rest, "/mcp") || strings.HasPrefix(rest, "/web")
	}
	checked := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		var own []string
		for _, d := range p.Deps {
			if strings.HasPrefix(d, mod) {
				own = append(own, d)
			}
		}
		switch {
		case p.ImportPath == mod:
			for _, d := range p.Deps {
				if !std[d] && !strings.HasPrefix(d, "vendor/") && !strings.HasPrefix(d, "internal/") {
					t.Errorf("the root package imports %s; it may use only the standard library", d)
				}
			}
		case isAdapter(p.ImportPath):
			for _, d := range own {
				if d != mod && !strings.HasPrefix(d, p.ImportPath) {
					t.Errorf("adapter %s imports %s; adapters import only the root package", p.ImportPath, d)
				}
			}
		case p.ImportPath == mod+"/library" || strings.HasPrefix(p.ImportPath, mod+"/index"):
			for _, d := range own {
				if isAdapter(d) || isTransport(d) {
					t.Errorf("core package %s imports %s", p.ImportPath, d)
				}
			}
		case isTransport(p.ImportPath):
			for _, d := range own {
				if isAdapter(d) {
					t.Errorf("transport %s imports adapter %s; it must call the core", p.ImportPath, d)
				}
			}
		default:
			continue
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; the rule test is not seeing the tree", checked)
	}
}
