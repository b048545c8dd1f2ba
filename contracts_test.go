package shelf_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxMethods bounds the methods an interface of the domain declares
// itself; larger contracts are composed of role interfaces (Tx is).
const maxMethods = 15

// TestContractSizes keeps the domain's interfaces small enough to
// implement one role at a time: a second store or blob store implements
// them role by role, and code that needs one role takes only that one.
func TestContractSizes(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			it, ok := ts.Type.(*ast.InterfaceType)
			if !ok {
				return true
			}
			seen++
			methods := 0
			for _, m := range it.Methods.List {
				if _, ok := m.Type.(*ast.FuncType); ok {
					methods += len(m.Names)
				}
			}
			if methods > maxMethods {
				t.Errorf("%s: interface %s declares %d methods; split it into roles of at most %d", fset.Position(ts.Pos()), ts.Name, methods, maxMethods)
			}
			return true
		})
	}
	if seen < 10 {
		t.Fatalf("found only %d interfaces in the domain package; is the test reading the right files?", seen)
	}
}
