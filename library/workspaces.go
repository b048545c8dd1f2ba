package library

import (
	"context"

	shelf "github.com/shelfmem/shelf"
)

// defaultWorkspace returns the id of the default workspace, making it (and
// its default library) on the first start.
func (s *Service) defaultWorkspace(ctx context.Context) (string, error) {
	if id, ok := s.defaultWS.Load().(string); ok {
		return id, nil // it never changes once made
	}
	id, err := s.loadDefaultWorkspace(ctx)
	if err == nil {
		s.defaultWS.Store(id)
	}
	return id, err
}

func (s *Service) loadDefaultWorkspace(ctx context.Context) (string, error) {
	var id string
	err := s.store.View(ctx, func(tx shelf.Tx) error {
		var err error
		id, err = tx.Setting(ctx, settingDefaultWorkspace)
		return err
	})
	if err == nil {
		return id, nil
	}
	if shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return "", err
	}
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		var err error
		if id, err = tx.Setting(ctx, settingDefaultWorkspace); err == nil {
			return nil
		}
		w, err := s.createWorkspaceTx(ctx, tx, "default")
		if err != nil {
			return err
		}
		id = w.ID
		return tx.SetSetting(ctx, settingDefaultWorkspace, id)
	})
	return id, err
}

// createWorkspaceTx makes a workspace with its default library and root.
func (s *Service) createWorkspaceTx(ctx context.Context, tx shelf.Tx, name string) (*shelf.Workspace, error) {
	now := s.now()
	w := &shelf.Workspace{ID: newID(), Name: name, CreatedAt: now}
	if err := tx.CreateWorkspace(ctx, w); err != nil {
		return nil, err
	}
	if _, err := s.createLibraryTx(ctx, tx, w.ID, DefaultLibrarySlug, "My Space", shelf.KindDefault); err != nil {
		return nil, err
	}
	return w, nil
}

// CreateWorkspace makes a workspace. Only the master key may.
func (s *Service) CreateWorkspace(ctx context.Context, name string) (*shelf.Workspace, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Master {
		return nil, shelf.Errorf(shelf.EFORBIDDEN, "only the master key may create workspaces")
	}
	if err := checkLabel("workspace name", name); err != nil {
		return nil, err
	}
	var w *shelf.Workspace
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		w, err = s.createWorkspaceTx(ctx, tx, name)
		return err
	})
	return w, err
}

// Workspace returns a workspace the caller may see: its own, or any for
// the master key.
func (s *Service) Workspace(ctx context.Context, id string) (*shelf.Workspace, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Master && id != p.WorkspaceID {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "workspace not found")
	}
	var w *shelf.Workspace
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		w, err = tx.Workspace(ctx, id)
		return err
	})
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "workspace not found")
	}
	return w, err
}

// keyWorkspace resolves the workspace a key operation names: "" is the
// caller's own; another workspace is visible to the master key only.
func (s *Service) keyWorkspace(ctx context.Context, wsID string) (*shelf.Principal, string, error) {
	p, err := need(ctx, shelf.ScopeAdmin)
	if err != nil {
		return nil, "", err
	}
	if wsID == "" {
		return p, p.WorkspaceID, nil
	}
	if _, err := s.Workspace(ctx, wsID); err != nil {
		return nil, "", err
	}
	return p, wsID, nil
}
