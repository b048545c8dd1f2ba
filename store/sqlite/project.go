package sqlite

import (
	"context"

	"github.com/shelfmem/shelf"
)

const projectCols = "id, workspace_id, name, description, created_at, updated_at"

func scanProject(s scanner) (*shelf.Project, error) {
	var p shelf.Project
	var created, updated int64
	if err := s.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.Description, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &p, nil
}

func (t *tx) Project(ctx context.Context, workspaceID, id string) (*shelf.Project, error) {
	p, err := scanProject(t.tx.QueryRowContext(ctx, "SELECT "+projectCols+" FROM projects WHERE id = ? AND workspace_id = ?",
		id, workspaceID))
	return p, classify(err, "project")
}
