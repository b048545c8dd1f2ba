package library

import (
	"context"

	shelf "github.com/shelfmem/shelf"
)

// Assistant access: a library may be searched by assistants (AI agents
// reaching Shelf on a user's behalf, as Informer's assistants and Shelf's
// MCP server do) only when its owner allows it. The flag is a library
// x_attr under the core's reserved prefix, so no client sets it through
// x_attrs: only Spec.AssistantAccess and
// Update.AssistantAccess do.
const assistantAccessAttr = reservedXAttrPrefix + "assistant_access"

// AssistantAccess reports whether assistants may search l.
func AssistantAccess(l *shelf.Library) bool { return l.XAttrs[assistantAccessAttr] == "true" }

// setAssistantAccess sets or clears l's flag (the caller writes l).
func setAssistantAccess(l *shelf.Library, on bool) {
	if l.XAttrs == nil {
		l.XAttrs = map[string]string{}
	}
	if on {
		l.XAttrs[assistantAccessAttr] = "true"
	} else {
		delete(l.XAttrs, assistantAccessAttr)
	}
}

// maxAssistantLibraries bounds the libraries an assistant's search looks
// through.
const maxAssistantLibraries = 10000

// assistantLibrariesTx returns the ids of the workspace's libraries that
// assistants may search.
func assistantLibrariesTx(ctx context.Context, tx shelf.Tx, ws string) ([]string, error) {
	ids := []string{}
	q := shelf.LibraryQuery{XAttrs: map[string]string{assistantAccessAttr: "true"}, Limit: MaxLibraryPage}
	for {
		page, err := tx.ListLibraries(ctx, ws, q)
		if err != nil {
			return nil, err
		}
		for _, l := range page {
			ids = append(ids, l.ID)
		}
		if len(page) < q.Limit || len(ids) >= maxAssistantLibraries {
			return ids, nil
		}
		last := page[len(page)-1]
		q.AfterTime, q.AfterID = last.CreatedAt, last.ID
	}
}
