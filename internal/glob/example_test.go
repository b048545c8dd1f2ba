package glob_test

import (
	"errors"
	"fmt"

	"github.com/shelfmem/shelf/internal/glob"
)

// A bulk JSON Patch operation names its files by a glob and a property.
func ExampleSplitProperty() {
	patchable := []string{"filename", "contentType", "modifiedAt", "size"}
	pattern, prop, err := glob.SplitProperty("/docs/**/*.md/modifiedAt", patchable)
	if err != nil {
		panic(err)
	}
	p, err := glob.Compile(pattern, glob.Limits{})
	if err != nil {
		panic(err)
	}
	fmt.Println(prop, p.Prefix())
	for _, path := range []string{"/docs/api/overview.md", "/docs/readme.md", "/docs/logo.png", "/notes/a.md"} {
		fmt.Println(path, p.Match(path))
	}
	// Output:
	// modifiedAt /docs
	// /docs/api/overview.md true
	// /docs/readme.md true
	// /docs/logo.png false
	// /notes/a.md false
}

func ExampleCompile_error() {
	_, err := glob.Compile("/docs/**.md", glob.Limits{})
	fmt.Println(errors.Is(err, glob.ErrPattern))
	fmt.Println(err)
	// Output:
	// true
	// glob "/docs/**.md": '**' must be a whole segment (at byte 6)
}
