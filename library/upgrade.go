package library

import (
	"context"

	shelf "github.com/shelfmem/shelf"
)

// settingProjectsUpgraded records that upgradeProjects has run to the end.
const settingProjectsUpgraded = "projects_copies_upgraded"

// upgradeProjects brings projects made before a project owned a library
// (store migration 14) to the current model: each gets its library, and
// each of its documents, which still names a library file, gets its own
// copy of that file's head version. It runs as the core opens the store,
// until it has run to the end once. Each project and each document is
// upgraded in its own transaction that checks again that it is still to
// do, so servers starting together, or a start cut short, do no harm.
func (s *Service) upgradeProjects(ctx context.Context) error {
	var done string
	err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		done, err = tx.Setting(ctx, settingProjectsUpgraded)
		return err
	})
	if err == nil && done != "" {
		return nil
	} else if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return err
	}
	var wss []*shelf.Workspace
	if err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		wss, err = tx.Workspaces(ctx)
		return err
	}); err != nil {
		return err
	}
	n := 0
	for _, w := range wss {
		q := shelf.ProjectQuery{Limit: MaxProjectPage}
		for {
			var page []*shelf.Project
			if err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
				page, _, err = tx.ListProjects(ctx, w.ID, q)
				return err
			}); err != nil {
				return err
			}
			for _, proj := range page {
				m, err := s.upgradeProject(ctx, proj)
				if err != nil {
					return err
				}
				n += m
			}
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.AfterTime, q.AfterID = last.CreatedAt, last.ID
		}
	}
	if n > 0 {
		s.log.Info("projects upgraded: each document now keeps its own copy of its file", "documents", n)
	}
	return s.store.Update(ctx, func(tx shelf.Tx) error { return tx.SetSetting(ctx, settingProjectsUpgraded, "1") })
}

// upgradeProject gives proj its library if it has none, and copies its
// documents that still name a library file; it returns how many.
func (s *Service) upgradeProject(ctx context.Context, proj *shelf.Project) (int, error) {
	var lib *shelf.Library
	err := s.store.Update(ctx, func(tx shelf.Tx) error {
		cur, err := tx.Project(ctx, proj.WorkspaceID, proj.ID)
		if err != nil {
			return err
		}
		if cur.LibraryID != "" {
			lib, err = tx.Library(ctx, cur.WorkspaceID, cur.LibraryID)
			return err
		}
		lib, err = s.createLibraryTx(ctx, tx, cur.WorkspaceID, projectSlugPrefix+cur.ID, cur.ID, shelf.KindProject)
		if err != nil {
			return err
		}
		cur.LibraryID = lib.ID
		return tx.UpdateProject(ctx, cur)
	})
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return 0, nil // deleted meanwhile
	} else if err != nil {
		return 0, err
	}
	n := 0
	q := shelf.DocumentQuery{Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: MaxProjectPage}
	for {
		var page []*shelf.ProjectDocument
		if err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			page, _, err = tx.ProjectDocuments(ctx, proj.WorkspaceID, proj.ID, q)
			return err
		}); err != nil {
			return n, err
		}
		for _, d := range page {
			if d.SourceID != "" {
				continue
			}
			err := s.store.Update(ctx, func(tx shelf.Tx) error {
				cur, err := tx.ProjectDocument(ctx, d.WorkspaceID, d.ProjectID, d.ID)
				if err != nil || cur.SourceID != "" {
					return err
				}
				src := cur.Item
				owner := &shelf.Principal{WorkspaceID: src.WorkspaceID, KeyID: src.Owner, Master: src.Owner == "master"}
				cp, err := s.copyFileTx(ctx, tx, owner, lib, cur.ID, src)
				if err != nil {
					return err
				}
				cur.ItemID, cur.SourceID = cp.ID, src.ID
				return tx.UpdateProjectDocument(ctx, cur)
			})
			if shelf.ErrorCode(err) == shelf.ENOTFOUND {
				continue // removed meanwhile
			} else if err != nil {
				return n, err
			}
			n++
		}
		if len(page) < q.Limit {
			return n, nil
		}
		last := page[len(page)-1]
		q.AfterTime, q.AfterID = last.CreatedAt, last.ID
	}
}
