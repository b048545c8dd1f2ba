package library

import (
	"context"

	shelf "github.com/shelfmem/shelf"
)

// project returns a project of the caller's workspace.
func (s *Service) project(ctx context.Context, p *shelf.Principal, id string) (*shelf.Project, error) {
	var proj *shelf.Project
	err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		proj, err = tx.Project(ctx, p.WorkspaceID, id)
		return err
	})
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "project %q not found", id)
	}
	return proj, err
}
