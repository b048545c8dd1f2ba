package shelf_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the import rules of docs/DESIGN.md ("Packages"): the
// root package imports only the standard library; adapters (stores, blob
// stores, the fetcher, embedders) never import each other, the core or a
// transport; internal packages are leaf utilities that import nothing of
// Shelf's but the root and each other; the core never imports an adapter
// or a transport, and the indexing packages never import library (the core
// calls them, not the other way round); transports reach storage only
// through the core, and ask the core, not index/, about indexing.
func TestLayers(t *testing.T) {
	const mod = "github.com/shelfmem/shelf"
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps,Standard", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string // direct
		Deps       []string // direct and indirect
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
		for _, a := range []string{"/store/", "/blob/", "/fetch", "/embed/"} {
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
	// internal/shelftest starts a whole server for tests, so it imports
	// everything; every other internal package is a leaf utility.
	isInternal := func(p string) bool {
		rest := strings.TrimPrefix(p, mod)
		return strings.HasPrefix(rest, "/internal/") && !strings.HasPrefix(rest, "/internal/shelftest")
	}
	isIndex := func(p string) bool { return strings.HasPrefix(p, mod+"/index/") || p == mod+"/index" }
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
				if d != mod && !strings.HasPrefix(d, p.ImportPath) && !isInternal(d) {
					t.Errorf("adapter %s imports %s; adapters import only the root package and internal utilities", p.ImportPath, d)
				}
			}
		case isInternal(p.ImportPath):
			for _, d := range own {
				if d != mod && !isInternal(d) {
					t.Errorf("internal package %s imports %s; internal packages are leaf utilities: the root package and other internal ones only", p.ImportPath, d)
				}
			}
		case p.ImportPath == mod+"/library" || isIndex(p.ImportPath):
			for _, d := range own {
				if isAdapter(d) || isTransport(d) {
					t.Errorf("core package %s imports %s", p.ImportPath, d)
				}
				if isIndex(p.ImportPath) && d == mod+"/library" {
					t.Errorf("indexing package %s imports library; library calls index, not the other way round", p.ImportPath)
				}
			}
		case isTransport(p.ImportPath):
			for _, d := range own {
				if isAdapter(d) {
					t.Errorf("transport %s imports adapter %s; it must call the core", p.ImportPath, d)
				}
			}
			for _, d := range p.Imports {
				if isIndex(d) {
					t.Errorf("transport %s imports %s; it must ask the core (library.Extractable, searches)", p.ImportPath, d)
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
