package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"

	"github.com/shelfmem/shelf"
)

const projectCols = "id, workspace_id, group_id, custom_id, name, description, metadata, library_id, created_at, updated_at"

func scanProject(s scanner) (*shelf.Project, error) {
	var p shelf.Project
	var custom, metadata sql.NullString
	var created, updated int64
	if err := s.Scan(&p.ID, &p.WorkspaceID, &p.GroupID, &custom, &p.Name, &p.Description, &metadata, &p.LibraryID,
		&created, &updated); err != nil {
		return nil, err
	}
	p.CustomID = custom.String
	if metadata.Valid {
		p.Metadata = json.RawMessage(metadata.String)
	}
	p.CreatedAt, p.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &p, nil
}

func (t *tx) Project(ctx context.Context, workspaceID, id string) (*shelf.Project, error) {
	p, err := scanProject(t.tx.QueryRowContext(ctx, "SELECT "+projectCols+" FROM projects WHERE id = ? AND workspace_id = ?",
		id, workspaceID))
	return p, classify(err, "project")
}

func (t *tx) ProjectByCustomID(ctx context.Context, workspaceID, groupID, customID string) (*shelf.Project, error) {
	p, err := scanProject(t.tx.QueryRowContext(ctx, "SELECT "+projectCols+
		" FROM projects WHERE workspace_id = ? AND group_id = ? AND custom_id = ?", workspaceID, groupID, customID))
	return p, classify(err, "project")
}

func (t *tx) CreateProject(ctx context.Context, p *shelf.Project) error {
	_, err := t.tx.ExecContext(ctx, "INSERT INTO projects ("+projectCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		p.ID, p.WorkspaceID, p.GroupID, nullable(p.CustomID), p.Name, p.Description, nullable(string(p.Metadata)),
		p.LibraryID, nanos(p.CreatedAt), nanos(p.UpdatedAt))
	return classify(err, "project")
}

// ListProjects counts and pages with the same WHERE, but for the keyset;
// the index on (workspace_id, created_at, id), or on (workspace_id,
// group_id, created_at, id) for a group, gives the order. The name filter
// is a LIKE with the filter's own wildcards escaped, which SQLite compares
// without case for ASCII letters.
func (t *tx) ListProjects(ctx context.Context, workspaceID string, q shelf.ProjectQuery) ([]*shelf.Project, int, error) {
	if q.Limit <= 0 || q.Offset < 0 {
		return nil, 0, invalid("page limit %d or offset %d out of range", q.Limit, q.Offset)
	}
	where := "workspace_id = ?"
	args := []any{workspaceID}
	if q.GroupID != "" {
		where += " AND group_id = ?"
		args = append(args, q.GroupID)
	}
	if q.NameContains != "" {
		where += ` AND name LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape(q.NameContains)+"%")
	}
	var total int
	if err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM projects WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, classify(err, "projects")
	}
	if q.AfterID != "" {
		where += " AND (created_at, id) > (?, ?)"
		args = append(args, nanos(q.AfterTime), q.AfterID)
	}
	rows, err := t.tx.QueryContext(ctx, "SELECT "+projectCols+" FROM projects WHERE "+where+
		" ORDER BY created_at, id LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, classify(err, "projects")
	}
	defer rows.Close()
	var out []*shelf.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, 0, classify(err, "projects")
		}
		out = append(out, p)
	}
	return out, total, classify(rows.Err(), "projects")
}

func (t *tx) UpdateProject(ctx context.Context, p *shelf.Project) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE projects SET name = ?, description = ?, metadata = ?, library_id = ?, updated_at = ?
		WHERE id = ? AND workspace_id = ?`,
		p.Name, p.Description, nullable(string(p.Metadata)), p.LibraryID, nanos(p.UpdatedAt), p.ID, p.WorkspaceID)
	if err != nil {
		return classify(err, "project")
	}
	return ensureFound(res, "project")
}

// DeleteProject relies on the foreign key's ON DELETE CASCADE for the
// project's documents.
func (t *tx) DeleteProject(ctx context.Context, workspaceID, id string) error {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM projects WHERE id = ? AND workspace_id = ?", id, workspaceID)
	if err != nil {
		return classify(err, "project")
	}
	return ensureFound(res, "project")
}

// AddProjectDocument inserts through a SELECT of the project and the item,
// so both must be of the document's workspace; ON CONFLICT DO NOTHING
// keeps a duplicate from failing the statement, and a second look tells a
// duplicate from a missing project or item.
func (t *tx) AddProjectDocument(ctx context.Context, d *shelf.ProjectDocument) error {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO project_documents (id, project_id, workspace_id, item_id, source_id, created_at)
		SELECT ?1, p.id, p.workspace_id, i.id, ?5, ?6
		FROM projects p, items i
		WHERE p.id = ?2 AND p.workspace_id = ?3 AND i.id = ?4 AND i.workspace_id = ?3
		ON CONFLICT DO NOTHING`,
		d.ID, d.ProjectID, d.WorkspaceID, d.ItemID, d.SourceID, nanos(d.CreatedAt))
	if err != nil {
		return classify(err, "document")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return classify(err, "document")
	}
	if n == 1 {
		return nil
	}
	var exists bool
	err = t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM project_documents
		WHERE (project_id = ?1 AND (item_id = ?2 OR ?3 <> '' AND source_id = ?3) OR id = ?4) AND workspace_id = ?5)`,
		d.ProjectID, d.ItemID, d.SourceID, d.ID, d.WorkspaceID).Scan(&exists)
	switch {
	case err != nil:
		return classify(err, "document")
	case exists:
		return shelf.Errorf(shelf.ECONFLICT, "the file is in the project already")
	}
	return notFound("project or item")
}

