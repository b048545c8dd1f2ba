package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

func testUpdateRollback(t *testing.T, s shelf.Store) {
	ws := &shelf.Workspace{ID: newID(), Name: "kept", CreatedAt: at(0)}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateWorkspace(ctx, ws) })

	// fn's own error: nothing it wrote commits, and the error comes back.
	gone := &shelf.Workspace{ID: newID(), Name: "gone", CreatedAt: at(0)}
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.SetSetting(ctx, "rolled back", "1"); err != nil {
			return err
		}
		if err := tx.CreateWorkspace(ctx, gone); err != nil {
			return err
		}
		return errSentinel
	})
	if !errors.Is(err, errSentinel) {
		t.Fatalf("Update = %v, want fn's error", err)
	}

	// A failed statement: the writes before it do not commit either.
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.SetSetting(ctx, "before conflict", "1"); err != nil {
			return err
		}
		return tx.CreateWorkspace(ctx, &shelf.Workspace{ID: ws.ID, Name: "dup", CreatedAt: at(0)})
	})
	wantCode(t, "Update with a conflict", err, shelf.ECONFLICT)

	for name, fn := range map[string]func(ctx context.Context, tx shelf.Tx) error{
		"Setting(rolled back)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Setting(ctx, "rolled back")
			return err
		},
		"Setting(before conflict)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Setting(ctx, "before conflict")
			return err
		},
		"Workspace(rolled back)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Workspace(ctx, gone.ID)
			return err
		},
	} {
		wantCode(t, name, viewErr(t, s, fn), shelf.ENOTFOUND)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Workspace(ctx, ws.ID)
		if err != nil {
			t.Fatalf("Workspace: %v", err)
		}
		same(t, "Workspace after rollbacks", got, ws)
		return nil
	})
}

func testViewReadOnly(t *testing.T, s shelf.Store) {
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.SetSetting(ctx, "k", "before") })
	for name, fn := range map[string]func(ctx context.Context, tx shelf.Tx) error{
		"SetSetting": func(ctx context.Context, tx shelf.Tx) error { return tx.SetSetting(ctx, "k", "after") },
		"CreateWorkspace": func(ctx context.Context, tx shelf.Tx) error {
			return tx.CreateWorkspace(ctx, &shelf.Workspace{ID: newID(), Name: "w", CreatedAt: at(0)})
		},
	} {
		if err := viewErr(t, s, fn); err == nil {
			t.Errorf("View(%s) succeeded, want an error", name)
		}
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Setting(ctx, "k")
		if err != nil || got != "before" {
			t.Errorf("Setting after writes in View = %q, %v; want %q", got, err, "before")
		}
		ws, err := tx.Workspaces(ctx)
		if err != nil || len(ws) != 0 {
			t.Errorf("Workspaces after writes in View = %d, %v; want none", len(ws), err)
		}
		return nil
	})
	err := viewErr(t, s, func(context.Context, shelf.Tx) error { return errSentinel })
	if !errors.Is(err, errSentinel) {
		t.Errorf("View = %v, want fn's error", err)
	}
}

// testConcurrentUpdates runs writers that each read a counter and write it
// back plus one, which loses updates unless Update serializes them, while
// readers check that every snapshot shows two settings that each Update
// writes together as equal, and that the counter never goes back.
func testConcurrentUpdates(t *testing.T, s shelf.Store) {
	const writers, readers = 32, 4
	ctx := t.Context()
	read := func(ctx context.Context, tx shelf.Tx, name string) (int, error) {
		v, err := tx.Setting(ctx, name)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(v)
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	var readerWG sync.WaitGroup
	for range readers {
		readerWG.Go(func() {
			last := 0
			for {
				err := s.View(ctx, func(tx shelf.Tx) error {
					n, err := read(ctx, tx, "counter")
					if err != nil {
						return err
					}
					m, err := read(ctx, tx, "mirror")
					if err != nil {
						return err
					}
					if n != m {
						t.Errorf("View saw counter %d and mirror %d, which commit together", n, m)
					}
					if n < last || n > writers {
						t.Errorf("View saw counter %d after %d (max %d)", n, last, writers)
					}
					last = n
					return nil
				})
				if err != nil {
					t.Errorf("View: %v", err)
					return
				}
				select {
				case <-done:
					return
				case <-time.After(100 * time.Microsecond):
				}
			}
		})
	}
	for range writers {
		wg.Go(func() {
			err := s.Update(ctx, func(tx shelf.Tx) error {
				n, err := read(ctx, tx, "counter")
				if err != nil {
					return err
				}
				v := strconv.Itoa(n + 1)
				if err := tx.SetSetting(ctx, "counter", v); err != nil {
					return err
				}
				return tx.SetSetting(ctx, "mirror", v)
			})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	close(done)
	readerWG.Wait()

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Setting(ctx, "counter")
		if err != nil || got != strconv.Itoa(writers) {
			t.Errorf("counter = %q, %v; want %d (a lost update otherwise)", got, err, writers)
		}
		return nil
	})
}

func testTimestamps(t *testing.T, s shelf.Store) {
	zone := time.FixedZone("UTC-3", -3*3600)
	times := []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 999999000, zone),
		time.Date(1999, 12, 31, 23, 0, 0, 1000, time.UTC),
		time.Date(2031, 7, 1, 12, 0, 0, 123456789, time.Local), // nanoseconds: kept or rounded
	}
	ws := make([]*shelf.Workspace, len(times))
	for i, tm := range times {
		ws[i] = &shelf.Workspace{ID: newID(), Name: "w", CreatedAt: tm}
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, w := range ws {
			if err := tx.CreateWorkspace(ctx, w); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for i, w := range ws {
			got, err := tx.Workspace(ctx, w.ID)
			if err != nil {
				t.Fatalf("Workspace: %v", err)
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Errorf("time %d: location %v, want UTC", i, got.CreatedAt.Location())
			}
			if d := got.CreatedAt.Sub(times[i]).Abs(); d >= time.Microsecond {
				t.Errorf("time %d: got %v, want %v (off by %v)", i, got.CreatedAt, times[i], d)
			}
		}
		return nil
	})
}