func (t *tx) UpdateProjectDocument(ctx context.Context, d *shelf.ProjectDocument) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE project_documents SET item_id = ?1, source_id = ?2
		WHERE id = ?3 AND workspace_id = ?4 AND EXISTS (SELECT 1 FROM items WHERE id = ?1 AND workspace_id = ?4)`,
		d.ItemID, d.SourceID, d.ID, d.WorkspaceID)
	if err != nil {
		return classify(err, "document")
	}
	return ensureFound(res, "document or item")
}

// docItemCols are itemCols of the items joined as i.
var docItemCols = "i." + strings.ReplaceAll(itemCols, ", ", ", i.")

// docJoin selects documents d with their items i; it takes the workspace
// id and the project id.
const docJoin = ` FROM project_documents d JOIN items i ON i.id = d.item_id
	WHERE d.workspace_id = ? AND d.project_id = ?`

const documentCols = "d.id, d.project_id, d.workspace_id, d.item_id, d.source_id, d.created_at"

func scanDocument(sc scanner) (*shelf.ProjectDocument, error) {
	var d shelf.ProjectDocument
	var created int64
	var row itemScanner
	if err := sc.Scan(append([]any{&d.ID, &d.ProjectID, &d.WorkspaceID, &d.ItemID, &d.SourceID, &created}, row.targets()...)...); err != nil {
		return nil, err
	}
	it, err := row.item()
	if err != nil {
		return nil, err
	}
	d.CreatedAt, d.Item = fromNanos(created), it
	return &d, nil
}

func (t *tx) ProjectDocuments(ctx context.Context, workspaceID, projectID string, q shelf.DocumentQuery) ([]*shelf.ProjectDocument, int, error) {
	if q.Limit <= 0 || q.Offset < 0 {
		return nil, 0, invalid("page limit %d or offset %d out of range", q.Limit, q.Offset)
	}
	filter := " AND (i.scope <> 'private' OR i.owner = ? OR ?) AND (i.hidden = 0 OR ?)"
	args := []any{workspaceID, projectID, q.Filter.Viewer, q.Filter.AllScopes, q.Filter.WithHidden}
	if q.NameContains != "" {
		filter += ` AND i.name LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape(q.NameContains)+"%")
	}
	var total int
	if err := t.tx.QueryRowContext(ctx, "SELECT count(*)"+docJoin+filter, args...).Scan(&total); err != nil {
		return nil, 0, classify(err, "documents")
	}
	if q.AfterID != "" {
		filter += " AND (d.created_at, d.id) > (?, ?)"
		args = append(args, nanos(q.AfterTime), q.AfterID)
	}
	rows, err := t.tx.QueryContext(ctx, "SELECT "+documentCols+", "+docItemCols+docJoin+filter+
		" ORDER BY d.created_at, d.id LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, classify(err, "documents")
	}
	defer rows.Close()
	var out []*shelf.ProjectDocument
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, 0, classify(err, "documents")
		}
		out = append(out, d)
	}
	return out, total, classify(rows.Err(), "documents")
}

func (t *tx) ProjectDocument(ctx context.Context, workspaceID, projectID, id string) (*shelf.ProjectDocument, error) {
	d, err := scanDocument(t.tx.QueryRowContext(ctx, "SELECT "+documentCols+", "+docItemCols+docJoin+" AND d.id = ?",
		workspaceID, projectID, id))
	return d, classify(err, "document")
}

func (t *tx) ProjectDocumentBySource(ctx context.Context, workspaceID, projectID, sourceID string) (*shelf.ProjectDocument, error) {
	if sourceID == "" {
		return nil, notFound("document")
	}
	d, err := scanDocument(t.tx.QueryRowContext(ctx, "SELECT "+documentCols+", "+docItemCols+docJoin+" AND d.source_id = ?",
		workspaceID, projectID, sourceID))
	return d, classify(err, "document")
}

// idsChunk bounds the ids bound into one IN list.
const idsChunk = 500

func (t *tx) ProjectDocumentsOf(ctx context.Context, workspaceID, projectID string, itemIDs []string) (map[string]*shelf.ProjectDocument, error) {
	out := map[string]*shelf.ProjectDocument{}
	for chunk := range slices.Chunk(itemIDs, idsChunk) {
		args := []any{workspaceID, projectID}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := t.tx.QueryContext(ctx, `SELECT id, project_id, workspace_id, item_id, source_id, created_at FROM project_documents
			WHERE workspace_id = ? AND project_id = ? AND item_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, classify(err, "documents")
		}
		for rows.Next() {
			var d shelf.ProjectDocument
			var created int64
			if err := rows.Scan(&d.ID, &d.ProjectID, &d.WorkspaceID, &d.ItemID, &d.SourceID, &created); err != nil {
				rows.Close()
				return nil, classify(err, "documents")
			}
			d.CreatedAt = fromNanos(created)
			out[d.ItemID] = &d
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, classify(err, "documents")
		}
	}
	return out, nil
}

// placeholders returns n comma-separated question marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
